"""One attempt of the capture task in a process of its own, whose Shopify poll never returns: the test kills it
after it has claimed the inbox's deliveries (``python capture_attempt.py <sync store url> <run id>``)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from shopify_max.orders.pipeline import capture_orders
from shopify_max.sync_store import SyncStore


class PollThatHangs:
    def iter_orders_updated(self, updated_at_min, updated_at_max=None):  # noqa: ANN001, ANN201
        print("claimed; polling", flush=True)
        while True:
            time.sleep(1)
        yield  # pragma: no cover


def main(store_url: str, run_id: str) -> None:
    store = SyncStore.from_url(store_url, migrate=False)
    now = datetime.now(UTC)
    capture_orders(store, PollThatHangs(), run_id=run_id, window=(now, now))


if __name__ == "__main__":
    main(*sys.argv[1:])
