"""A backfill window that is reversed or empty is refused: the capture task fails at once (no retries), naming
both ends; it never reads 0 orders and succeeds (issue 12, walkthrough: a reversed window succeeded silently)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowFailException

from shopify_max.airflow_glue import order_tasks
from shopify_max.airflow_glue.task_failures import InvalidParamsError, PermanentFailure, permanent_failure


@pytest.fixture
def sync_store_connection(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'store.sqlite'}"}}))


def test_a_reversed_window_fails_the_capture_task_at_once_naming_both_ends(sync_store_connection):
    params = {"window_start": "2026-11-29T16:00:00Z", "window_end": "2026-11-28T00:00:00Z"}

    with pytest.raises(AirflowFailException) as raised:
        order_tasks.capture_orders("run-1", params, None, None, "capture_orders")

    assert type(raised.value.__cause__) is InvalidParamsError
    message = str(raised.value)
    assert message.startswith("configuration error (not retried): InvalidParamsError: the backfill window is reversed")
    assert "2026-11-29T16:00:00+00:00" in message and "2026-11-28T00:00:00+00:00" in message


@pytest.mark.parametrize(("params", "words"), [
    ({"window_start": "2026-11-29T16:00:00Z", "window_end": "2026-11-29T16:00:00+00:00"}, "is empty"),
    ({"window_start": "2999-01-01T00:00:00Z"}, "is reversed"),  # no end: up to now, which is before the start
    ({"window_start": "yesterday", "window_end": "2026-11-29T16:00:00Z"}, "not an ISO 8601 date"),
])
def test_an_empty_reversed_or_unreadable_window_is_a_configuration_error(params, words):
    with pytest.raises(InvalidParamsError, match=words) as raised:
        order_tasks.poll_window(params, None, None, None)
    assert permanent_failure(raised.value) == PermanentFailure.CONFIGURATION
    assert all(repr(value) in str(raised.value) for value in params.values() if value == "yesterday")


def test_a_window_in_order_is_polled_as_given():
    params = {"window_start": "2026-11-28T00:00:00Z", "window_end": "2026-11-29T16:00:00Z"}
    assert order_tasks.poll_window(params, None, None, None) == (
        datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, 16, tzinfo=UTC))
