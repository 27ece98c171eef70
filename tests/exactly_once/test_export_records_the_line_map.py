"""The line map (``order_line_map``) is recorded by a real export against the gateway process, however the export
settles: written now, recovered by the CUSTPO lookup after a lost answer, found in MAX by CUSTPO, or already in
``id_map``. Each MAX row (LINNUM + DELNUM) names its Shopify line item, or is the freight row of a shipping line."""

from __future__ import annotations

import json
import logging

from conftest import example_order, stage_validated

from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.exactmax.models import SalesOrder
from shopify_max.orders.pipeline import export_staged_orders


def hook() -> ExactMaxHook:
    return ExactMaxHook(backoff_base=0.05, max_retry_wait=0.2)


def staged_order(sync_store, mappings, prefix: str):
    order = example_order()
    run_id = f"{prefix}-{order.legacy_resource_id}"
    staged = stage_validated(sync_store, mappings, order, run_id)
    return order, run_id, SalesOrder.model_validate(json.loads(staged.mapped_json)["sales_order"])


def assert_map_matches(sync_store, gateway, order, sales_order: SalesOrder) -> str:
    [stored] = gateway.orders_for(sales_order.CUSTPO)
    ordnum = stored["ORDNUM_27"]
    rows = sync_store.order_line_map(ordnum)
    assert [(r.linnum, r.delnum, r.part_number, r.max_quantity) for r in rows] == [
        (line["LINNUM_28"], line["DELNUM_28"], line["PRTNUM_28"], int(float(line["ORGQTY_28"])))
        for line in stored["lines"]]
    items = [r for r in rows if r.line_kind == "line_item"]
    assert [r.line_item_gid for r in items] == [item.id for item in order.line_items]
    assert [r.sku for r in items] == [item.sku for item in order.line_items]
    assert {(r.uom_factor, r.order_gid) for r in rows} == {(1, order.id)}
    [freight] = [r for r in rows if r.line_kind == "shipping"]
    assert (freight.part_number, freight.line_item_gid, freight.sku) == ("FREIGHT", None, None)
    return ordnum


def test_an_export_records_one_map_row_per_max_row(sync_store, mappings, gateway):
    order, run_id, sales_order = staged_order(sync_store, mappings, "map")
    assert export_staged_orders(sync_store, hook(), run_id=run_id, task_id="export") == {"exported": 1}
    ordnum = assert_map_matches(sync_store, gateway, order, sales_order)
    assert len(sync_store.order_line_map(ordnum)) == len(order.line_items) + 1
    assert sync_store.order_line(ordnum, "01").line_item_gid == order.line_items[0].id


def test_an_answer_lost_after_commit_is_settled_by_lookup_and_still_gets_its_map(sync_store, mappings, gateway):
    order, run_id, sales_order = staged_order(sync_store, mappings, "drop")
    gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": "/sales-orders"}])
    assert export_staged_orders(sync_store, hook(), run_id=run_id, task_id="export") == {"exported": 1}
    assert "recovered by CUSTPO lookup" in sync_store.staged_orders([order.id])[order.id].run_outcome_reason
    assert_map_matches(sync_store, gateway, order, sales_order)


def test_an_order_an_earlier_attempt_wrote_is_found_by_custpo_and_gets_its_map(sync_store, mappings, gateway):
    order, run_id, sales_order = staged_order(sync_store, mappings, "found")
    hook().create_sales_order(sales_order)  # an earlier attempt wrote it, and died before recording anything
    assert export_staged_orders(sync_store, hook(), run_id=run_id, task_id="export") == {"skipped": 1}
    assert sync_store.staged_orders([order.id])[order.id].run_outcome_code == "found_in_max"
    assert_map_matches(sync_store, gateway, order, sales_order)


def test_an_order_already_in_id_map_gets_its_map_and_a_second_export_changes_nothing(sync_store, mappings, gateway):
    order, run_id, sales_order = staged_order(sync_store, mappings, "known")
    created = hook().create_sales_order(sales_order)
    sync_store.record_id_mapping("order", order.id, created.ORDNUM, run_id="earlier")
    assert export_staged_orders(sync_store, hook(), run_id=run_id, task_id="export") == {"skipped": 1}
    ordnum = assert_map_matches(sync_store, gateway, order, sales_order)
    before = sync_store.order_line_map(ordnum)
    assert sync_store.record_order_line_map(before) == 0
    assert sync_store.order_line_map(ordnum) == before


def test_a_max_order_whose_rows_differ_from_the_mapping_gets_no_map_and_a_warning(sync_store, mappings, gateway,
                                                                                  caplog):
    order, run_id, sales_order = staged_order(sync_store, mappings, "differ")
    hook().create_sales_order(sales_order.model_copy(update={"lines": sales_order.lines[:2]}))  # entered by hand
    with caplog.at_level(logging.WARNING, logger="shopify_max.orders.line_map"):
        assert export_staged_orders(sync_store, hook(), run_id=run_id, task_id="export") == {"skipped": 1}
    [stored] = gateway.orders_for(sales_order.CUSTPO)
    assert sync_store.order_line_map(stored["ORDNUM_27"]) == []
    assert "no line map recorded" in caplog.text and stored["ORDNUM_27"] in caplog.text
