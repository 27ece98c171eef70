"""The sandbox HTTP server: ``POST /admin/api/{version}/graphql.json`` plus ``/_sandbox/*`` admin endpoints.

Request path, as Shopify does it: auth (401) → faults (latency, dropped connection, 5xx, 429 storm) →
parse and validate against the real schema (GraphQL errors) → cost (MAX_COST_EXCEEDED) → leaky bucket
(THROTTLED) → execute → ``extensions.cost``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from graphql import FragmentDefinitionNode, GraphQLError
from starlette.concurrency import run_in_threadpool

from sandboxes.shopify import admin, cost
from sandboxes.shopify.execution import (
    DocumentCache,
    ExecutionContext,
    flatten_bulk_result,
    run_document,
    write_jsonl,
)
from sandboxes.shopify.orders import iso
from sandboxes.shopify.schema import SCHEMA_VERSION, admin_schema
from sandboxes.shopify.seed import seed_store
from sandboxes.shopify.store import SandboxStore, SandboxUserError
from sandboxes.shopify.webhooks import WebhookDispatcher, WebhookSettings
from shopify_max.clock import utcnow

log = logging.getLogger(__name__)
DEFAULT_TOKEN = "shpat_sandbox0000000000000000000000"
MAX_CONCURRENT_BULK_QUERIES = 5  # from 2026-01 (SHOPIFY.md §2)


@dataclass
class Faults:
    latency_ms: float = 0.0  # added to every GraphQL request
    error_5xx_rate: float = 0.0  # answer 502/503 instead of executing
    drop_rate: float = 0.0  # start the response, then close the connection
    throttle_429_rate: float = 0.0  # answer 429 with Retry-After
    retry_after_seconds: float = 1.0  # the Retry-After value sent with 429
    storm_rate: float = 0.0  # drain the bucket before the check (another client's burst): real THROTTLED
    drop_after_commit_rate: float = 0.0  # execute (a mutation applies), then close the connection: outcome unknown
    # The same, counted down, for the next N requests that call one field (e.g. "fulfillmentCreate", "orderCapture"),
    # so a test knows exactly which write lost its answer.
    drop_after_commit_field: str = ""
    drop_after_commit_count: int = 0
    # Bulk result downloads (GET /_sandbox/bulk/…), counted down, so a test knows exactly what happens:
    bulk_download_drops: int = 0  # the next N send half of what was asked (mid-line), then close the connection
    bulk_download_5xx: int = 0  # the next N answer 503
    bulk_download_ranges: bool = True  # answer Range requests (206) as Shopify's storage does; False: whole file


@dataclass
class SandboxConfig:
    token: str = DEFAULT_TOKEN
    announce_seed: bool = False  # send orders/create webhooks for the seeded orders
    api_version: str = SCHEMA_VERSION
    products: int = 40
    orders: int = 30
    seed: int = 1
    plan: str = "standard"
    bucket_size: float | None = None  # overrides the plan preset
    restore_rate: float | None = None
    bulk_delay_seconds: float = 0.2  # how long a bulk operation stays CREATED/RUNNING at least
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    faults: Faults = field(default_factory=Faults)


class _DroppedConnection(Exception):
    """Raised after the response started, so uvicorn closes the connection mid-response: the middleware sends
    the status, headers and the part of the body given here, announcing ``content_length`` bytes."""

    def __init__(self, status: int = 200, content_type: bytes = b"application/json", partial_body: bytes = b'{"data":',
                 content_length: int = 4096, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__("connection dropped mid-response")
        self.status, self.content_type, self.partial_body = status, content_type, partial_body
        self.content_length, self.headers = content_length, headers or []


class Sandbox:
    """Everything one running sandbox holds: store, bucket, document cache, webhooks, faults, stats."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.schema = admin_schema()
        self.documents = DocumentCache(self.schema)
        preset_size, preset_rate = cost.PRESETS[config.plan]
        self.bucket = cost.LeakyBucket(config.bucket_size or preset_size, config.restore_rate or preset_rate)
        self.faults = config.faults
        self.webhooks = WebhookDispatcher(config.webhooks)
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(config.seed)
        self.bulk_dir = Path(tempfile.mkdtemp(prefix="shopify-sandbox-bulk-"))
        self.store = SandboxStore()
        self.reset(config.products, config.orders, config.seed, announce=config.announce_seed)

    def reset(self, products: int, orders: int, seed: int, announce: bool = False) -> None:
        """A fresh store from ``seed``; the fault rolls start again from it too, so a test that injects faults
        sees the same faults on every run (not whatever the tests before it left of one shared sequence)."""
        self._rng = random.Random(seed)
        store = SandboxStore()
        if announce:
            store.order_listeners.append(self.webhooks.on_order_event)
        seed_store(store, products, orders, seed)
        if not announce:
            store.order_listeners.append(self.webhooks.on_order_event)
        self.store = store

    # ----- GraphQL -----
    def handle_graphql(self, body: dict[str, Any], base_url: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        query = body.get("query")
        if not isinstance(query, str):
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}, {}
        prepared = self.documents.prepare(query)
        if prepared.errors:
            self.stats["invalid"] += 1
            return 200, {"errors": [_format_error(e, "GRAPHQL_VALIDATION_FAILED") for e in prepared.errors]}, {}
        operation = prepared.operation(body.get("operationName"))
        if operation is None:
            return 200, {"errors": [{"message": "An operation name is required", "extensions": {
                "code": "OPERATION_NAME_REQUIRED"}}]}, {}
        variables = body.get("variables") or {}
        fragments = {d.name.value: d for d in prepared.document.definitions if isinstance(d, FragmentDefinitionNode)}
        requested = cost.requested_cost(self.schema, operation, fragments, variables)
        if requested > cost.SINGLE_QUERY_MAX_COST:
            self.stats["max_cost_exceeded"] += 1
            return 200, {"errors": [{"message": f"Query cost is {requested}, which exceeds the single query max "
                                                f"cost limit ({cost.SINGLE_QUERY_MAX_COST}).",
                                     "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                                    "maxCost": cost.SINGLE_QUERY_MAX_COST}}]}, {}
        if self.faults.storm_rate and self._rng.random() < self.faults.storm_rate:
            self.bucket.drain()
        taken, status = self.bucket.try_take(requested)
        if not taken:
            self.stats["throttled"] += 1
            return 200, {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                        "throttleStatus": status.as_dict()}}}, {}
        context = ExecutionContext(self.store, base_url, bulk_runner=lambda q: self.start_bulk_query(q, base_url))
        with self.store.lock:
            result = run_document(self.schema, prepared.document, context, variables,
                                  operation.name.value if operation.name else None)
        for topic, fulfillment in context.events:
            self.store.announce(topic, fulfillment)
        for order in {id(o): o for o in context.touched_orders}.values():
            self.store.announce("orders/updated", order)
        actual = min(requested, cost.actual_cost(self.schema, operation, fragments, result.data))
        status = self.bucket.refund(requested - actual)
        self.stats["executed"] += 1
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_format_error(e, "BAD_REQUEST") for e in result.errors]
        payload["extensions"] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                                          "throttleStatus": status.as_dict()}}
        return 200, payload, {}

    # ----- bulk operations -----
    def start_bulk_query(self, query: str, base_url: str) -> dict[str, Any]:
        store = self.store
        running = [op for op in store.bulk_operations.values() if op["status"] in ("CREATED", "RUNNING")]
        if len(running) >= MAX_CONCURRENT_BULK_QUERIES:
            raise SandboxUserError("A bulk query operation for this app and shop is already in progress.",
                                   None, "OPERATION_IN_PROGRESS")
        prepared = self.documents.prepare(query)
        if prepared.errors:
            raise SandboxUserError("Invalid bulk query: " + "; ".join(e.message for e in prepared.errors),
                                   ["query"], "INVALID")
        gid, legacy = store.new_id("BulkOperation")
        operation = {"__typename": "BulkOperation", "id": gid, "status": "CREATED", "query": query, "type": "QUERY",
                     "createdAt": iso(utcnow()), "completedAt": None, "objectCount": "0", "rootObjectCount": "0",
                     "fileSize": None, "url": None, "partialDataUrl": None, "errorCode": None}
        store.bulk_operations[gid] = operation
        threading.Thread(target=self._run_bulk, args=(operation, prepared, legacy, base_url), daemon=True).start()
        return operation

    def _run_bulk(self, operation: dict[str, Any], prepared, legacy: str, base_url: str) -> None:
        time.sleep(self.config.bulk_delay_seconds / 2)
        operation["status"] = "RUNNING"
        time.sleep(self.config.bulk_delay_seconds / 2)
        try:
            context = ExecutionContext(self.store, base_url, bulk=True)
            with self.store.lock:
                result = run_document(self.schema, prepared.document, context, {}, None)
            if result.errors:
                raise RuntimeError(result.errors[0].message)
            lines = flatten_bulk_result(result.data or {})
            path = self.bulk_dir / f"{legacy}.jsonl"
            size = write_jsonl(lines, path)
            operation.update(objectCount=str(len(lines)), fileSize=str(size),
                             rootObjectCount=str(sum(1 for line in lines if "__parentId" not in line)),
                             url=f"{base_url}/_sandbox/bulk/{legacy}.jsonl")
            operation["status"] = "COMPLETED"
        except Exception:  # noqa: BLE001 - any failure is reported the way Shopify does: FAILED + errorCode
            log.exception("bulk operation %s failed", operation["id"])
            operation.update(status="FAILED", errorCode="INTERNAL_SERVER_ERROR")
        operation["completedAt"] = iso(utcnow())


