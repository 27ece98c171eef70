"""The sandbox's write log: how many contract writes the gateway committed, by kind (``GET /_sandbox/writes``).

A dry run must write nothing, and a replay settled by its lookup must not write twice; this log is how a test or a
person checks both from outside, over HTTP. It counts requests, in this process:

- **a committed write** is a non-GET request to a contract path (not ``/_sandbox/*``) that the gateway answered
  2xx. Every contract write commits before it answers and answers 2xx only when it committed; a rejection (422), a
  duplicate CUSTPO (409, the replay that found its order) or an error wrote nothing. Counted by kind, the first path
  segment: ``sales_orders``, ``credit_memos``, ``customers``, ``cancellations``.
- **received** counts every non-GET contract request that got past authentication, whatever its answer: a write
  that a dry run refused in the client never arrives, so it stays 0.

The middleware runs outside the fault knobs, so an injected error or timeout (nothing written) is received but not
committed, and ``drop_after_commit`` (written, answer lost) is committed.

Why an in-process counter, not a table: the database cannot tell a contract write from a sandbox operation (a
cancellation and ``/_sandbox/close`` both move status 3 to 4) or from seeded rows without bookkeeping in the
production write path, and a log row per write would add a second write transaction to every order the benchmarks
send. The cost: the counts start at 0 when the gateway starts (``since`` says when), and each gateway process counts
its own requests.
"""

from __future__ import annotations

import threading
from datetime import datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopify_max.clock import utcnow

WRITE_KINDS = ("sales_orders", "credit_memos", "customers", "cancellations")
_NOT_WRITES = frozenset({"GET", "HEAD", "OPTIONS"})
_NOT_CONTRACT = ("/_sandbox", "/openapi.yaml")


class WriteLog:
    """Counts of committed contract writes by kind, and of write requests received; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(WRITE_KINDS, 0)
            self._received = 0
            self._since: datetime = utcnow()

    def received(self) -> None:
        with self._lock:
            self._received += 1

    def committed(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1

    def as_dict(self) -> dict:
        with self._lock:
            return {"total": sum(self._counts.values()), "counts": dict(self._counts), "received": self._received,
                    "since": self._since.isoformat()}


def write_kind(method: str, path: str) -> str | None:
    """The kind of write a request is (``/sales-orders`` -> ``sales_orders``), or None for a read or a sandbox path."""
    if method.upper() in _NOT_WRITES or path.startswith(_NOT_CONTRACT):
        return None
    return path.strip("/").split("/", 1)[0].replace("-", "_") or None


class WriteLogMiddleware:
    """ASGI middleware: records each contract write request in ``log``, and as committed when answered 2xx."""

    def __init__(self, app: ASGIApp, log: WriteLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = write_kind(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.log.received()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.log.committed(kind)
            await send(message)

        await self.app(scope, receive, watch)
