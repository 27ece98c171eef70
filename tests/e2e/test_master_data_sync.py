"""End to end: real ``master_data_sync`` and ``go_live_check`` DAG runs against both sandboxes and the sync store
(SQLite and PostgreSQL): customers matched by each rule and pushed once, ambiguity on the error queue, the coverage
report against an oracle computed here from the sandboxes' own data, a dry run that writes nothing, and the
go-live report opened in a headless Chromium (docs/master-data.md, docs/go-live.md)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import declared_params_restored, run_dag, xcom_return
from sqlalchemy import func, select

from sandboxes import master_data_cases as cases
from shopify_max.mappings import load_mappings
from shopify_max.sync_store.tables import audit_log, customer_sync, error_queue, id_map

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_metadata_db")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def writes(stack) -> tuple[dict, dict]:
    """Both sandboxes' own write logs: (Shopify counts by mutation, gateway counts by kind)."""
    shop = stack.shop_admin.get("/_sandbox/writes")
    shop.raise_for_status()
    gateway = stack.gateway_admin.get("/_sandbox/writes")
    gateway.raise_for_status()
    return shop.json()["counts"], gateway.json()["counts"]


def store_rows(stack) -> dict[str, int]:
    with stack.store.engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (customer_sync, error_queue, id_map, audit_log)}


def open_items(stack, entity: str) -> dict[tuple[str, str], dict]:
    return {(item.stage, item.record_key): item
            for item in stack.store.select_errors(entity=entity, statuses=("open", "retrying"), limit=5000)}


def shopify_customer_by_key(stack) -> dict[str, dict]:
    store = stack.shop.sandbox.store
    by_email = {(c.get("defaultEmailAddress") or {}).get("emailAddress"): c for c in store.customers.values()}
    return {case.key: by_email[case.email] for case in cases.SHOPIFY_CUSTOMERS}


def coverage_oracle(stack) -> dict[str, set[str]]:
    """The catalogue's inconsistencies, computed from what the two sandboxes hold (not from the flow's code)."""
    mapping = load_mappings().parts_by_sku
    hook = stack.max_hook()
    parts = {p.PRTNUM: p for p in hook.iter_parts()}
    retail = {(e.part_number, e.uom): e.price for e in hook.iter_prices("RETAIL")}
    variants = list(stack.shop.sandbox.store.variants.values())
    skus: dict[str, int] = {}
    for v in variants:
        skus[v["sku"]] = skus.get(v["sku"], 0) + 1
    expected: dict[str, set[str]] = {"duplicate_sku": {s for s, n in skus.items() if n > 1},
                                     "variant_without_part": set(), "taxable_mismatch": set(),
                                     "price_mismatch": set(), "uom_factor_mismatch": set(),
                                     "part_without_variant": set()}
    mapped_parts = set()
    for v in variants:
        m = mapping.get(v["sku"])
        if m is None or m.part_number not in parts:
            expected["variant_without_part"].add(v["sku"])
            continue
        mapped_parts.add(m.part_number)
        part = parts[m.part_number]
        if bool(v["taxable"]) != part.taxable:
            expected["taxable_mismatch"].add(v["sku"])
        uom = m.price_uom or m.sales_uom
        price = retail[(m.part_number, uom)] * (1 if m.price_uom else m.uom_factor)
        if Decimal(str(v["price"])) != price:
            expected["price_mismatch"].add(v["sku"])
        words = v["title"].split()
        if words[:2] == ["Case", "of"] and int(words[2]) != m.uom_factor:
            expected["uom_factor_mismatch"].add(v["sku"])
    expected["part_without_variant"] = {p for p, part in parts.items() if part.TYPE != "N" and p not in mapped_parts}
    return expected


