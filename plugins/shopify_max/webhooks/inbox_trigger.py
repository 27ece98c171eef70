"""Event-driven scheduling: the orders DAG runs within a minute of a webhook landing in the inbox.

``NEW_ORDER_WEBHOOKS`` is an Airflow Asset watched by :class:`NewInboxDeliveriesTrigger`, which the
triggerer runs: it polls the sync store's inbox every ``poll_interval`` seconds and fires one event for
each batch of deliveries it has not seen yet. The orders DAG is scheduled on that asset *or* its timetable,
so the poll still runs when webhooks are lost.

Kept light for DAG parsing: SQLAlchemy and the store are imported inside the trigger's ``run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from shopify_max.webhooks import ORDER_TOPICS


def newest_new_delivery(conn_id: str, topics: Sequence[str]) -> tuple[int, int]:
    """(count, highest id) of inbox deliveries still ``new`` for ``topics``."""
    from sqlalchemy import func, select

    from shopify_max.airflow_glue.sync_store_hook import SyncStoreHook
    from shopify_max.sync_store.states import InboxStatus
    from shopify_max.sync_store.tables import inbox

    store = SyncStoreHook(conn_id).get_store()
    try:
        with store.engine.begin() as conn:
            count, highest = conn.execute(
                select(func.count(), func.max(inbox.c.id)).where(inbox.c.status == InboxStatus.NEW,
                                                                 inbox.c.topic.in_(list(topics)))).one()
        return int(count), int(highest or 0)
    finally:
        store.dispose()


class NewInboxDeliveriesTrigger(BaseEventTrigger):
    """Fires when the inbox holds ``new`` deliveries it has not reported yet (one event per batch)."""

    def __init__(self, sync_store_conn_id: str = "sync_store_default", poll_interval: float = 15.0,
                 topics: Sequence[str] = ORDER_TOPICS) -> None:
        super().__init__()
        self.sync_store_conn_id = sync_store_conn_id
        self.poll_interval = poll_interval
        self.topics = tuple(topics)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"sync_store_conn_id": self.sync_store_conn_id, "poll_interval": self.poll_interval,
                 "topics": list(self.topics)})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        reported = 0
        while True:
            count, highest = await asyncio.to_thread(newest_new_delivery, self.sync_store_conn_id, self.topics)
            if count and highest > reported:
                reported = highest
                yield TriggerEvent({"new_deliveries": count, "highest_inbox_id": highest})
            await asyncio.sleep(self.poll_interval)


NEW_ORDER_WEBHOOKS = Asset(
    name="shopify_order_webhooks",
    uri="shopify-max://sync-store/inbox/orders",
    watchers=[AssetWatcher(name="new_order_webhooks_in_inbox", trigger=NewInboxDeliveriesTrigger())],
)