def _format_error(error: GraphQLError, default_code: str) -> dict[str, Any]:
    formatted = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if "Cannot query field" in error.message:
        extensions.setdefault("code", "undefinedField")
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    sandbox = Sandbox(config or SandboxConfig())
    app = FastAPI(title="Shopify sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox

    def authorised(request: Request) -> bool:
        return request.headers.get("x-shopify-access-token") == sandbox.config.token

    def unauthorised() -> JSONResponse:
        return JSONResponse({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                            status_code=401)

    @app.get("/_sandbox/health")
    async def health() -> dict[str, str]:
        """Liveness only (no data, no token needed): what `make demo` and compose health checks poll."""
        return {"status": "ok"}

    @app.post("/admin/api/{version}/graphql.json")
    async def graphql_endpoint(version: str, request: Request):
        sandbox.stats["requests"] += 1
        if not authorised(request):
            sandbox.stats["unauthorised"] += 1
            return unauthorised()
        if version != sandbox.config.api_version:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        faults = sandbox.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        roll = sandbox._rng.random()
        if roll < faults.drop_rate:
            sandbox.stats["dropped"] += 1
            raise _DroppedConnection()
        roll -= faults.drop_rate
        if roll < faults.error_5xx_rate:
            sandbox.stats["errors_5xx"] += 1
            return JSONResponse({"errors": "Service Unavailable"}, status_code=503)
        roll -= faults.error_5xx_rate
        if roll < faults.throttle_429_rate:
            sandbox.stats["rejected_429"] += 1
            return JSONResponse({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
                                           "resume uninterrupted service."}, status_code=429,
                                headers={"Retry-After": f"{faults.retry_after_seconds:g}"})
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": "Invalid JSON in request body"}, status_code=400)
        base_url = str(request.base_url).rstrip("/")
        status, payload, headers = await run_in_threadpool(sandbox.handle_graphql, body, base_url)
        if faults.drop_after_commit_rate and sandbox._rng.random() < faults.drop_after_commit_rate:
            sandbox.stats["dropped_after_commit"] += 1
            raise _DroppedConnection()
        if (faults.drop_after_commit_count > 0 and faults.drop_after_commit_field
                and re.search(rf"\b{re.escape(faults.drop_after_commit_field)}\s*\(", str(body.get("query") or ""))):
            faults.drop_after_commit_count -= 1
            sandbox.stats["dropped_after_commit"] += 1
            raise _DroppedConnection()
        return JSONResponse(payload, status_code=status, headers=headers)

    @app.get("/_sandbox/bulk/{name}")
    async def bulk_file(name: str, request: Request):
        path = sandbox.bulk_dir / Path(name).name
        if not path.exists():
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        faults = sandbox.faults
        ranged = request.headers.get("range")
        sandbox.stats["bulk_downloads"] += 1
        if ranged:
            sandbox.stats["bulk_download_range_requests"] += 1
        if faults.bulk_download_5xx > 0:
            faults.bulk_download_5xx -= 1
            sandbox.stats["bulk_download_5xx"] += 1
            return JSONResponse({"errors": "Service Unavailable"}, status_code=503)
        if faults.bulk_download_drops > 0:
            faults.bulk_download_drops -= 1
            sandbox.stats["bulk_download_dropped"] += 1
            data = path.read_bytes()
            start = _range_start(ranged) if faults.bulk_download_ranges else 0
            rest = data[start:]
            headers = [(b"content-range", f"bytes {start}-{len(data) - 1}/{len(data)}".encode())] if start else []
            raise _DroppedConnection(206 if start else 200, b"application/jsonl", rest[: len(rest) // 2], len(rest),
                                     headers)
        if not faults.bulk_download_ranges:
            return Response(path.read_bytes(), media_type="application/jsonl")
        return FileResponse(path, media_type="application/jsonl")

    admin.register(app, sandbox, authorised, unauthorised)
    app.add_middleware(_DropConnectionMiddleware)
    return app


class _DropConnectionMiddleware:
    """Turns :class:`_DroppedConnection` into a connection closed mid-response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        except _DroppedConnection as dropped:
            await send({"type": "http.response.start", "status": dropped.status,
                        "headers": [(b"content-type", dropped.content_type),
                                    (b"content-length", str(dropped.content_length).encode()), *dropped.headers]})
            await send({"type": "http.response.body", "body": dropped.partial_body, "more_body": True})
            raise


def _range_start(header: str | None) -> int:
    """The first byte of ``Range: bytes=N-`` (the only form the client sends); 0 without one."""
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return 0
    return int(header[len("bytes="):-1])


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass
class RunningSandbox:
    base_url: str
    host: str
    port: int
    sandbox: Sandbox

    @property
    def shop_domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/{self.sandbox.config.api_version}/graphql.json"


@contextmanager
def run_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1",
                  port: int = 0) -> Iterator[RunningSandbox]:
    """Serve a sandbox on loopback in a background thread (an ephemeral port by default)."""
    app = create_app(config)
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="shopify-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Shopify sandbox did not start")
        time.sleep(0.02)
    try:
        yield RunningSandbox(f"http://{host}:{port}", host, port, app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.sandbox.webhooks.stop()

