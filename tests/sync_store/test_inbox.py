"""inbox: webhook deliveries stored once, de-duplicated on webhook id and on (topic, event id)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from shopify_max.clock import utcnow
from shopify_max.sync_store import InboxDelivery
from shopify_max.sync_store.tables import inbox


def _delivery(webhook_id: str, event_id: str | None = "evt-1", topic: str = "orders/create") -> InboxDelivery:
    return InboxDelivery(webhook_id=webhook_id, event_id=event_id, topic=topic,
                         payload=json.dumps({"id": 1}), resource_gid="gid://shopify/Order/1")


def test_a_delivery_is_stored_once_per_webhook_id(sync_store):
    assert sync_store.add_inbox_delivery(_delivery("wh-1")) is True
    assert sync_store.add_inbox_delivery(_delivery("wh-1")) is False
    assert sync_store.inbox_counts() == {"new": 1}


def test_a_redelivery_with_a_new_webhook_id_but_the_same_event_is_a_duplicate(sync_store):
    assert sync_store.add_inbox_delivery(_delivery("wh-1", event_id="evt-9")) is True
    assert sync_store.add_inbox_delivery(_delivery("wh-2", event_id="evt-9")) is False


def test_one_merchant_action_firing_two_topics_keeps_both(sync_store):
    assert sync_store.add_inbox_delivery(_delivery("wh-1", event_id="evt-9", topic="orders/create"))
    assert sync_store.add_inbox_delivery(_delivery("wh-2", event_id="evt-9", topic="orders/updated"))
    assert sync_store.inbox_counts() == {"new": 2}


def test_deliveries_without_event_id_are_deduplicated_on_webhook_id_only(sync_store):
    assert sync_store.add_inbox_delivery(_delivery("wh-1", event_id=None))
    assert sync_store.add_inbox_delivery(_delivery("wh-2", event_id=None))


def test_claiming_moves_new_deliveries_to_processing_oldest_first(sync_store):
    for number in range(5):
        sync_store.add_inbox_delivery(_delivery(f"wh-{number}", event_id=f"evt-{number}"))
    sync_store.add_inbox_delivery(_delivery("wh-refund", event_id="evt-r", topic="refunds/create"))

    first = sync_store.claim_inbox(topics=["orders/create"], limit=3)
    second = sync_store.claim_inbox(topics=["orders/create"], limit=3)

    assert [row.webhook_id for row in first] == ["wh-0", "wh-1", "wh-2"]
    assert [row.webhook_id for row in second] == ["wh-3", "wh-4"]
    assert sync_store.inbox_counts() == {"processing": 5, "new": 1}


def test_processed_deliveries_are_not_claimed_again(sync_store):
    sync_store.add_inbox_delivery(_delivery("wh-1"))
    rows = sync_store.claim_inbox()
    assert sync_store.mark_inbox([row.id for row in rows], "processed") == 1
    assert sync_store.claim_inbox() == []


def test_deliveries_claimed_by_a_dead_worker_are_requeued(sync_store):
    sync_store.add_inbox_delivery(_delivery("wh-1"))
    assert len(sync_store.claim_inbox(worker="run-1")) == 1
    assert sync_store.requeue_stale_inbox(older_than=timedelta(seconds=-1)) == (1, [])
    [again] = sync_store.claim_inbox(worker="run-2")
    assert again.webhook_id == "wh-1" and again.claims == 2


def test_a_claim_is_timed_from_when_it_was_taken_not_from_when_the_delivery_arrived(sync_store):
    """A delivery that waited an hour in the inbox and was claimed just now is not someone else's to requeue."""
    sync_store.add_inbox_delivery(_delivery("wh-1"))
    with sync_store.engine.begin() as conn:
        conn.execute(update(inbox).values(received_at=utcnow() - timedelta(hours=1)))
    sync_store.claim_inbox(worker="live-run")
    assert sync_store.requeue_stale_inbox(older_than=timedelta(minutes=15)) == (0, [])
    assert sync_store.inbox_counts() == {"processing": 1}


def test_a_delivery_whose_every_claim_dies_is_failed_as_a_poison_message(sync_store):
    sync_store.add_inbox_delivery(_delivery("wh-poison"))
    for _attempt in range(3):
        assert len(sync_store.claim_inbox()) == 1
        requeued, poisoned = sync_store.requeue_stale_inbox(older_than=timedelta(seconds=-1), max_claims=3)
    assert requeued == 0 and [row.webhook_id for row in poisoned] == ["wh-poison"] and poisoned[0].claims == 3
    assert sync_store.inbox_counts() == {"failed": 1}
    assert sync_store.claim_inbox() == []
