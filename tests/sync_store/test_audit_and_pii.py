"""audit_log: every payload and response, redacted, with a retention period for PII."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from shopify_max.clock import utcnow
from shopify_max.redaction import REDACTED, register_secret
from shopify_max.sync_store import AuditEntry, InboxDelivery
from shopify_max.sync_store.personal_data import PURGED_MARKER
from shopify_max.sync_store.tables import error_queue, inbox

TOKEN = "shpat_0123456789abcdef0123456789abcdef"


def test_audit_entries_are_written_without_secrets(sync_store):
    register_secret("max-gateway-password-42")
    sync_store.write_audit([
        AuditEntry(
            entity="order", record_key="#1001", direction="shopify_to_max", outcome="exported", run_id="r1",
            task_id="export", duration_ms=12,
            request={"headers": {"Authorization": "Basic bWF4OnNlY3JldA==", "X-Shopify-Access-Token": TOKEN},
                     "body": "<CUSTPO_27>#1001</CUSTPO_27> password was max-gateway-password-42"},
            response="HTTP 201 with token " + TOKEN,
        )
    ])
    [row] = sync_store.audit_entries(entity="order", record_key="#1001")
    stored = row["request"] + row["response"]
    assert TOKEN not in stored and "bWF4OnNlY3JldA==" not in stored and "max-gateway-password-42" not in stored
    assert json.loads(row["request"])["headers"]["Authorization"] == REDACTED
    assert "<CUSTPO_27>#1001</CUSTPO_27>" in row["request"]
    assert (row["run_id"], row["task_id"], row["outcome"], row["duration_ms"]) == ("r1", "export", "exported", 12)


def test_error_queue_reasons_and_payloads_are_redacted_too(sync_store):
    sync_store.record_error(entity="order", record_key="#1", stage="export",
                            reason=f"401 from gateway with Bearer {TOKEN}",
                            payload={"headers": {"authorization": "Bearer abcdefghijklmnop"}})
    [item] = sync_store.list_errors()
    assert TOKEN not in item.reason and "abcdefghijklmnop" not in item.payload


def test_pii_older_than_the_retention_period_is_purged_and_newer_is_kept(sync_store):
    sync_store.write_audit([
        AuditEntry(entity="order", record_key="#old", direction="shopify_to_max", outcome="exported",
                   request={"customer": "Jane Doe, 1 Main St"}),
        AuditEntry(entity="inventory", record_key="batch-1", direction="max_to_shopify", outcome="pushed",
                   request={"quantities": 250}, contains_pii=False),
    ])
    # Nothing is old enough yet: a 30-day retention purges nothing.
    assert sync_store.purge_expired_pii(timedelta(days=30)) == {"audit_log": 0, "inbox": 0, "error_queue": 0, "order_stage": 0}

    later = utcnow() + timedelta(days=31)
    assert sync_store.purge_expired_pii(timedelta(days=30), now=later)["audit_log"] == 1
    rows = {row["record_key"]: row for row in sync_store.audit_entries()}
    assert rows["#old"]["request"] == PURGED_MARKER and rows["#old"]["pii_purged_at"] is not None
    assert "Jane Doe" not in rows["#old"]["response"]
    assert json.loads(rows["batch-1"]["request"]) == {"quantities": 250}
    # A second purge finds nothing new.
    assert sync_store.purge_expired_pii(timedelta(days=30), now=later)["audit_log"] == 0


def test_purge_keeps_payloads_of_unfinished_work_only(sync_store):
    """New and claimed deliveries are work to do; an error item a replay has claimed is being worked on."""
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id="a", topic="orders/create", payload='{"email":"a@x"}'))
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id="b", topic="orders/create", payload='{"email":"b@x"}'))
    [first, _second] = sync_store.claim_inbox()
    sync_store.mark_inbox([first.id], "processed")
    resolved = sync_store.record_error(entity="order", record_key="#1", stage="map", reason="r", payload={"e": "x"})
    sync_store.record_error(entity="order", record_key="#2", stage="map", reason="r", payload={"e": "y"})
    sync_store.resolve_error(resolved)
    [claimed] = sync_store.claim_errors("replay-worker", record_keys=["#2"])
    with sync_store.engine.begin() as conn:  # both items last seen long ago; #2 claimed by a replay just now
        conn.execute(update(error_queue).values(last_seen=utcnow() - timedelta(days=3)))

    counts = sync_store.purge_expired_pii(timedelta(days=1), now=utcnow() + timedelta(hours=1))

    assert counts["inbox"] == 0 and counts["error_queue"] == 1  # deliveries are a day younger than the cutoff
    assert {item.record_key: item.payload for item in sync_store.list_errors()} == {"#1": None, "#2": '{"e": "y"}'}
    # Two days on, the claimed delivery is still work to do; a claim older than the retention is not (the
    # replay died), so that payload goes too.
    counts = sync_store.purge_expired_pii(timedelta(days=1), now=utcnow() + timedelta(days=2))
    assert (counts["inbox"], counts["error_queue"]) == (1, 1)
    assert sync_store.inbox_counts() == {"processed": 1, "processing": 1}
    assert [item.payload for item in sync_store.list_errors()] == [None, None]
    assert claimed.status == "retrying"


def test_failed_deliveries_and_open_error_items_lose_their_payload_after_the_retention_period_but_keep_the_record(
        sync_store):
    """Failed and open are not "keep forever": the personal payload goes, what happened stays."""
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id="bad", topic="orders/create",
                                                payload='{"email": "jane@example.com", "name": "Jane Doe"}'))
    [delivery] = sync_store.claim_inbox()
    sync_store.mark_inbox([delivery.id], "failed")
    item_id = sync_store.record_error(entity="order", record_key="webhook bad", stage="capture",
                                      reason="webhook bad (orders/create) is not a readable order",
                                      payload={"email": "jane@example.com"}, detail={"webhook_id": "bad"})

    assert sync_store.purge_expired_pii(timedelta(days=30), now=utcnow() + timedelta(days=29)) == {
        "audit_log": 0, "inbox": 0, "error_queue": 0, "order_stage": 0}
    counts = sync_store.purge_expired_pii(timedelta(days=30), now=utcnow() + timedelta(days=31))

    assert (counts["inbox"], counts["error_queue"]) == (1, 1)
    with sync_store.engine.connect() as conn:
        [stored] = conn.execute(select(inbox.c.webhook_id, inbox.c.status, inbox.c.payload,
                                       inbox.c.payload_purged_at)).all()
    assert stored[:3] == ("bad", "failed", None) and stored.payload_purged_at is not None
    [item] = sync_store.list_errors()
    assert (item.id, item.status, item.record_key, item.payload) == (item_id, "open", "webhook bad", None)
    assert item.reason == "webhook bad (orders/create) is not a readable order" and item.detail == {"webhook_id": "bad"}
