"""The life cycle of an error-queue item (docs/sync-store.md), one step per test, on SQLite and PostgreSQL:

open → retrying (claimed by one worker) → resolved, ignored, or back to open; reopened when the problem is
recorded again, except an item a person ignored, which stays ignored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_max.sync_store import ErrorStatus, OrderErrorStage
from shopify_max.sync_store.states import ERROR_STAGES, ErrorEntity
from shopify_max.sync_store.tables import error_queue


def _record(store, key: str = "#1001", reason: str = "SKU 'X-1' has no MAX part in include/mappings") -> int:
    return store.record_error(entity=ErrorEntity.ORDER, record_key=key, stage=OrderErrorStage.MAP, reason=reason,
                              payload={"name": key}, detail={"field": "line_items[0].sku", "value": "X-1"})


def _row(store, item_id: int) -> dict:
    with store.engine.begin() as conn:
        return dict(conn.execute(select(error_queue).where(error_queue.c.id == item_id)).mappings().one())


def test_a_new_problem_opens_an_item(sync_store):
    row = _row(sync_store, _record(sync_store))
    assert (row["status"], row["attempts"]) == (ErrorStatus.OPEN, 1)
    assert (row["claimed_by"], row["claimed_at"], row["resolved_at"]) == (None, None, None)


def test_claiming_an_open_item_makes_it_retrying_for_that_worker(sync_store):
    item_id = _record(sync_store)
    [claimed] = sync_store.claim_errors("error_replay/run-1")
    row = _row(sync_store, item_id)
    assert claimed.id == item_id and claimed.status == ErrorStatus.RETRYING
    assert (row["status"], row["claimed_by"]) == (ErrorStatus.RETRYING, "error_replay/run-1")
    assert row["claimed_at"] is not None
    assert sync_store.claim_errors("error_replay/run-2") == []  # claimed once, by one worker


def test_a_claimed_item_whose_record_now_succeeds_is_resolved(sync_store):
    item_id = _record(sync_store)
    sync_store.claim_errors("error_replay/run-1")
    sync_store.resolve_error(item_id)
    row = _row(sync_store, item_id)
    assert row["status"] == ErrorStatus.RESOLVED and row["resolved_at"] is not None
    assert (row["claimed_by"], row["claimed_at"]) == (None, None)
    assert sync_store.claim_errors("error_replay/run-2") == []  # a resolved item is not claimed again


def test_a_claimed_item_that_fails_again_goes_back_to_open_with_one_more_attempt(sync_store):
    item_id = _record(sync_store)
    sync_store.claim_errors("error_replay/run-1")
    sync_store.release_error(item_id, reason="SKU 'X-1' still has no MAX part")
    row = _row(sync_store, item_id)
    assert (row["status"], row["attempts"], row["reason"]) == (ErrorStatus.OPEN, 2, "SKU 'X-1' still has no MAX part")
    assert (row["claimed_by"], row["claimed_at"]) == (None, None)
    assert [item.id for item in sync_store.claim_errors("error_replay/run-2")] == [item_id]


@pytest.mark.parametrize("claimed_first", [False, True], ids=["open", "retrying"])
def test_a_person_ignores_an_item_and_it_is_not_claimed_any_more(sync_store, claimed_first):
    item_id = _record(sync_store)
    if claimed_first:
        sync_store.claim_errors("error_replay/run-1")
    sync_store.ignore_error(item_id)
    row = _row(sync_store, item_id)
    assert (row["status"], row["claimed_by"], row["resolved_at"]) == (ErrorStatus.IGNORED, None, None)
    assert sync_store.claim_errors("error_replay/run-2") == []


def test_a_resolved_item_reopens_when_the_problem_comes_back(sync_store):
    item_id = _record(sync_store)
    sync_store.resolve_error(item_id)
    assert _record(sync_store, reason="SKU 'X-1' has no MAX part again") == item_id
    row = _row(sync_store, item_id)
    assert (row["status"], row["attempts"], row["resolved_at"]) == (ErrorStatus.OPEN, 2, None)
    assert row["reason"] == "SKU 'X-1' has no MAX part again"


def test_a_retrying_item_whose_problem_is_recorded_again_reopens_and_loses_its_claim(sync_store):
    item_id = _record(sync_store)
    sync_store.claim_errors("error_replay/run-1")
    _record(sync_store)
    row = _row(sync_store, item_id)
    assert (row["status"], row["attempts"], row["claimed_by"]) == (ErrorStatus.OPEN, 2, None)


def test_an_ignored_item_stays_ignored_when_the_problem_comes_back_and_is_still_counted(sync_store):
    item_id = _record(sync_store)
    sync_store.ignore_error(item_id)
    _record(sync_store, reason="seen again")
    row = _row(sync_store, item_id)
    assert (row["status"], row["attempts"], row["reason"]) == (ErrorStatus.IGNORED, 2, "seen again")


def test_a_complete_check_resolves_what_it_no_longer_finds_and_reopens_what_comes_back(sync_store):
    def check(*skus: str) -> dict[str, int]:
        ids, _resolved = sync_store.sync_errors(entity="inventory", stage="unmapped_sku",
                                                found={sku: (f"{sku} has no MAX part", {"sku": sku}) for sku in skus})
        return ids

    item_id = check("SKU-1")["SKU-1"]
    check()  # mapped since: the check no longer finds it
    assert _row(sync_store, item_id)["status"] == ErrorStatus.RESOLVED
    assert check("SKU-1") == {"SKU-1": item_id}  # unmapped again: the same item reopens
    row = _row(sync_store, item_id)
    assert (row["status"], row["attempts"], row["resolved_at"]) == (ErrorStatus.OPEN, 2, None)


def test_every_registered_stage_is_accepted_and_an_unknown_one_is_refused(sync_store):
    for entity, stages in ERROR_STAGES.items():
        for stage in stages:
            sync_store.record_error(entity=entity, record_key="k", stage=stage, reason="a reason")
    assert len(sync_store.list_errors()) == sum(len(stages) for stages in ERROR_STAGES.values())
    with pytest.raises(ValueError, match="unknown order error-queue stage 'mapping'"):
        sync_store.record_error(entity="order", record_key="k", stage="mapping", reason="a typo")
    with pytest.raises(ValueError, match="unknown error-queue entity 'orders'"):
        sync_store.record_error(entity="orders", record_key="k", stage="map", reason="a typo")
