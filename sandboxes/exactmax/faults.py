"""Fault knobs: latency, 5xx answers, timeouts and "commit, then drop the response".

Configured at run time through ``POST /_sandbox/faults`` (or CLI flags). Each rule matches a method and a path
prefix and fires ``count`` times. Sandbox and OpenAPI paths are never faulted.

- ``error``: answer ``status`` (default 503, with ``Retry-After``) without touching the database;
- ``timeout``: wait ``seconds`` and answer 504 without touching the database (the client should give up first);
- ``drop_after_commit``: run the request (the order is written and committed), then send the status line and
  close the connection before the body: the caller never learns the outcome. This is the fault that catches
  duplicate exports.
- ``delay``: wait ``seconds``, then run the request as usual: a write that is still in flight, and commits,
  long after its sender gave up or lost its claim on the record (the race the gateway's CUSTPO rule closes).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import asdict, dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULT_KINDS = ("error", "timeout", "drop_after_commit", "delay")
UNFAULTED_PREFIXES = ("/_sandbox", "/openapi")


@dataclass
class FaultRule:
    kind: str
    count: int = 1
    status: int = 503
    seconds: float = 5.0
    method: str | None = None  # None: any method
    path: str = "/"  # path prefix


@dataclass
class FaultSettings:
    latency_ms: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, latency_ms: int = 0, rules: list[dict] | None = None) -> None:
        parsed = [FaultRule(**rule) for rule in rules or []]
        for rule in parsed:
            if rule.kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {rule.kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self.latency_ms = latency_ms
            self.rules = parsed
            self.fired = {}

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first armed rule matching this request, with one use consumed."""
        with self._lock:
            for rule in self.rules:
                if rule.count > 0 and (rule.method is None or rule.method.upper() == method) and path.startswith(rule.path):
                    rule.count -= 1
                    self.fired[rule.kind] = self.fired.get(rule.kind, 0) + 1
                    return rule
        return None

    def as_dict(self) -> dict:
        with self._lock:
            return {"latency_ms": self.latency_ms, "rules": [asdict(r) for r in self.rules], "fired": dict(self.fired)}


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultSettings` before (or, for drops, after) the application."""

    def __init__(self, app: ASGIApp, settings: FaultSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNFAULTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)
        rule = self.settings.take(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "error":
            await _answer(send, rule.status, {"detail": f"injected fault: {rule.status}"}, retry_after=True)
        elif rule.kind == "timeout":
            await asyncio.sleep(rule.seconds)
            await _answer(send, 504, {"detail": "injected fault: timeout"})
        elif rule.kind == "delay":
            await self._delay(scope, receive, send, rule.seconds)
        else:
            await self._drop_after_commit(scope, receive, send)

    async def _delay(self, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
        """The whole request is in the gateway's hands, then it waits: it commits even if the sender has gone
        meanwhile, as a slow MAXUpdate would."""
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        await asyncio.sleep(seconds)

        async def replay() -> Message:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        await self.app(scope, replay, send)

    async def _drop_after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        status: list[int] = []

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(scope, receive, swallow)  # the transaction runs and commits
        await send({"type": "http.response.start", "status": status[0] if status else 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        # Returning without the promised body makes the ASGI server (uvicorn) close the connection.


async def _answer(send: Send, status: int, body: dict, retry_after: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
