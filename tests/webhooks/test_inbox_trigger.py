"""The inbox watcher fires once per batch of new order webhooks, so the orders DAG runs within a minute."""

from __future__ import annotations

import asyncio
import json

import pytest

from shopify_max.sync_store import InboxDelivery, SyncStore
from shopify_max.webhooks.inbox_trigger import NewInboxDeliveriesTrigger


async def _next_event(trigger, timeout_s: float):
    run = trigger.run()
    try:
        return await asyncio.wait_for(run.__anext__(), timeout_s)
    except TimeoutError:
        return None
    finally:
        await run.aclose()


@pytest.fixture
def watched_store(monkeypatch, database_url):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT",
                       json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
    store = SyncStore.from_url(database_url)
    yield store
    store.dispose()


def test_a_new_order_webhook_fires_one_event_and_other_topics_do_not(watched_store):
    trigger = NewInboxDeliveriesTrigger(poll_interval=0.05)
    watched_store.add_inbox_delivery(InboxDelivery(webhook_id="r1", topic="refunds/create", payload="{}"))
    assert asyncio.run(_next_event(trigger, 0.5)) is None  # refunds are not the orders flow's business

    watched_store.add_inbox_delivery(InboxDelivery(webhook_id="o1", topic="orders/create", payload="{}"))
    event = asyncio.run(_next_event(trigger, 5))
    assert event is not None and event.payload["new_deliveries"] == 1


def test_the_trigger_reports_each_batch_once_and_fires_again_for_a_newer_one(watched_store):
    trigger = NewInboxDeliveriesTrigger(poll_interval=0.05)
    watched_store.add_inbox_delivery(InboxDelivery(webhook_id="o1", topic="orders/updated", payload="{}"))

    async def two_events():
        run = trigger.run()
        first = await asyncio.wait_for(run.__anext__(), 5)
        pending = asyncio.ensure_future(run.__anext__())
        await asyncio.sleep(0.3)
        assert not pending.done()  # nothing new since the first event: no second event
        await asyncio.to_thread(watched_store.add_inbox_delivery,
                                InboxDelivery(webhook_id="o2", topic="orders/create", payload="{}"))
        second = await asyncio.wait_for(pending, 5)
        await run.aclose()
        return first, second

    first, second = asyncio.run(two_events())
    assert first.payload["highest_inbox_id"] < second.payload["highest_inbox_id"]
    assert second.payload["new_deliveries"] == 2


def test_the_trigger_serialises_to_a_classpath_the_triggerer_can_import():
    classpath, kwargs = NewInboxDeliveriesTrigger(poll_interval=15).serialize()
    assert classpath == "shopify_max.webhooks.inbox_trigger.NewInboxDeliveriesTrigger"
    assert NewInboxDeliveriesTrigger(**kwargs).serialize() == (classpath, kwargs)
