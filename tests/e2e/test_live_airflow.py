"""Live Airflow: scheduler, DAG processor, triggerer and API server (``airflow standalone``, SQLite, local
executor, the README's embedded default). A new order webhook in the inbox becomes an event on the
``shopify_order_webhooks`` asset within a minute, which schedules ``orders_to_max``."""

from __future__ import annotations

import time

import pytest

from shopify_max.sync_store import InboxDelivery, SyncStore
from tests import live_airflow as shared

pytestmark = pytest.mark.e2e
live_airflow = shared.live_airflow  # the fixture, shared with tests/ui/ (tests/live_airflow.py)


def test_a_new_order_webhook_schedules_the_orders_dag_within_a_minute(live_airflow):
    import sqlalchemy as sa

    metadata_url, sync_store_url = live_airflow
    metadata = sa.create_engine(metadata_url)

    def asset_events() -> int:
        with metadata.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.name = 'shopify_order_webhooks'")).scalar_one()

    # The DAG processor registers the asset and its watcher; the triggerer then starts the inbox trigger.
    deadline = time.monotonic() + 90
    while True:
        with metadata.connect() as conn:
            watched = conn.execute(sa.text("SELECT count(*) FROM asset_watcher")).scalar_one()
        if watched:
            break
        assert time.monotonic() < deadline, "the asset watcher was never registered"
        time.sleep(1)
    time.sleep(5)  # let the triggerer pick the watcher up
    assert asset_events() == 0

    store = SyncStore.from_url(sync_store_url)
    store.add_inbox_delivery(InboxDelivery(webhook_id="live-1", topic="orders/create", payload="{}"))
    landed = time.monotonic()
    while asset_events() == 0:
        assert time.monotonic() - landed < 60, "no asset event within a minute of the webhook"
        time.sleep(1)
    store.dispose()
    metadata.dispose()
