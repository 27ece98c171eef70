"""The go-live report as a person reads it: one section per flow or subject, figures as tables and charts,
every value escaped, big tables capped in HTML but never in CSV, CSV safe to open in a spreadsheet, and a
small summary with a verdict for XCom."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from shopify_max.dry_run import DryRunReport
from shopify_max.go_live.markup import HTML_ROW_CAP
from shopify_max.go_live.report import render_go_live_report
from tests.go_live.dry_run_reports import (
    FORMULA_NAME,
    GENERATED_AT,
    HOSTILE_NAME,
    INVENTORY_ROWS,
    RUN_ID,
    SCRIPT_NAME,
    SECTIONS,
    WINDOW,
    all_reports,
    render,
)
from tests.go_live.outline import Outline


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def outline_of(files) -> Outline:
    return Outline(files.html.read_text(encoding="utf-8"))


def test_every_section_has_its_stable_id_and_heading_in_reading_order(rendered):
    page = outline_of(rendered)
    assert {key: section.heading for key, section in page.sections.items()} == SECTIONS
    assert list(page.sections) == list(SECTIONS)
    assert [href for href in page.hrefs if href.startswith("#section-")][:len(SECTIONS)] == [f"#{k}" for k in SECTIONS]


def test_the_overview_shows_the_verdict_and_would_write_and_would_fail_by_flow(rendered):
    page = outline_of(rendered)
    overview = page.sections["section-overview"]
    assert "Verdict: 11 problems to resolve, 11 findings to review" in overview.text
    flows = {row["flow"]: row for row in page.table("section-overview", "flow").records()}
    assert list(flows) == ["orders", "refunds", "fulfilment", "inventory", "master_data"]
    assert flows["orders"] == {"flow": "orders", "read": "30", "would write": "23", "would fail": "7", "status": "ok"}
    assert flows["inventory"]["would write"] == str(INVENTORY_ROWS)
    reasons = dict(row for row in page.table("section-overview", "flow: reason").rows[1:])
    assert reasons["orders: unmapped_gateway"] == "5" and reasons["master_data: ambiguous_match"] == "1"
    assert reasons["total"] == "11"
    findings = dict(row for row in page.table("section-overview", "finding").rows[1:])
    assert findings == {"ambiguous or conflicting customer matches": "2", "catalogue coverage differences": "4",
                        "code-table problems": "2", "unmapped SKUs and locations (inventory)": "3"}
    assert [label for label, _fill, _w in overview.charts["chart-failures-overview"]][0] == "orders: unmapped_gateway"


def test_names_with_markup_are_shown_as_written_and_never_become_markup(rendered):
    html = rendered.html.read_text(encoding="utf-8")
    assert "Smith &amp; &lt;Sons&gt;" in html and "<Sons>" not in html
    assert "<script" not in html.lower()  # SCRIPT_NAME is text, and the report has no script of its own
    customers = outline_of(rendered).sections["section-customers"]
    assert HOSTILE_NAME in customers.text and SCRIPT_NAME in customers.text


def test_the_report_needs_no_script_and_no_network(rendered):
    page = outline_of(rendered)
    html = rendered.html.read_text(encoding="utf-8")
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed", "form"}
    assert " src=" not in html and "url(" not in html and "@import" not in html
    for href in page.hrefs:  # in-page anchors, or a CSV beside the report
        assert href.startswith("#") or (rendered.html.parent / href).is_file(), href


def test_failures_are_grouped_by_reason_with_examples_in_their_flow_section(rendered):
    orders = outline_of(rendered).sections["section-orders"]
    assert "Would fail: 7 records, by reason" in orders.subheadings
    examples = outline_of(rendered).table("section-orders", "reason").records()
    assert examples == [{"reason": "unmapped_gateway", "count": "5"}, {"reason": "address_too_long", "count": "1"},
                        {"reason": "unmapped_sku", "count": "1"}, {"reason": "total", "count": "7"}]
    assert "SKU 'SKU-UNKNOWN-404' (Discontinued part) has no MAX part" in orders.text
    assert [label for label, _f, _w in orders.charts["chart-failures-orders"]] == [
        "unmapped_gateway", "address_too_long", "unmapped_sku"]
    outcomes = dict(row for row in outline_of(rendered).table("section-orders", "outcome").rows[1:])
    assert outcomes == {"would_export": "20", "would_fail": "7", "already_exported": "2", "skipped": "1",
                        "total": "30"}


def test_the_largest_inventory_swings_are_charted_both_ways(rendered):
    inventory = outline_of(rendered).sections["section-inventory"]
    bars = inventory.charts["chart-inventory-swings"]
    assert len(bars) == 15
    assert bars[0][0] == "SKU-00000 @ Main Warehouse" and bars[1][0] == "-SKU-DASH @ Main Warehouse"
    assert bars[0][1] != bars[1][1]  # a rise and a fall in different colours
    assert bars[0][2] > bars[-1][2] > 0  # the largest swing has the longest bar
    assert "250 inventory levels would change" in inventory.text


def test_customers_coverage_codes_and_text_rules_have_their_figures(rendered):
    page = outline_of(rendered)
    customers = page.table("section-customers", "custid").records()
    assert [row["decision"] for row in customers] == ["ambiguous", "conflict", "unmatched", "would_create", "matched"]
    assert customers[0]["candidates"] == '["gid://shopify/Customer/7002", "gid://shopify/Customer/7003"]'
    assert "chart-customer-decisions" in page.sections["section-customers"].charts
    assert [row["kind"] for row in page.table("section-coverage", "kind").records()][0] == "duplicate_sku"
    assert "chart-coverage-kinds" in page.sections["section-coverage"].charts
    codes = page.sections["section-codes"]
    assert "Pop-up Stand" in codes.text and "terms code PP not in MAX" in codes.text
    assert "1 duplicate SKU in the catalogue" in codes.text
    rules = page.sections["section-text-rules"]
    assert dict(page.table("section-text-rules", "rule").rows[1:]) == {
        "transliterate_ascii": "2", "truncate_30": "2", "total": "4"}
    examples = page.table("section-text-rules", "order").records()
    assert {"order": "#1003", "field": "ship_to.name", "rule": "transliterate_ascii", "before": "Zoë Ångström",
            "after": "Zoe Angstrom"} in examples
    assert "chart-text-rules" in rules.charts


def test_big_tables_are_capped_in_html_and_complete_in_csv(rendered):
    page = outline_of(rendered)
    changes = page.table("section-inventory", "sku")
    assert len(changes.rows) - 1 == HTML_ROW_CAP
    inventory = page.sections["section-inventory"]
    assert f"First {HTML_ROW_CAP} of {INVENTORY_ROWS} rows shown; 50 more in inventory__inventory_changes.csv" in (
        inventory.text)
    assert len(read_csv(rendered.csv["inventory__inventory_changes"])) == INVENTORY_ROWS


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(rendered):
    new_customers = read_csv(rendered.csv["orders__new_customers"])
    assert new_customers[2]["name"] == "'" + FORMULA_NAME
    web = read_csv(rendered.csv["master_data__web_customers_without_account"])
    assert web[0]["phone"] == "'+44 20 7946 0000" and web[0]["orders"] == "3"
    assert new_customers[0]["name"] == HOSTILE_NAME  # plain text stays as it is
    changes = read_csv(rendered.csv["inventory__inventory_changes"])
    assert changes[1]["sku"] == "'-SKU-DASH" and changes[1]["delta"] == "-249"  # a number is not a formula
    assert read_csv(rendered.csv["inventory__unmapped"])[2]["value"] == "'@SUM(1+1)"
    names = {row["custid"]: row["name"] for row in read_csv(rendered.csv["master_data__customers"])}
    assert names["C000125"] == "Zoë Ångström"  # UTF-8 with a BOM: a spreadsheet shows it as written


def test_every_table_has_its_csv_and_failures_csv_holds_every_failure_with_its_flow(rendered):
    names = {path.name for path in rendered.csv.values()}
    assert names == {"orders__orders.csv", "orders__rules_applied.csv", "orders__new_customers.csv",
                     "refunds__refunds.csv", "fulfilment__fulfilments.csv", "fulfilment__late_shipments.csv",
                     "inventory__inventory_changes.csv", "inventory__unmapped.csv", "master_data__customers.csv",
                     "master_data__web_customers_without_account.csv", "master_data__coverage.csv",
                     "master_data__code_checks.csv", "failures.csv"}
    failures = read_csv(rendered.csv["failures"])
    assert len(failures) == 11 and list(failures[0]) == ["flow", "record", "field", "reason", "message"]
    assert {row["flow"] for row in failures} == {"orders", "refunds", "inventory", "master_data"}
    assert failures[-1]["message"] == f"{HOSTILE_NAME} matches 2 Shopify customers by company name"


def test_the_summary_is_small_json_safe_and_free_of_records(rendered):
    summary = rendered.summary
    text = json.dumps(summary)
    assert len(text) < 4000 and "Smith" not in text and "SKU-UNKNOWN-404" not in text
    assert json.loads((rendered.html.parent / "summary.json").read_text()) == summary
    assert summary["verdict"] == "11 problems to resolve, 11 findings to review" and summary["ready"] is False
    assert summary["run_id"] == RUN_ID and summary["generated_at"] == "2026-11-29T16:41:07+00:00"
    assert summary["window"] == ["2026-09-30T16:40:00+00:00", "2026-11-29T16:40:00+00:00"]
    assert summary["flows"]["orders"] == {"read": {"orders": 30}, "would_write": {"sales_orders": 20, "customers": 3},
                                          "would_fail": 7, "would_fail_by_reason": {
                                              "unmapped_gateway": 5, "address_too_long": 1, "unmapped_sku": 1}}
    assert summary["html"] == str(rendered.html)


def test_a_check_with_nothing_to_fix_is_ready(tmp_path):
    reports = [DryRunReport(flow=flow, read={"records": 3}, would_write={"records": 3},
                            tables={"customers": [{"custid": "C1", "decision": "matched"}]} if flow == "master_data"
                            else {}) for flow in ("orders", "refunds", "fulfilment", "inventory", "master_data")]
    files = render(reports, tmp_path)
    assert files.summary["verdict"] == "ready" and files.summary["ready"] is True
    assert 'class="verdict ready"' in files.html.read_text(encoding="utf-8")


def test_a_flow_without_a_report_makes_the_check_incomplete_and_its_section_says_so(tmp_path):
    files = render([report for report in all_reports() if report.flow != "refunds"], tmp_path)
    assert files.summary["verdict"].endswith("no report from refunds")
    assert files.summary["missing_flows"] == ["refunds"]
    page = outline_of(files)
    assert "No report from the refunds flow" in page.sections["section-refunds"].text
    assert {row["flow"]: row["status"] for row in page.table("section-overview", "flow").records()}["refunds"] == (
        "no report")


def test_reports_without_tables_still_render_every_section(tmp_path):
    files = render([DryRunReport(flow=flow) for flow in ("orders", "inventory", "master_data")], tmp_path)
    page = outline_of(files)
    assert set(page.sections) == set(SECTIONS)
    assert "No flow reported a truncated or transliterated field." in page.sections["section-text-rules"].text
    assert set(files.csv) == {"failures"}


def test_unknown_tables_and_flows_are_shown_generically(tmp_path):
    price_sync = DryRunReport(flow="price_sync", read={"prices": 2}, tables={"changes": [
        {"sku": "SKU-00001", "before": "1.00", "after": "1.10"}, {"sku": "SKU-00002", "note": HOSTILE_NAME}]})
    files = render([*all_reports(), price_sync], tmp_path)
    page = outline_of(files)
    assert "fulfilment: late_shipments (1)" in page.sections["section-fulfilment"].subheadings
    generic = page.sections["section-flow-price_sync"]
    assert generic.heading == "Flow: price_sync"
    assert page.table("section-flow-price_sync", "sku").rows == [
        ["sku", "before", "after", "note"], ["SKU-00001", "1.00", "1.10", ""], ["SKU-00002", "", "", HOSTILE_NAME]]
    assert (tmp_path / "price_sync__changes.csv").is_file()


def test_a_reversed_window_or_two_reports_of_one_flow_are_refused(tmp_path):
    with pytest.raises(ValueError, match="empty or reversed"):
        render_go_live_report(all_reports(), tmp_path, run_id=RUN_ID, generated_at=GENERATED_AT,
                              window=(WINDOW[1], WINDOW[1] - timedelta(days=60)))
    with pytest.raises(ValueError, match="one report per flow"):
        render([DryRunReport(flow="orders"), DryRunReport(flow="orders")], tmp_path)
