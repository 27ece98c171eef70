"""Nothing is stranded: a poisoned delivery fails alone, and deliveries claimed by a worker that died return to
the inbox once their claim is older than the configured time (a delivery that keeps killing its workers is
failed, with a reason, instead of looping forever)."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import EXAMPLE_ORDER

from shopify_max.orders.pipeline import MAX_INBOX_CLAIMS, capture_orders
from shopify_max.sync_store import InboxDelivery

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _body(name: str, **changes) -> str:
    payload = copy.deepcopy(EXAMPLE_ORDER)
    number = uuid.uuid4().int % 10**9
    payload.update({"admin_graphql_api_id": f"gid://shopify/Order/{number}", "id": number, "name": name,
                    "test": False, "cancelled_at": None, **changes})
    return json.dumps(payload)


def _deliver(store, body: str, topic: str = "orders/create") -> None:
    assert store.add_inbox_delivery(InboxDelivery(webhook_id=f"wh-{uuid.uuid4().hex}", topic=topic, payload=body))


def test_a_lone_surrogate_in_one_delivery_fails_nothing_else_and_strands_nothing(sync_store):
    """A signed body carrying "\\ud800" parses as JSON and then cannot be encoded: before, it crashed the capture
    task and left every claimed delivery in ``processing`` for ever."""
    _deliver(sync_store, _body("#good-1"))
    poison = _body("#poison").replace('"note": null', '"note": "\\ud800 broken"')
    assert "\\ud800" in poison
    _deliver(sync_store, poison)
    _deliver(sync_store, _body("#good-2"))

    report = capture_orders(sync_store, None, run_id="run", window=None)

    assert sync_store.inbox_counts().get("processing", 0) == 0
    assert report.orders_read + report.bad_payloads == 3
    names = {row.order_name for row in sync_store.orders_in_stage(run_id="run", statuses=["captured"])}
    assert {"#good-1", "#good-2"} <= names
    for item in sync_store.list_errors(stage="capture"):
        assert "webhook" in item.reason and "Error:" not in item.reason.split(":")[0]


@pytest.mark.slow  # an OS process to kill, and a claim timeout to wait out
def test_deliveries_claimed_by_a_killed_capture_return_to_the_inbox_after_the_claim_timeout(sync_store,
                                                                                            database_url):
    for number in range(3):
        _deliver(sync_store, _body(f"#killed-{number}"))
    attempt = subprocess.Popen([sys.executable, str(Path(__file__).with_name("capture_attempt.py")), database_url,
                                "doomed-run"], env={**os.environ},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = attempt.stdout.readline()
        assert line.strip() == "claimed; polling", attempt.stderr.read()[-2000:]
        assert sync_store.inbox_counts() == {"processing": 3}
    finally:
        attempt.send_signal(signal.SIGKILL)
        attempt.wait(timeout=10)

    early = capture_orders(sync_store, None, run_id="next-run", window=None, inbox_claim_timeout=timedelta(minutes=5))
    assert early.requeued_deliveries == 0 and sync_store.inbox_counts() == {"processing": 3}  # still someone's
    time.sleep(1.2)
    report = capture_orders(sync_store, None, run_id="later-run", window=None, inbox_claim_timeout=timedelta(seconds=1))

    assert report.requeued_deliveries == 3
    assert report.decided == {"new": 3}
    assert sync_store.inbox_counts() == {"processed": 3}


def test_a_delivery_that_kills_every_worker_is_failed_with_a_reason_instead_of_looping(sync_store):
    _deliver(sync_store, _body("#kills-workers"))
    for _claim in range(MAX_INBOX_CLAIMS):  # each claim's worker died (an OOM kill, say) before finishing it
        assert len(sync_store.claim_inbox(worker="a worker that dies")) == 1
        sync_store.requeue_stale_inbox(timedelta(seconds=-1), max_claims=MAX_INBOX_CLAIMS + 1)
    assert len(sync_store.claim_inbox(worker="a worker that dies")) == 1  # the third claim, also lost

    report = capture_orders(sync_store, None, run_id="run", window=None, inbox_claim_timeout=timedelta(seconds=-1))

    assert sync_store.inbox_counts() == {"failed": 1}
    [item] = sync_store.list_errors(stage="capture")
    assert item.id in report.bad_payload_error_ids
    assert "claimed 4 times and never finished" in item.reason and "poison" in item.reason
    assert item.payload and "#kills-workers" in item.payload  # kept, for a person to look at
