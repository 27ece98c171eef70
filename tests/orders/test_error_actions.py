"""The error_replay DAG's actions on the error queue (shopify_max.error_queue_actions), on SQLite and PostgreSQL:
each action works for every entity, claims before it acts, stores who acted and why, and leaves an audit entry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shopify_max.clock import utcnow
from shopify_max.error_queue_actions import (
    INVENTORY_ANSWER,
    ActionRefused,
    Actor,
    Selection,
    act_on_error_queue,
    order_gid_of,
)
from shopify_max.sync_store import ErrorItem, ErrorStatus, InboxDelivery
from shopify_max.sync_store.states import InboxStatus
from shopify_max.sync_store.tables import error_queue, inbox

ACTOR = Actor(run_id="manual__2026-11-30T10:00:00+00:00", task_id="act_on_error_queue", user="alice")


def _order_item(store, key: str = "#1008", stage: str = "map") -> int:
    return store.record_error(entity="order", record_key=key, stage=stage, reason=f"{key}: SKU 'X' has no MAX part",
                              detail={"order_gid": "gid://shopify/Order/1008"})


def _inventory_item(store, key: str = "SKU-1") -> int:
    return store.record_error(entity="inventory", record_key=key, stage="unmapped_sku",
                              reason=f"SKU {key} has no MAX part in sku_to_part.csv")


def _row(store, item_id: int) -> dict:
    with store.engine.begin() as conn:
        return dict(conn.execute(select(error_queue).where(error_queue.c.id == item_id)).mappings().one())


def _no_order_flow():
    raise AssertionError("the order flow must not be touched")


def _act(store, action, note=None, **params):
    return act_on_error_queue(store, action, Selection.from_params(params), actor=ACTOR, note=note,
                              order_flow=_no_order_flow, shopify=_no_order_flow)


def test_replay_of_inventory_items_never_touches_order_items(sync_store):
    orders = [_order_item(sync_store, f"#10{n:02d}") for n in range(3)]
    stock = _inventory_item(sync_store)

    report = _act(sync_store, "replay", entity="inventory")

    assert [(entry["id"], entry["result"], entry["why"]) for entry in report["items"]] == [
        (stock, "left", INVENTORY_ANSWER)]
    assert report["claimed"] == 0
    for item_id in [*orders, stock]:
        row = _row(sync_store, item_id)
        assert (row["status"], row["attempts"], row["acted_by"]) == ("open", 1, None)
    assert sync_store.audit_entries(entity="order") == []


def test_many_items_left_for_one_reason_are_reported_once_with_their_ids(sync_store):
    """The hourly replay meets every open inventory item: one line with their ids, not one sentence per item."""
    stock = [_inventory_item(sync_store, f"SKU-{n}") for n in range(12)]
    few = [_inventory_item(sync_store, f"SKU-X{n}") for n in range(2)]

    report = _act(sync_store, "replay", entity="inventory", item_ids=[*stock, *few])
    assert report["left_in_bulk"] == [{"why": INVENTORY_ANSWER, "count": 14, "ids": [*stock, *few]}]
    assert report["items"] == [] and report["counts"] == {"left": 14} and report["matched"] == 14

    report = _act(sync_store, "replay", entity="inventory", item_ids=few)
    assert "left_in_bulk" not in report and [entry["id"] for entry in report["items"]] == few


def test_the_glue_passes_entity_on(sync_store, monkeypatch):
    """The bug the UI walkthrough found: {"entity": "inventory"} replayed every open order item."""
    from contextlib import contextmanager

    from shopify_max.airflow_glue import error_queue_tasks, order_tasks

    @contextmanager
    def this_store():
        yield sync_store

    for module in (order_tasks, error_queue_tasks):
        monkeypatch.setattr(module, "open_sync_store", this_store, raising=False)
    monkeypatch.setattr(order_tasks, "reference_codes_from_max", lambda: None)
    monkeypatch.setattr("shopify_max.exactmax.hook.ExactMaxHook", lambda *a, **k: None)
    order = _order_item(sync_store)

    report = order_tasks.replay_errors("manual__1", "act_on_error_queue", {"entity": "inventory", "status": "open"})

    assert json.loads(json.dumps(report)) == report  # JSON-safe for XCom
    row = _row(sync_store, order)
    assert (row["status"], row["attempts"]) == ("open", 1)


@pytest.mark.parametrize("action", ["resolve", "ignore"])
def test_resolve_and_ignore_need_a_note_and_change_nothing_without_one(sync_store, action):
    item = _order_item(sync_store)
    for note in (None, "", "   "):
        with pytest.raises(ActionRefused, match="needs a note"):
            _act(sync_store, action, note=note, item_ids=[item])
    assert _row(sync_store, item)["status"] == "open"


def test_the_task_fails_at_once_on_a_missing_note_or_an_unknown_action(sync_store, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from shopify_max.airflow_glue import error_queue_tasks

    monkeypatch.setattr(error_queue_tasks, "open_sync_store", lambda: pytest.fail("nothing may be opened"))
    with pytest.raises(AirflowFailException, match="ignore needs a note"):
        error_queue_tasks.act_on_error_queue("manual__1", "t", {"action": "ignore", "item_ids": [1]})
    with pytest.raises(AirflowFailException, match="unknown action 'delete'"):
        error_queue_tasks.act_on_error_queue("manual__1", "t", {"action": "delete"})
    with pytest.raises(AirflowFailException, match="not a stage of inventory"):
        error_queue_tasks.act_on_error_queue("manual__1", "t", {"entity": "inventory", "stage": "map"})


@pytest.mark.parametrize(("action", "status"), [("resolve", "resolved"), ("ignore", "ignored")])
def test_a_persons_action_stores_the_note_who_and_when_and_is_on_the_records_audit_trail(sync_store, action, status):
    order, stock = _order_item(sync_store), _inventory_item(sync_store)
    other = _order_item(sync_store, "#1009")

    report = _act(sync_store, action, note="changed MAX order 00100024 by hand", item_ids=[order, stock])

    assert {entry["id"]: entry["result"] for entry in report["items"]} == {order: status, stock: status}
    for item_id, entity, key in ((order, "order", "#1008"), (stock, "inventory", "SKU-1")):
        row = _row(sync_store, item_id)
        assert (row["status"], row["note"]) == (status, "changed MAX order 00100024 by hand")
        assert row["acted_by"] == f"alice (run {ACTOR.run_id})" and row["acted_at"] is not None
        assert row["claimed_by"] is None
        [entry] = sync_store.audit_entries(entity=entity, record_key=key)
        assert (entry["direction"], entry["outcome"], entry["run_id"]) == ("error_queue_action", status, ACTOR.run_id)
        assert json.loads(entry["request"])["item_id"] == item_id
        assert json.loads(entry["request"])["note"] == "changed MAX order 00100024 by hand"
    assert _row(sync_store, other)["status"] == "open"  # not selected


def test_filters_are_anded_with_item_ids(sync_store):
    order, stock = _order_item(sync_store), _inventory_item(sync_store)
    report = _act(sync_store, "ignore", note="n/a", item_ids=[order, stock], entity="inventory")
    assert [entry["id"] for entry in report["items"]] == [stock]
    assert _row(sync_store, order)["status"] == "open"


def test_an_item_a_running_replay_claimed_is_left_to_it_and_a_stale_claim_is_taken(sync_store):
    fresh, stale = _order_item(sync_store, "#1001"), _order_item(sync_store, "#1002")
    sync_store.claim_errors("error_replay/scheduled__1", item_ids=[fresh, stale])
    with sync_store.engine.begin() as conn:
        conn.execute(update(error_queue).where(error_queue.c.id == stale)
                     .values(claimed_at=utcnow() - timedelta(hours=5)))

    report = _act(sync_store, "resolve", note="fixed", status="retrying")

    results = {entry["id"]: (entry["result"], entry["why"]) for entry in report["items"]}
    assert results[stale][0] == "resolved"
    assert results[fresh][0] == "left" and "claimed by error_replay/scheduled__1" in results[fresh][1]
    assert _row(sync_store, fresh)["status"] == "retrying"
    # and a resolve run does not take what it did not claim: open items only by default
    assert _act(sync_store, "resolve", note="fixed")["items"] == []


def test_replay_and_refetch_say_what_they_cannot_do_and_claim_nothing_for_it(sync_store):
    capture = sync_store.record_error(entity="order", record_key="webhook w-1", stage="capture",
                                      reason="webhook w-1 was not processed: not JSON")
    after_export = _order_item(sync_store, "#1003", stage="update_after_export")
    stock = _inventory_item(sync_store)

    replay = {e["id"]: e["why"] for e in _act(sync_store, "replay")["items"]}
    refetch = {e["id"]: e["why"] for e in _act(sync_store, "refetch", item_ids=[after_export, stock])["items"]}

    assert "refetch re-reads the order from Shopify by id" in replay[capture]
    assert "needs a person" in replay[after_export] and "needs a person" in refetch[after_export]
    assert replay[stock] == refetch[stock] == INVENTORY_ANSWER
    for item_id in (capture, after_export, stock):
        assert (_row(sync_store, item_id)["status"], _row(sync_store, item_id)["attempts"]) == ("open", 1)


def test_a_privacy_item_is_read_again_and_handed_back_to_the_inbox_once_readable(sync_store):
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id="w-9", topic="shop/redact", payload="{}"))
    with sync_store.engine.begin() as conn:
        inbox_id = conn.execute(select(inbox.c.id)).scalar_one()
    sync_store.mark_inbox([inbox_id], InboxStatus.FAILED)
    detail = {"inbox_id": inbox_id, "topic": "shop/redact", "webhook_id": "w-9"}
    item = sync_store.record_error(entity="privacy", record_key=f"inbox {inbox_id}", stage="read_request",
                                   reason="shop/redact names no shop", payload="{}", detail=detail)

    [still] = _act(sync_store, "replay", entity="privacy")["items"]
    assert (still["result"], _row(sync_store, item)["status"]) == ("still_failing", "open")
    assert "names no shop" in still["why"]

    with sync_store.engine.begin() as conn:  # a fixed reader would read it now: the payload carries the shop
        conn.execute(update(error_queue).where(error_queue.c.id == item)
                     .values(payload='{"shop_domain": "acme.myshopify.com"}'))
    [handed] = _act(sync_store, "replay", entity="privacy")["items"]
    assert (handed["result"], _row(sync_store, item)["status"]) == ("handed_back", "resolved")
    assert sync_store.inbox_counts() == {"new": 1}


def _item(payload: str | None, record_key: str = "webhook w-1", detail: dict | None = None) -> ErrorItem:
    now = utcnow()
    return ErrorItem(id=1, entity="order", record_key=record_key, stage="capture", reason="", detail=detail or {},
                     payload=payload, attempts=1, status=ErrorStatus.RETRYING, first_seen=now, last_seen=now)


@pytest.mark.parametrize(("item", "gid"), [
    (_item(None, detail={"order_gid": "gid://shopify/Order/5"}), "gid://shopify/Order/5"),
    (_item(None, record_key="gid://shopify/Order/6"), "gid://shopify/Order/6"),
    (_item('{"id": 7, "name": "#1007", "line_items": [{"id": 70, "admin_graphql_api_id": "gid://shopify/LineItem/70"'),
     "gid://shopify/Order/7"),
    (_item('{"id":450789469,"admin_graphql_api_id":"gid://shopify/Order/450789469","line_items":[{"na'),
     "gid://shopify/Order/450789469"),
    (_item('{"name": "#1007", "line_items": [{"id": 70, "quantity": 1}], "cur'), None),
    (_item("\x00\xffnot json"), None),
])
def test_the_order_behind_a_capture_item_is_found_in_what_is_kept(item, gid):
    assert order_gid_of(item) == gid
