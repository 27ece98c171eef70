"""Bulk operations: start a ``bulkOperationRunQuery``, poll it until done, stream its JSONL result.

The result file is read line by line from the HTTP stream, so a 100,000-line export never sits in memory
at once. Nested connection nodes arrive as their own lines with ``__parentId`` (SHOPIFY.md §2).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from shopify_max.shopify import documents
from shopify_max.shopify.client import ShopifyClient
from shopify_max.shopify.documents import Document
from shopify_max.shopify.errors import ShopifyBulkOperationError
from shopify_max.shopify.models import BulkOperation

log = logging.getLogger("shopify_max.shopify")
FINISHED_STATUSES = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}


class BulkOperationRunner:
    """Run one bulk query document to completion and iterate its rows."""

    def __init__(self, client: ShopifyClient, *, poll_interval: float = 0.5, max_poll_interval: float = 10.0,
                 timeout: float = 3600.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.timeout = timeout
        self._sleep = sleep

    def start(self, query: Document, group_objects: bool = False) -> str:
        """Start ``query`` as a bulk operation; return the operation's gid.

        ``group_objects`` puts each node's children right after it (slower for Shopify; needed to reassemble
        nested objects while streaming).
        """
        response = self.client.execute(documents.BULK_OPERATION_RUN_QUERY,
                                       {"query": query.text, "groupObjects": group_objects})
        payload = response.data["bulkOperationRunQuery"]
        if payload["userErrors"]:
            raise ShopifyBulkOperationError(
                f"{query.operation_name}: bulk operation not started: "
                + "; ".join(f"{e.get('code')}: {e['message']}" for e in payload["userErrors"]),
                operation=query.operation_name, errors=payload["userErrors"])
        return payload["bulkOperation"]["id"]

    def wait(self, operation_id: str) -> BulkOperation:
        """Poll until the operation finishes; return it when COMPLETED, raise otherwise."""
        deadline = time.monotonic() + self.timeout
        interval = self.poll_interval
        while True:
            data = self.client.execute(documents.BULK_OPERATION_STATUS, {"id": operation_id}).data["bulkOperation"]
            operation = BulkOperation.model_validate(data)
            if operation.status in FINISHED_STATUSES:
                break
            if time.monotonic() > deadline:
                raise ShopifyBulkOperationError(f"bulk operation {operation_id} still {operation.status} after "
                                                f"{self.timeout:.0f} s")
            self._sleep(interval)
            interval = min(self.max_poll_interval, interval * 1.5)
        log.info("shopify bulk op=%s status=%s objects=%s size=%s", operation_id, operation.status,
                 operation.object_count, operation.file_size)
        if operation.status != "COMPLETED":
            raise ShopifyBulkOperationError(f"bulk operation {operation_id} ended {operation.status} "
                                            f"({operation.error_code})")
        return operation

    def rows(self, operation: BulkOperation) -> Iterator[dict[str, Any]]:
        """Stream the JSONL result: one parsed dict per line, never the whole file in memory."""
        if not operation.url:  # a query that matched nothing has no file
            return
        with requests.get(operation.url, stream=True, timeout=self.client.timeout) as response:
            response.raise_for_status()
            for raw in response.iter_lines():
                if raw:
                    yield json.loads(raw)

    def run(self, query: Document, group_objects: bool = False) -> Iterator[dict[str, Any]]:
        """Start, wait, and stream the rows of ``query``."""
        yield from self.rows(self.wait(self.start(query, group_objects)))
