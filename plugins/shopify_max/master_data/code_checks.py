"""Code tables: every MAX code the mapping files name exists in MAX, and every Shopify value recent orders carry is
mapped, so that an order from 40 days ago is never the first to find an unmapped code.

Pure Python: the caller reads MAX's code tables from the gateway (:class:`MaxCodes`) and the Shopify values of the
last ``codes_seen_days`` days of orders (:class:`SeenShopifyCodes`, e.g. through :func:`seen_codes_from_orders`).

MAX codes checked (:func:`load_code_table_mappings` loads each file with its own loader first, so a malformed file
fails there, with its line):

| file | column or setting | MAX table |
| --- | --- | --- |
| tax_codes.csv | max_tax_code | tax codes (``Tax_Master``) |
| shipping_methods.csv, carriers.csv | max_ship_via | ship-via (``Code_Master``) |
| payment_gateways.csv | max_terms | terms (``Code_Master``) |
| sku_to_part.csv | sales_uom, price_uom | UOM (``Code_Master``) |
| order_rules.yaml | default_terms, unmapped_shipping_ship_via | terms, ship-via |
| fulfilment_rules.yaml | terms_due_days keys | terms |
| tax_exemptions.csv | max_tax_code (when not empty) | tax codes |
| master_data_rules.yaml | shop_price_list | price lists |

Codes compare trimmed and exactly, as the order will send them. A value on many lines of one file is one finding
(the first line; the detail counts them). The freight part and the stockroom are not codes and are not checked.

Shopify values are resolved exactly as the order mapping resolves them: a tax line by
:meth:`Mappings.tax_code_for` itself (an exact rate wins over ``*``), a gateway and a shipping title by the same
keys the mapper uses (``orders/mapper.py``). A value only a default rule covers (``default_terms``,
``unmapped_shipping_ship_via``) is a warning, ``covered_by_default``; a value nothing covers is
``unmapped_shopify_value``; each names the first order seen with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import yaml

from shopify_max.fulfilment.rules import load_fulfilment_rules
from shopify_max.mappings.loader import Mappings, _read_csv, load_mappings
from shopify_max.master_data.rules import MasterDataRules
from shopify_max.master_data.tax_exemptions import FILE_NAME as TAX_EXEMPTIONS_FILE
from shopify_max.master_data.tax_exemptions import TaxExemptionRules, load_tax_exemptions
from shopify_max.paths import MAPPINGS_DIR
from shopify_max.shopify.models import Order


class CodeProblem(StrEnum):
    UNKNOWN_MAX_CODE = "unknown_max_code"
    UNMAPPED_SHOPIFY_VALUE = "unmapped_shopify_value"
    COVERED_BY_DEFAULT = "covered_by_default"  # a warning: orders go through, on a default a person did not choose


class CodeTable(StrEnum):
    """The MAX code table a mapping value must exist in (a field of :class:`MaxCodes`)."""

    TERMS = "terms"
    SHIP_VIA = "ship_via"
    TAX_CODES = "tax_codes"
    UOMS = "uoms"
    CURRENCIES = "currencies"
    PRICE_LISTS = "price_lists"


@dataclass(frozen=True)
class MaxCodes:
    """MAX's code tables as the gateway serves them, trimmed."""

    terms: frozenset[str] = frozenset()
    ship_via: frozenset[str] = frozenset()
    tax_codes: frozenset[str] = frozenset()
    uoms: frozenset[str] = frozenset()
    currencies: frozenset[str] = frozenset()  # no mapping file names a currency today; kept for the customer flow
    price_lists: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SeenShopifyCodes:
    """Shopify values seen on recent orders, each with the name of the first order that carried it."""

    tax_lines: dict[tuple[str, Decimal | None], str] = field(default_factory=dict)  # (title, rate)
    gateways: dict[str, str] = field(default_factory=dict)
    shipping_titles: dict[str, str] = field(default_factory=dict)
    orders: int = 0  # how many orders were read (for the run summary)


@dataclass(frozen=True)
class CodeReference:
    """One MAX code a mapping file names, and where."""

    file: str
    line: int | None
    setting: str  # the column or YAML key
    table: CodeTable
    value: str


@dataclass(frozen=True)
class CodeTableMappings:
    order_mappings: Mappings  # the lookups the order mapping uses for Shopify values
    references: tuple[CodeReference, ...]


