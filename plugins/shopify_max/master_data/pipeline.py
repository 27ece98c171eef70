"""The master-data run's three steps, for real or as a dry run (docs/master-data.md).

Each step reads for real (MAX through the gateway, Shopify with bulk operations), decides with the pure modules
(``customers``, ``coverage``, ``code_checks``) and adds its rows to a :class:`~shopify_max.dry_run.DryRunReport`.
A real run then writes what differs and keeps the error queue in step with the findings: an item per finding,
resolved when a run no longer finds it. A dry run writes nothing anywhere and counts what it would write.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopify_max.dry_run import DryRunReport
from shopify_max.master_data import facts
from shopify_max.master_data.code_checks import MaxCodes, SeenShopifyCodes, check_code_tables
from shopify_max.master_data.coverage import CoverageKind, CoverageSettings, build_coverage_report
from shopify_max.master_data.customer_run import CustomerSyncSettings, sync_customers
from shopify_max.master_data.customers import MatchSettings, PushSettings

log = logging.getLogger(__name__)

ITEM_ENTITY = "item"
CODE_ENTITY = "code"
# Findings a real run keeps on the error queue (stage = kind); price_missing and the rest are all problems a
# person fixes in MAX, Shopify or sku_to_part.csv.
ITEM_STAGES = tuple(kind.value for kind in CoverageKind)
CODE_STAGES = ("unknown_max_code", "unmapped_shopify_value")


def customer_settings(rules: Any, order_rules: Any) -> CustomerSyncSettings:
    exclude = {*rules.exclude_custids, order_rules.web_account_custid, order_rules.guest_custid}
    return CustomerSyncSettings(
        match=MatchSettings(rules=tuple(rules.customer_matching), metafield_namespace=rules.metafield_namespace,
                            default_calling_code=str(rules.phone_default_country_calling_code)),
        push=PushSettings(metafield_namespace=rules.metafield_namespace, tag_templates=tuple(rules.customer_tags),
                          credit_hold_tag=rules.credit_hold_tag),
        exclude_custids=frozenset(exclude), unmatched_max_customers=rules.unmatched_max_customers,
        web_customers_without_account=rules.web_customers_without_account,
        route_web_orders_to_matched_account=getattr(rules, "route_web_orders_to_matched_account", True))


def coverage_settings(rules: Any) -> CoverageSettings:
    return CoverageSettings(shop_price_list=rules.shop_price_list, price_tolerance=Decimal(str(rules.price_tolerance)),
                            exclude_product_lines=tuple(rules.exclude_product_lines),
                            pack_size_pattern=rules.pack_size_pattern, push_prices=bool(rules.push_prices))


def customers_step(store: Any, shopify: Any, max_hook: Any, rules: Any, mappings: Any, exemptions: Any, *,
                   run_id: str, dry_run: bool, report: DryRunReport) -> dict[str, Any]:
    from shopify_max.orders.customers import custid_for_shopify_customer, new_customer_account

    accounts = [facts.max_account(record) for record in max_hook.iter_customers()]
    read = shopify.bulk_customers() if rules.bulk_reads else shopify.iter_customers()
    customers = [facts.shopify_customer(record) for record in read]

    def exemptions_for(account):  # noqa: ANN001, ANN202
        return exemptions.exemptions_for(account.tax_codes, account.exempt_states, account.taxable)

    def new_max_account(customer):  # noqa: ANN001, ANN202
        return new_customer_account(customer, customer.default_address, mappings.rules, [])

    def web_custid(gid: str) -> str | None:
        try:
            return custid_for_shopify_customer(gid)
        except ValueError:
            return None

    return sync_customers(store, accounts, customers, settings=customer_settings(rules, mappings.rules),
                          exemptions_for=exemptions_for, shopify=shopify, max_gateway=max_hook,
                          new_max_account=new_max_account, web_custid=web_custid, run_id=run_id, dry_run=dry_run,
                          report=report)


def items_step(store: Any, shopify: Any, max_hook: Any, rules: Any, mappings: Any, *, run_id: str, dry_run: bool,
               report: DryRunReport) -> dict[str, Any]:
    settings = coverage_settings(rules)
    tables = max_hook.code_tables()
    parts = [facts.part_facts(part) for part in max_hook.iter_parts()]
    prices, price_list_known = _shop_prices(max_hook, settings.shop_price_list, report)
    variants = [facts.variant_facts(variant) for variant in shopify.bulk_variants()]
    coverage = build_coverage_report(parts, variants, prices, {code.code: code.factor for code in tables.uom
                                                               if code.factor is not None},
                                     mappings.parts_by_sku, settings)
    if not price_list_known:  # every variant would be "price missing": say it once instead (check_code_tables too)
        coverage.findings = [f for f in coverage.findings
                             if f.kind not in (CoverageKind.PRICE_MISSING, CoverageKind.PRICE_MISMATCH)]
        coverage.price_updates = None
    updated, refused = _push_prices(shopify, coverage.price_updates or {}, dry_run, report)
    findings = [f for f in coverage.findings
                if not (f.kind == CoverageKind.PRICE_MISMATCH and f.variant_id in updated)]
    report.tables["coverage"] = [row for row in coverage.as_rows() if row["variant_id"] not in updated
                                 or row["kind"] != CoverageKind.PRICE_MISMATCH.value]
    report.read.update({"max_parts": coverage.parts_read, "shopify_variants": coverage.variants_read})
    for finding in findings:
        report.fail(finding.sku or finding.part_number or finding.variant_id or "?", "sku" if finding.sku else
                    "part_number", finding.kind.value, finding.detail)
    if not dry_run:
        for stage in ITEM_STAGES:
            found = {_item_key(f): (f.detail + refused.get(f.variant_id or "", ""),
                                    {"sku": f.sku, "part_number": f.part_number, "variant_id": f.variant_id,
                                     "shopify_value": f.shopify_value, "max_value": f.max_value})
                     for f in findings if f.kind.value == stage}
            store.sync_errors(entity=ITEM_ENTITY, stage=stage, found=found)
    counts = coverage.counts_by_kind()
    counts[CoverageKind.PRICE_MISMATCH.value] -= len(updated)
    return {"parts": coverage.parts_read, "variants": coverage.variants_read, "findings": counts,
            "prices_updated": len(updated), "price_push": settings.push_prices, "price_list_known": price_list_known}


def _shop_prices(max_hook: Any, price_list: str, report: DryRunReport) -> tuple[list[Any], bool]:
    """The shop's MAX price list, or (nothing, False) when MAX has no such list: one note, not a failed run."""
    from shopify_max.exactmax.errors import ExactMaxNotFound

    try:
        return [facts.price_entry(entry) for entry in max_hook.iter_prices(price_list)], True
    except ExactMaxNotFound:
        report.notes.append(f"MAX has no price list {price_list!r} (shop_price_list in master_data_rules.yaml): "
                            "prices were not compared; check_code_tables reports the code")
        log.warning("MAX has no price list %r: prices not compared", price_list)
        return [], False


