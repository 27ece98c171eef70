"""``include/mappings/master_data_rules.yaml``: how customers, items and prices are checked and kept in step.

Checked at load time; errors name the file, the line and the setting, like the other rule loaders. Every key is
optional (the defaults below); an unknown key is refused, so a typo never silently falls back to a default.

- ``customer_matching``: the rules that find a MAX account's Shopify customer, tried in this order; any of
  ``custid_metafield``, ``email``, ``phone``, ``company_postal_code`` (``master_data/customers.py``), each once.
- ``metafield_namespace``: where ``custid`` and the account data live on the Shopify customer.
- ``customer_tags``: tags every matched customer gets; ``{price_list}``, ``{terms}``, ``{custid}`` are filled in.
- ``exclude_custids``: MAX accounts never matched or pushed; order_rules.yaml's ``web_account_custid`` and
  ``guest_custid`` are always added (one account for many web buyers is nobody's customer record).
- ``unmatched_max_customers`` / ``web_customers_without_account``: ``report`` or ``create``.
- ``phone_default_country_calling_code``: put in front of national numbers when phones are compared.
- ``credit_hold_tag``: the tag a customer on credit hold in MAX carries.
- ``shop_price_list``, ``price_tolerance``, ``push_prices``, ``exclude_product_lines``, ``pack_size_pattern``: the
  coverage report (``master_data/coverage.py``).
- ``codes_seen_days``: how far back the code-table check reads Shopify orders (``master_data/code_checks.py``).
  Shopify shows 60 days of orders unless the app has ``read_all_orders`` (SHOPIFY.md §4).
- ``route_web_orders_to_matched_account``: record a match in ``id_map`` so the orders flow posts that customer's
  web orders to the matched MAX account (true), or keep matches for the account data only (false).
- ``bulk_reads``: read Shopify customers and variants with a bulk operation (true) or paged queries (false).
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.mappings.loader import MappingFileError, _load_rules
from shopify_max.master_data.coverage import DEFAULT_PACK_SIZE_PATTERN, CoverageSettings
from shopify_max.master_data.customers import MATCH_RULES
from shopify_max.paths import MAPPINGS_DIR

FILE_NAME = "master_data_rules.yaml"
TAG_FIELDS = ("price_list", "terms", "custid")
REPORT_OR_CREATE = ("report", "create")
MAX_TAG_LENGTH = 255  # Shopify's limit per tag


@dataclass(frozen=True)
class MasterDataRules:
    customer_matching: tuple[str, ...] = MATCH_RULES
    metafield_namespace: str = "max"
    customer_tags: tuple[str, ...] = ("b2b", "max:{price_list}")
    exclude_custids: tuple[str, ...] = ("WEB",)  # as configured, plus order_rules.yaml's web and guest accounts
    unmatched_max_customers: str = "report"
    web_customers_without_account: str = "report"
    phone_default_country_calling_code: str = "1"
    credit_hold_tag: str = "credit-hold"
    shop_price_list: str = "RETAIL"
    price_tolerance: Decimal = Decimal("0.00")
    push_prices: bool = False
    exclude_product_lines: tuple[str, ...] = ("SVC",)
    pack_size_pattern: str = DEFAULT_PACK_SIZE_PATTERN
    codes_seen_days: int = 60
    bulk_reads: bool = True
    route_web_orders_to_matched_account: bool = True
    path: Path | None = field(default=None, compare=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # setting -> line in the file

    def coverage_settings(self) -> CoverageSettings:
        return CoverageSettings(shop_price_list=self.shop_price_list, price_tolerance=self.price_tolerance,
                                exclude_product_lines=self.exclude_product_lines,
                                pack_size_pattern=self.pack_size_pattern, push_prices=self.push_prices)

    def tags_for(self, price_list: str | None, terms: str | None, custid: str) -> list[str]:
        """The customer's tags, filled in; a tag whose field is empty for this account (no price list) is left
        out rather than sent as ``max:``."""
        values = {"price_list": (price_list or "").strip(), "terms": (terms or "").strip(), "custid": custid.strip()}
        tags = []
        for template in self.customer_tags:
            fields = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}
            if all(values[name] for name in fields):
                tags.append(template.format(**values))
        return tags


def _fail(path: Path, lines: dict[str, int], key: str, message: str) -> MappingFileError:
    where = f" line {lines[key]}" if key in lines else ""
    return MappingFileError(f"{path}{where}: {key} {message}")


def _tag(path: Path, lines: dict[str, int], key: str, value: Any, templated: bool) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TAG_LENGTH or "," in value:
        raise _fail(path, lines, key, f"must be tags of 1..{MAX_TAG_LENGTH} characters without a comma, got {value!r}")
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError:
        raise _fail(path, lines, key, f"has an unbalanced brace in {value!r}") from None
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if not templated or name not in TAG_FIELDS or spec or conversion:
            allowed = ", ".join(f"{{{f}}}" for f in TAG_FIELDS) if templated else "no {field}"
            raise _fail(path, lines, key, f"may hold {allowed}, got {value!r}")
    return value.strip()


def _string_list(path: Path, lines: dict[str, int], key: str, value: Any, max_length: int | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, lines, key, f"must be a list, got {value!r}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
            raise _fail(path, lines, key, f"must list codes as text, got {item!r}")
        text = str(item).strip()
        if max_length is not None and len(text) > max_length:
            raise _fail(path, lines, key, f"{text!r} is longer than {max_length} characters")
        items.append(text)
    return items


def _choice(path: Path, lines: dict[str, int], key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _fail(path, lines, key, f"must be one of {choices}, got {value!r}")
    return value


def _flag(path: Path, lines: dict[str, int], key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, lines, key, f"must be true or false, got {value!r}")
    return value


def _matching(path: Path, lines: dict[str, int], value: Any) -> tuple[str, ...]:
    names = _string_list(path, lines, "customer_matching", value)
    unknown = [name for name in names if name not in MATCH_RULES]
    if unknown or not names or len(set(names)) != len(names):
        raise _fail(path, lines, "customer_matching", f"must list one or more of {MATCH_RULES}, each once, in the "
                                                      f"order to try them; got {value!r}")
    return tuple(names)


def _tolerance(path: Path, lines: dict[str, int], value: Any) -> Decimal:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        tolerance = Decimal(str(value))  # a YAML float such as 0.05 reads back through its shortest repr
        if not tolerance.is_finite() or tolerance < 0 or tolerance.as_tuple().exponent < -2:
            raise InvalidOperation
    except InvalidOperation:
        raise _fail(path, lines, "price_tolerance", f"must be an amount ≥ 0 in whole cents such as \"0.00\", got "
                                                    f"{value!r}") from None
    return tolerance


def _pack_size_pattern(path: Path, lines: dict[str, int], value: Any) -> str:
    try:
        compiled = re.compile(value) if isinstance(value, str) else None
    except re.error as exc:
        raise _fail(path, lines, "pack_size_pattern", f"is not a regular expression ({exc}): {value!r}") from None
    if compiled is None or compiled.groups < 1:
        raise _fail(path, lines, "pack_size_pattern", f"must be a regular expression whose first group captures the "
                                                      f"pack size (\\d+), got {value!r}")
    return value


def _calling_code(path: Path, lines: dict[str, int], value: Any) -> str:
    text = str(value).strip().removeprefix("+") if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"[1-9]\d{0,2}", text):
        raise _fail(path, lines, "phone_default_country_calling_code", f"must be 1 to 3 digits such as \"1\", got "
                                                                       f"{value!r}")
    return text


def _whole(path: Path, lines: dict[str, int], key: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(path, lines, key, f"must be a whole number {low}..{high}, got {value!r}")
    return value


def load_master_data_rules(directory: Path | None = None) -> MasterDataRules:
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    path = directory / FILE_NAME
    if not path.exists():
        raise MappingFileError(f"{path}: file is missing")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise MappingFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingFileError(f"{path}: expected a mapping of settings")
    lines = {key.value: key.start_mark.line + 1 for key, _ in getattr(node, "value", [])} if node else {}
    defaults = MasterDataRules()
    known = set(MasterDataRules.__dataclass_fields__) - {"path", "lines"}
    unknown = sorted(set(document) - known)
    if unknown:
        first = min((lines.get(key, 0) for key in unknown), default=0)
        raise MappingFileError(f"{path} line {first}: unknown settings {unknown}; known: {sorted(known)}")

    def get(key: str) -> Any:
        value = document.get(key, getattr(defaults, key))
        return list(value) if isinstance(value, tuple) else value

    namespace = get("metafield_namespace")
    if not isinstance(namespace, str) or not 3 <= len(namespace) <= 255:
        raise _fail(path, lines, "metafield_namespace", f"must be 3..255 characters, got {namespace!r}")
    tags = _string_list(path, lines, "customer_tags", get("customer_tags"))
    price_list = get("shop_price_list")
    if not isinstance(price_list, str) or not price_list.strip():
        raise _fail(path, lines, "shop_price_list", f"must name a MAX price list, got {price_list!r}")
    order_rules = _load_rules(directory / "order_rules.yaml")
    excluded = _string_list(path, lines, "exclude_custids", get("exclude_custids"), FIELD_LENGTHS["CUSTID"])
    return MasterDataRules(
        customer_matching=_matching(path, lines, get("customer_matching")),
        metafield_namespace=namespace,
        customer_tags=tuple(_tag(path, lines, "customer_tags", tag, templated=True) for tag in tags),
        exclude_custids=tuple(dict.fromkeys([*excluded, order_rules.web_account_custid, order_rules.guest_custid])),
        unmatched_max_customers=_choice(path, lines, "unmatched_max_customers", get("unmatched_max_customers"),
                                        REPORT_OR_CREATE),
        web_customers_without_account=_choice(path, lines, "web_customers_without_account",
                                              get("web_customers_without_account"), REPORT_OR_CREATE),
        phone_default_country_calling_code=_calling_code(path, lines, get("phone_default_country_calling_code")),
        credit_hold_tag=_tag(path, lines, "credit_hold_tag", get("credit_hold_tag"), templated=False),
        shop_price_list=price_list.strip(),
        price_tolerance=_tolerance(path, lines, get("price_tolerance")),
        push_prices=_flag(path, lines, "push_prices", get("push_prices")),
        exclude_product_lines=tuple(_string_list(path, lines, "exclude_product_lines", get("exclude_product_lines"))),
        pack_size_pattern=_pack_size_pattern(path, lines, get("pack_size_pattern")),
        codes_seen_days=_whole(path, lines, "codes_seen_days", get("codes_seen_days"), 1, 365),
        bulk_reads=_flag(path, lines, "bulk_reads", get("bulk_reads")),
        route_web_orders_to_matched_account=_flag(path, lines, "route_web_orders_to_matched_account",
                                                  get("route_web_orders_to_matched_account")),
        path=path, lines=lines,
    )