@dataclass(frozen=True)
class CodeCheckFinding:
    file: str
    line: int | None
    value: str
    problem: CodeProblem
    seen_in: str | None  # the first order name seen with a Shopify value; None for a file's MAX code
    detail: str = ""

    @property
    def level(self) -> str:
        return "warning" if self.problem == CodeProblem.COVERED_BY_DEFAULT else "error"


def _yaml_key_lines(path: Path) -> dict[str, int]:
    """Line of each top-level key, and of each key one level down as ``parent.key``."""
    node = yaml.compose(path.read_text(encoding="utf-8"))
    lines: dict[str, int] = {}
    for key, value in getattr(node, "value", []) if node else []:
        lines[key.value] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for child, _ in value.value:
                lines[f"{key.value}.{child.value}"] = child.start_mark.line + 1
    return lines


def _csv_references(directory: Path, file: str, columns: dict[str, CodeTable], required: tuple[str, ...],
                    upper: bool = False) -> list[CodeReference]:
    references = []
    for line, row in _read_csv(directory / file, required):
        for column, table in columns.items():
            value = (row.get(column) or "").strip()
            if value:
                references.append(CodeReference(file, line, column, table, value.upper() if upper else value))
    return references


def load_code_table_mappings(directory: Path | None = None, *, order_mappings: Mappings | None = None,
                             exemptions: TaxExemptionRules | None = None) -> CodeTableMappings:
    """Every mapping file, loaded and checked by its own loader, and the MAX codes it names, with their lines.
    ``order_mappings`` / ``exemptions`` already loaded by the caller are used as they are."""
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    mappings = order_mappings or load_mappings(directory)
    fulfilment = load_fulfilment_rules(directory)  # carriers.csv and fulfilment_rules.yaml
    exemptions = exemptions or load_tax_exemptions(directory / TAX_EXEMPTIONS_FILE)
    references = [
        *_csv_references(directory, "tax_codes.csv", {"max_tax_code": CodeTable.TAX_CODES},
                         ("tax_title", "rate", "max_tax_code")),
        *_csv_references(directory, "shipping_methods.csv", {"max_ship_via": CodeTable.SHIP_VIA},
                         ("shipping_title", "max_ship_via")),
        *_csv_references(directory, "carriers.csv", {"max_ship_via": CodeTable.SHIP_VIA},
                         ("max_ship_via", "shopify_carrier", "tracking_url_template")),
        *_csv_references(directory, "payment_gateways.csv", {"max_terms": CodeTable.TERMS}, ("gateway", "max_terms")),
        # The loader upper-cases both UOMs: that is what an order line sends.
        *_csv_references(directory, "sku_to_part.csv", {"sales_uom": CodeTable.UOMS, "price_uom": CodeTable.UOMS},
                         ("sku", "part_number", "sales_uom", "uom_factor"), upper=True),
        *(CodeReference(TAX_EXEMPTIONS_FILE, line, "max_tax_code", CodeTable.TAX_CODES, code)
          for line, code in exemptions.tax_codes),
    ]
    order_lines = _yaml_key_lines(directory / "order_rules.yaml")
    for setting, table, value in (("default_terms", CodeTable.TERMS, mappings.rules.default_terms),
                                  ("unmapped_shipping_ship_via", CodeTable.SHIP_VIA,
                                   mappings.rules.unmapped_shipping_ship_via)):
        if value:
            references.append(CodeReference("order_rules.yaml", order_lines.get(setting), setting, table, str(value)))
    fulfilment_lines = _yaml_key_lines(directory / "fulfilment_rules.yaml")
    references += [CodeReference("fulfilment_rules.yaml", fulfilment_lines.get(f"terms_due_days.{code}"),
                                 "terms_due_days", CodeTable.TERMS, code) for code in fulfilment.terms_due_days]
    return CodeTableMappings(mappings, tuple(references))


def seen_codes_from_orders(orders: Iterable[Order], *, skip_test_orders: bool = True) -> SeenShopifyCodes:
    """The tax lines (of line items and shipping lines, which is where the order mapping reads them), gateways
    and shipping titles of ``orders``; each keeps the name of the first order given that carried it. Test orders
    are left out when the order rules skip them (``test_orders: skip``)."""
    tax_lines: dict[tuple[str, Decimal | None], str] = {}
    gateways: dict[str, str] = {}
    shipping_titles: dict[str, str] = {}
    count = 0
    for order in orders:
        if order.test and skip_test_orders:
            continue
        count += 1
        for line in [*order.line_items, *order.shipping_lines]:
            for tax_line in line.tax_lines:
                tax_lines.setdefault((tax_line.title, tax_line.rate), order.name)
        for gateway in order.payment_gateway_names:
            gateways.setdefault(gateway, order.name)
        for shipping_line in order.shipping_lines:
            shipping_titles.setdefault(shipping_line.title, order.name)
    return SeenShopifyCodes(tax_lines, gateways, shipping_titles, orders=count)


