"""The orders poll's watermark (where the regular polls got to) only moves forward, and a backfill window never
moves it: a run with an older window (an Airflow backfill run, a scheduled run queued behind a later one) must not
make the next poll stretch back over what was read. Real capture step, real sync store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from order_payloads import ListSource

from shopify_max.airflow_glue.order_tasks import poll_window
from shopify_max.orders.pipeline import POLL_WATERMARK, capture_orders

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _poll(store, window: tuple[datetime, datetime], **options) -> None:
    capture_orders(store, ListSource(), run_id=f"run-{window[1].isoformat()}", window=window, **options)


def test_a_run_with_an_older_window_leaves_the_watermark_where_a_later_run_put_it(sync_store):
    _poll(sync_store, (NOON - timedelta(minutes=5), NOON))
    _poll(sync_store, (NOON - timedelta(hours=3, minutes=5), NOON - timedelta(hours=3)))  # a backfill run, later
    watermark = sync_store.get_watermark(POLL_WATERMARK)
    assert poll_window({}, NOON, NOON + timedelta(minutes=5), watermark) == (NOON, NOON + timedelta(minutes=5))


def test_a_backfill_window_from_params_never_moves_the_watermark(sync_store):
    _poll(sync_store, (NOON - timedelta(minutes=5), NOON))
    _poll(sync_store, (NOON - timedelta(days=30), NOON + timedelta(days=365)), advance_watermark=False)
    assert sync_store.get_watermark(POLL_WATERMARK) == "2026-11-30T12:00:00.000000Z"


def test_the_watermark_moves_forward_against_a_value_an_earlier_version_wrote(sync_store):
    sync_store.set_watermark(POLL_WATERMARK, (NOON + timedelta(seconds=1)).isoformat())  # "...12:00:01+00:00"
    sync_store.advance_time_watermark(POLL_WATERMARK, NOON + timedelta(microseconds=900_000))
    assert sync_store.get_watermark(POLL_WATERMARK) == "2026-11-30T12:00:01+00:00"  # 12:00:00.9 is older
    sync_store.advance_time_watermark(POLL_WATERMARK, NOON + timedelta(seconds=1, microseconds=1))
    assert sync_store.get_watermark(POLL_WATERMARK) == "2026-11-30T12:00:01.000001Z"


def test_runs_finishing_together_leave_the_latest_end(sync_store):
    ends = [NOON + timedelta(minutes=minutes) for minutes in (3, 9, 1, 7, 5, 2, 8, 4)]
    threads = [threading.Thread(target=sync_store.advance_time_watermark, args=(POLL_WATERMARK, end))
               for end in ends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sync_store.get_watermark(POLL_WATERMARK) == "2026-11-30T12:09:00.000000Z"