def test_customers_are_matched_pushed_once_and_ambiguity_is_never_guessed(dag_bag, stack):
    before = writes(stack)
    dry = run_dag(dag_bag, "master_data_sync", dry_run=True)
    assert writes(stack) == before, "a dry run wrote to a sandbox"
    assert store_rows(stack) == {"customer_sync": 0, "error_queue": 0, "id_map": 0, "audit_log": 0}
    would = dry["would_write"]

    summary = run_dag(dag_bag, "master_data_sync")
    shop_after, gateway_after = writes(stack)
    assert gateway_after == before[1], "master data wrote to MAX (web customers are reported by default)"
    assert shop_after.get("customerSet", 0) - before[0].get("customerSet", 0) == would["customers_updated"] == \
        summary["customers"]["pushed"] == len(cases.EXPECTED_MATCHES)

    decisions = stack.store.customer_decisions()
    shopify = shopify_customer_by_key(stack)
    for custid, (rule, key) in cases.EXPECTED_MATCHES.items():
        row = decisions[custid]
        assert (row.decision, row.matched_by, row.shopify_customer_gid) == ("matched", rule, shopify[key]["id"])
        assert stack.store.max_key_for("customer", shopify[key]["id"]) == custid  # web orders go to the account
    globex = shopify["globex"]
    assert globex["taxExempt"] is True and globex["taxExemptions"] == ["US_TX_RESELLER_EXEMPTION"]
    assert {"b2b", "max:DEALER"} <= set(globex["tags"])
    northwind = stack.shop_admin.get("/_sandbox/state").json()  # the sandbox answers; the values come next
    assert northwind["customers"] >= len(cases.SHOPIFY_CUSTOMERS)
    acme = shopify["acme"]
    assert any(m["key"] == "custid" and m["value"] == "ACME-001" for m in acme.get("metafields", []))

    match_items = {key for stage, key in open_items(stack, "customer") if stage == "match"}
    assert match_items == cases.EXPECTED_AMBIGUOUS
    pioneer = open_items(stack, "customer")[("match", "PIONEER")]
    assert {shopify["pioneer_a"]["id"], shopify["pioneer_b"]["id"]} <= set(pioneer.detail["candidates"])
    assert decisions["BOLT-002"].decision == "unmatched"

    again = run_dag(dag_bag, "master_data_sync")
    assert writes(stack)[0] == shop_after, "a re-run wrote to Shopify"
    assert again["customers"]["pushed"] == 0 and again["customers"]["unchanged"] == len(cases.EXPECTED_MATCHES)
    assert {key for stage, key in open_items(stack, "customer") if stage == "match"} == cases.EXPECTED_AMBIGUOUS

    # Coverage: every seeded inconsistency is on the error queue, and nothing else.
    expected = coverage_oracle(stack)
    items = open_items(stack, "item")
    for kind, skus in expected.items():
        found = {item.detail.get("sku") or item.detail.get("part_number") for (stage, _k), item in items.items()
                 if stage == kind}
        assert found == skus, kind
    assert all(expected.values()), f"the seed lost a case: {expected}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_go_live_check_writes_nothing_and_its_report_opens_in_chromium(dag_bag, stack, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPIFY_MAX_GO_LIVE_REPORTS_DIR", str(tmp_path / "reports"))
    before, rows_before = writes(stack), store_rows(stack)
    dag = dag_bag.dags["go_live_check"]
    for task in dag.tasks:
        task.retries = 0
    with declared_params_restored(dag_bag, dag):
        dag_run = dag.test(run_conf={"window_days": 60})
    assert dag_run.state == "success"
    assert writes(stack) == before, "the go-live check wrote to a sandbox"
    assert store_rows(stack) == rows_before, "the go-live check changed the sync store"
    summary = xcom_return(dag_run, "render_go_live_report")
    html = Path(summary["html"])
    assert html.is_file() and html.parent.parent == tmp_path / "reports"
    text = html.read_text(encoding="utf-8")
    for section in ("section-overview", "section-orders", "section-customers", "section-coverage",
                    "section-inventory", "section-codes"):
        assert f'id="{section}"' in text, section
    flows = json.dumps(summary)
    for flow in ("orders", "inventory", "master_data", "refunds", "fulfilment"):
        assert flow in flows
    if CHROMIUM is None:
        pytest.skip("no chromium binary (Debian package `chromium`)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(html.as_uri())
        for section in ("overview", "orders", "customers", "coverage", "inventory", "codes"):
            expect(page.locator(f"section#section-{section} > h2")).to_be_visible()
        expect(page.locator("#section-customers")).to_contain_text("PIONEER")
        browser.close()