def _push_prices(shopify: Any, updates: dict[str, list[tuple[str, Decimal]]], dry_run: bool,
                 report: DryRunReport) -> tuple[set[str], dict[str, str]]:
    """Set MAX's list prices on the variants that differ, per product. Returns the variants now right, and a
    sentence per variant Shopify refused (added to its error-queue item)."""
    updated: set[str] = set()
    refused: dict[str, str] = {}
    for product_id, prices in updates.items():
        if dry_run:
            report.add_write("variant_prices", len(prices))
            continue
        errors = shopify.update_variant_prices(product_id, prices)
        if errors:
            text = "; ".join(f"{'.'.join(map(str, e[0])) if isinstance(e[0], list | tuple) else e[0]}: {e[1]}"
                             for e in errors)
            refused.update({variant_id: f" (the price push was refused: {text})" for variant_id, _ in prices})
            log.warning("price push for product %s refused: %s", product_id, text)
        else:
            updated.update(variant_id for variant_id, _ in prices)
    return updated, refused


def _item_key(finding: Any) -> str:
    # A duplicate SKU is one item per SKU; a variant's findings are per variant; a part's per part.
    if finding.kind == CoverageKind.DUPLICATE_SKU:
        return record_key(f"sku:{finding.sku}")
    if finding.variant_id:
        return record_key(f"{finding.sku or ''} ({finding.variant_id})")
    return record_key(f"part:{finding.part_number}")


