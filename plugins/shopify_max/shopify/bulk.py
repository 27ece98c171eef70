"""Bulk operations: start a ``bulkOperationRunQuery``, poll it until done, stream its JSONL result.

The result file is read line by line from the HTTP stream, so a 100,000-line export never sits in memory
at once. Nested connection nodes arrive as their own lines with ``__parentId`` (SHOPIFY.md §2).

A download that fails (429, 5xx, a dropped connection, a timeout, a truncated body) is retried under the
client's retry policy (:mod:`shopify_max.retry_policy`). The retry asks for the rest of the file (``Range``)
from the end of the last complete line; a server that sends the whole file again has the lines already read
skipped. Either way each line reaches the caller exactly once, and a half-received line never does.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import Any

import requests

from shopify_max.retry_policy import Retries, parse_retry_after, shopify_retry_reason
from shopify_max.shopify import documents
from shopify_max.shopify.client import ShopifyClient
from shopify_max.shopify.documents import Document
from shopify_max.shopify.errors import (
    ShopifyBulkOperationError,
    ShopifyConnectionError,
    ShopifyError,
    ShopifyRateLimitedError,
    ShopifyRetryExhaustedError,
    ShopifyUnavailableError,
)
from shopify_max.shopify.models import BulkOperation

log = logging.getLogger("shopify_max.shopify")
FINISHED_STATUSES = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}
DOWNLOAD = "bulk result download"  # the operation name in logs: the signed URL itself is never logged
DOWNLOAD_CHUNK_BYTES = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


class BulkOperationRunner:
    """Run one bulk query document to completion and iterate its rows."""

    def __init__(self, client: ShopifyClient, *, poll_interval: float = 0.5, max_poll_interval: float = 10.0,
                 timeout: float = 3600.0, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.timeout = timeout
        self._sleep = sleep
        self._rng = rng

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
        """Stream the JSONL result: one parsed dict per line, never the whole file in memory, each line once
        even when the download is retried (see the module docstring)."""
        if not operation.url:  # a query that matched nothing has no file
            return
        retries = Retries(self.client.retry, api="shopify", operation=DOWNLOAD, rng=self._rng)
        delivered = 0  # bytes of the file up to the end of the last line yielded
        delivered_before_failure = 0
        while True:
            try:
                with closing(self._lines_from(operation.url, delivered)) as lines:
                    for line_end, line in lines:
                        if line_end <= delivered:
                            continue  # sent again by a server that ignored Range
                        delivered = line_end
                        if line.strip():
                            yield json.loads(line)
                return
            except ShopifyError as error:
                reason = shopify_retry_reason(error)
                if reason is None:
                    raise
                if delivered > delivered_before_failure:  # it got further: a fresh budget for the rest
                    retries = Retries(self.client.retry, api="shopify", operation=DOWNLOAD, rng=self._rng)
                    delivered_before_failure = delivered
                wait = retries.after_failure(reason, retry_after=error.retry_after, status=error.status, error=error)
                if retries.exhausted:
                    raise ShopifyRetryExhaustedError(f"{DOWNLOAD}: gave up after {retries.retries - 1} retries "
                                                     f"({error})", operation=DOWNLOAD, status=error.status) from None
                self._sleep(wait)

    def _lines_from(self, url: str, offset: int) -> Iterator[tuple[int, bytes]]:
        """``(end offset in the file, line)`` for each complete line from ``offset`` on (or from the start, when
        the server ignores the Range request). Download faults raise the client's typed errors."""
        headers = {"Range": f"bytes={offset}-", "Accept-Encoding": "identity"} if offset else {}
        try:
            with requests.get(url, stream=True, timeout=self.client.timeout, headers=headers) as response:
                start = _start_of_body(response, offset)
                if start is None:  # 416: nothing after ``offset``
                    return
                yield from _complete_lines(response.iter_content(DOWNLOAD_CHUNK_BYTES), start)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise ShopifyConnectionError(f"{type(exc).__name__}", operation=DOWNLOAD) from None

    def run(self, query: Document, group_objects: bool = False) -> Iterator[dict[str, Any]]:
        """Start, wait, and stream the rows of ``query``."""
        yield from self.rows(self.wait(self.start(query, group_objects)))


def _start_of_body(response: requests.Response, offset: int) -> int | None:
    """Where in the file the body starts (0 for a whole file, ``offset`` for a 206); None when nothing is left.
    A status that a retry cannot help (403 once the signed URL has expired, 404) raises at once."""
    status = response.status_code
    if status == 200:
        return 0
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) > offset:
            raise ShopifyBulkOperationError(f"{DOWNLOAD}: answered bytes "
                                            f"{response.headers.get('Content-Range')!r} to a request from {offset}",
                                            status=status, operation=DOWNLOAD)
        return int(match.group(1))
    if status == 416 and response.headers.get("Content-Range", "").strip() == f"bytes */{offset}":
        return None
    if status == 429:
        raise ShopifyRateLimitedError("HTTP 429", status=status, operation=DOWNLOAD,
                                      retry_after=parse_retry_after(response.headers.get("Retry-After"), 1.0))
    if status >= 500:
        raise ShopifyUnavailableError(f"HTTP {status}", status=status, operation=DOWNLOAD,
                                      retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise ShopifyBulkOperationError(f"{DOWNLOAD}: HTTP {status} (the result URL expires a week after the "
                                    "operation completed; run it again)", status=status, operation=DOWNLOAD)


def _complete_lines(chunks: Iterable[bytes], start: int) -> Iterator[tuple[int, bytes]]:
    """Split a byte stream into lines, each with the file offset just past it. A last line without a newline is
    yielded only when it is whole JSON: a body cut short mid-line raises, so the download is retried."""
    position, pending = start, b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            position += len(line) + 1
            yield position, line
    if pending.strip():
        try:
            json.loads(pending)
        except ValueError:
            raise ShopifyConnectionError("truncated body (the last line is incomplete)", operation=DOWNLOAD) from None
        yield position + len(pending), pending