def _check_references(references: Iterable[CodeReference], max_codes: MaxCodes) -> list[CodeCheckFinding]:
    grouped: dict[tuple[str, str, str], list[CodeReference]] = {}
    for reference in references:
        if reference.value not in getattr(max_codes, reference.table.value):
            grouped.setdefault((reference.file, reference.setting, reference.value), []).append(reference)
    findings = []
    for (file, setting, value), group in grouped.items():
        first = group[0]
        where = f"{len(group)} lines, first line {first.line}" if len(group) > 1 else f"line {first.line}"
        findings.append(CodeCheckFinding(
            file, first.line, value, CodeProblem.UNKNOWN_MAX_CODE, None,
            f"{file} ({where}) names {setting} {value!r}, which is not in MAX's {first.table.value.replace('_', ' ')}"
            " table"))
    return findings


def _check_seen(mappings: Mappings, seen: SeenShopifyCodes, days: int) -> list[CodeCheckFinding]:
    findings = []
    recent = f"in the last {days} days"
    for (title, rate), order in seen.tax_lines.items():
        if mappings.tax_code_for(title, rate) is None:
            at_rate = f"at rate {rate}" if rate is not None else "with no rate"
            findings.append(CodeCheckFinding(
                "tax_codes.csv", None, f"{title} @ {rate if rate is not None else '-'}",
                CodeProblem.UNMAPPED_SHOPIFY_VALUE, order,
                f"Shopify tax line {title!r} {at_rate} ({order}, {recent}) has no MAX tax code in tax_codes.csv"))
    findings += _unmapped_seen(
        seen.gateways, lambda gateway: mappings.terms_by_gateway.get(gateway.casefold()), "payment_gateways.csv",
        "payment gateway", "MAX terms", "default_terms", mappings.rules.default_terms, recent)
    findings += _unmapped_seen(
        seen.shipping_titles, lambda title: mappings.shipping_by_title.get(title.strip().casefold()),
        "shipping_methods.csv", "shipping title", "MAX ship-via", "unmapped_shipping_ship_via",
        mappings.rules.unmapped_shipping_ship_via, recent)
    return findings


def check_code_tables(mappings: CodeTableMappings | Mappings, max_codes: MaxCodes, seen: SeenShopifyCodes,
                      settings: MasterDataRules, *, exemptions: TaxExemptionRules | None = None
                      ) -> list[CodeCheckFinding]:
    """Findings, MAX codes of the files first (file order), then the Shopify values.

    ``mappings`` is :func:`load_code_table_mappings`' result, or the order flow's :class:`Mappings`: then the other
    files are read from its directory (``exemptions``, when given, stand for tax_exemptions.csv)."""
    if isinstance(mappings, Mappings):
        mappings = load_code_table_mappings(mappings.directory, order_mappings=mappings, exemptions=exemptions)
    references = list(mappings.references)
    references.append(CodeReference("master_data_rules.yaml", settings.lines.get("shop_price_list"),
                                    "shop_price_list", CodeTable.PRICE_LISTS, settings.shop_price_list))
    return [*_check_references(references, max_codes),
            *_check_seen(mappings.order_mappings, seen, settings.codes_seen_days)]


def _unmapped_seen(seen: dict[str, str], mapped: Callable[[str], object], file: str, what: str, max_what: str,
                   default_setting: str, default: str | None, recent: str) -> list[CodeCheckFinding]:
    """A Shopify value seen lately (value -> first order) that ``file`` does not map: covered by the order rules'
    default when one is set, else an unmapped value whose orders would go to the error queue."""
    findings = []
    for value, order in seen.items():
        if mapped(value):  # a code (never blank: the loaders refuse empty codes)
            continue
        if default:
            findings.append(CodeCheckFinding(
                file, None, value, CodeProblem.COVERED_BY_DEFAULT, order,
                f"{what} {value!r} ({order}, {recent}) is not in {file}; orders get order_rules.yaml "
                f"{default_setting} {default!r}"))
        else:
            findings.append(CodeCheckFinding(
                file, None, value, CodeProblem.UNMAPPED_SHOPIFY_VALUE, order,
                f"{what} {value!r} ({order}, {recent}) has no {max_what} in {file} and {default_setting} is not "
                "set: its orders go to the error queue"))
    return findings