def record_key(text: str, limit: int = 200) -> str:
    """An error-queue record key (the column holds 255): a long SKU or title is cut, and a digest of the whole
    keeps two long values that share a beginning apart."""
    if len(text) <= limit:
        return text
    return f"{text[:limit - 14]}…{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def codes_step(store: Any, shopify: Any, max_hook: Any, rules: Any, mappings: Any, exemptions: Any, *,
               since: datetime, run_id: str, dry_run: bool, report: DryRunReport) -> dict[str, Any]:
    tables = max_hook.code_tables()
    max_codes = MaxCodes(terms={c.code for c in tables.terms}, ship_via={c.code for c in tables.ship_via},
                         tax_codes={c.code for c in tables.tax_codes}, uoms={c.code for c in tables.uom},
                         currencies={c.code for c in tables.currencies},
                         price_lists={c.code for c in getattr(tables, "price_lists", [])})
    seen = seen_shopify_codes(shopify.bulk_order_codes(since), skip_test_orders=mappings.rules.test_orders == "skip")
    findings = check_code_tables(mappings, max_codes, seen, rules, exemptions=exemptions)
    rows = [{"file": f.file, "line": f.line, "value": f.value, "problem": f.problem, "seen_in": f.seen_in or "",
             "detail": getattr(f, "detail", "")} for f in findings]
    report.tables["code_checks"] = rows
    report.read.update({"orders_scanned_for_codes": seen.orders})
    for f in findings:
        if f.problem in CODE_STAGES:
            report.fail(f"{f.file}: {f.value}", f.file, f.problem, getattr(f, "detail", "") or
                        f"{f.value!r} in {f.file}: {f.problem}" + (f" (seen in order {f.seen_in})" if f.seen_in else ""))
    if not dry_run:
        for stage in CODE_STAGES:
            found = {record_key(f"{f.file}: {f.value}"): (getattr(f, "detail", "") or f"{f.value!r} in {f.file}: {f.problem}",
                                             {"file": f.file, "line": f.line, "seen_in": f.seen_in})
                     for f in findings if f.problem == stage}
            store.sync_errors(entity=CODE_ENTITY, stage=stage, found=found)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.problem] = counts.get(f.problem, 0) + 1
    return {"findings": counts, "orders_scanned": seen.orders, "since": since.isoformat()}


def seen_shopify_codes(orders: Iterable[Any], *, skip_test_orders: bool = True) -> SeenShopifyCodes:
    """The tax lines, gateways and shipping titles of ``orders`` (bulk read), each with the first order seen.
    Test orders (the bogus gateway) are left out when the orders flow skips them (``test_orders: skip``)."""
    tax_lines: dict[tuple[str, Decimal | None], str] = {}
    gateways: dict[str, str] = {}
    shipping: dict[str, str] = {}
    count = 0
    for order in orders:
        if skip_test_orders and getattr(order, "test", False):
            continue
        count += 1
        for title, rate in order.tax_lines:
            tax_lines.setdefault((title, rate), order.name)
        for gateway in order.gateways:
            gateways.setdefault(gateway, order.name)
        for title in order.shipping_titles:
            shipping.setdefault(title, order.name)
    return SeenShopifyCodes(tax_lines=tax_lines, gateways=gateways, shipping_titles=shipping, orders=count)
