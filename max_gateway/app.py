"""The MAX gateway's HTTP layer: the contract's routes, authentication, limits and parameter validation, over a
backend (``max_gateway.backend``: the reference database or a real MAX).

``openapi.yaml`` beside this module is the contract; the gateway serves it at ``/openapi.yaml`` and a test
checks that these routes (with the sandbox's ``/_sandbox`` operations) match it exactly.
"""

from __future__ import annotations

import base64
import functools
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from max_gateway.backend import BackendUnavailable, GatewayBackend
from max_gateway.sql import fulfilment_reads, reads
from max_gateway.sql.write_checks import DuplicateOrder
from max_gateway.xml_rules import FieldError, TransactionRejected

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
Limit = Annotated[int, Query(ge=1, le=reads.MAX_LIMIT)]
MAX_XML_BYTES = 2_000_000  # 99 lines of eMAXExact XML are far below this
PUBLIC_PATHS = frozenset({"/openapi.yaml"})  # the contract itself needs no credentials
WRITE_THREADS = 8  # of the 40 threads Starlette gives blocking work; reads keep the rest
RETRY_AFTER_SECONDS = 5  # on a 503: a lost answer is settled by the client's next lookup, MAXUpdate restarts fast


@dataclass(frozen=True)
class GatewayAuth:
    """Basic (username + password) and/or bearer token; with neither set, the gateway is open (loopback only)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def allows(self, header: str | None) -> bool:
        if not (self.username or self.token):
            return True
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.token:
            return hmac.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() == "basic" and self.username:
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            expected = f"{self.username}:{self.password or ''}"
            return hmac.compare_digest(decoded.encode(), expected.encode())
        return False


class AuthenticateFirst:
    """ASGI middleware: a request without valid credentials gets 401 before anything reads or parses its body.

    (A FastAPI dependency runs only after the body parameters are read and parsed, so an anonymous client
    could make the gateway read and parse a body of any size.) ``Connection: close``, so the server does
    not read the unread body either.
    """

    def __init__(self, app: ASGIApp, auth: GatewayAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or \
                self.auth.allows(Headers(scope=scope).get("authorization")):
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"detail": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": 'Basic realm="max-gateway", Bearer',
                                         "Connection": "close"})
        await response(scope, receive, send)


def create_app(backend: GatewayBackend, auth: GatewayAuth | None = None, *,
               inner_middleware: Sequence[tuple[type, dict[str, Any]]] = (),
               routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The gateway over ``backend``. ``inner_middleware`` runs after authentication and ``routers`` add routes:
    the sandbox build (``sandboxes.exactmax``) adds its fault knobs and ``/_sandbox`` operations that way."""
    auth = auth or GatewayAuth()

    app = FastAPI(title=f"Exact MAX gateway ({backend.name})", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.backend = backend
    for middleware, options in inner_middleware:
        app.add_middleware(middleware, **options)
    app.add_middleware(AuthenticateFirst, auth=auth)  # added last: the outermost, so it runs first
    for router in routers:
        app.include_router(router)

    @app.exception_handler(TransactionRejected)
    async def _rejected(_request: Request, exc: TransactionRejected) -> JSONResponse:
        if isinstance(exc, DuplicateOrder):
            return JSONResponse({"errors": [e.as_dict() for e in exc.errors], "ORDNUM": exc.ordnum}, status_code=409)
        return JSONResponse({"errors": [e.as_dict() for e in exc.errors]}, status_code=422)

    @app.exception_handler(BackendUnavailable)
    async def _unavailable(_request: Request, exc: BackendUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"element": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "line": None,
                   "rule": "bad_parameter", "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"errors": errors}, status_code=422)

    async def xml_body(request: Request) -> bytes:
        """The XML document, refused (422 ``too_large``) on its declared length or as soon as it grows past
        ``MAX_XML_BYTES``: never read whole first."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_XML_BYTES:
            raise TransactionRejected([FieldError("eMAXExact", "too_large",
                                                  f"{declared} bytes declared; at most {MAX_XML_BYTES}")])
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_XML_BYTES:
                raise TransactionRejected([FieldError("eMAXExact", "too_large",
                                                      f"over {MAX_XML_BYTES} bytes; at most {MAX_XML_BYTES}")])
            chunks.append(chunk)
        return b"".join(chunks)

    async def call(method, *args, **kwargs):  # noqa: ANN001, ANN202 - a backend method, run off the event loop
        return await run_in_threadpool(method, *args, **kwargs)

    # Writes get threads of their own: a write may wait (the max backend serialises them behind MAXUpdate), and
    # writes queued behind a slow one must not take the threads every read needs. Beyond these, a write waits
    # for a thread without holding one.
    write_threads = anyio.CapacityLimiter(WRITE_THREADS)

    async def write(method, *args):  # noqa: ANN001, ANN202
        return await anyio.to_thread.run_sync(functools.partial(method, *args), limiter=write_threads)

    # ---------------------------------------------------------------- contract and health
    @app.get("/openapi.yaml")
    async def openapi_document() -> Response:
        return Response(OPENAPI_PATH.read_text(encoding="utf-8"), media_type="application/yaml")

    @app.get("/health")
    async def health() -> dict:
        return await call(backend.check_health)

    # ---------------------------------------------------------------- writes (eMAXExact XML in, JSON out)
    @app.post("/sales-orders", status_code=201)
    async def post_sales_order(request: Request) -> dict:
        return await write(backend.create_sales_order, await xml_body(request), "CU")

    @app.post("/credit-memos", status_code=201)
    async def post_credit_memo(request: Request) -> dict:
        return await write(backend.create_sales_order, await xml_body(request), "CR")

    @app.get("/credit-memos")
    async def find_credit_memos(custpo: Annotated[str | None, Query(min_length=1, max_length=25)] = None,
                                appinv: Annotated[str | None, Query(min_length=1, max_length=8)] = None) -> dict:
        if custpo is None and appinv is None:
            raise TransactionRejected([FieldError("custpo", "bad_parameter", "give custpo, appinv or both")])
        return {"items": await call(backend.credit_memos, custpo=custpo, appinv=appinv)}

    @app.get("/credit-memos/{ordnum}")
    async def get_credit_memo(ordnum: str) -> Response:
        memos = await call(backend.credit_memos, ordnum=ordnum)
        if not memos:
            return JSONResponse({"detail": f"credit memo {ordnum} not found"}, status_code=404)
        return JSONResponse(memos[0])

    @app.post("/customers", status_code=201)
    async def post_customer(request: Request) -> dict:
        return await write(backend.create_customer, await xml_body(request))

    @app.post("/cancellations")
    async def post_cancellation(request: Request) -> dict:
        return await write(backend.cancel_sales_order, await xml_body(request))

    # ---------------------------------------------------------------- reads
    @app.get("/parts")
    async def get_parts(cursor: str | None = None, limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_parts, cursor, limit)

    @app.get("/stock")
    async def get_stock(cursor: str | None = None, limit: Limit = reads.DEFAULT_LIMIT,
                        part: Annotated[list[str] | None, Query()] = None,
                        stockroom: Annotated[list[str] | None, Query()] = None) -> dict:
        return await call(backend.list_stock, cursor, limit, part, stockroom)

    @app.get("/customers")
    async def get_customers(cursor: str | None = None, limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_customers, cursor, limit)

    @app.get("/customers/{custid}")
    async def get_customer(custid: str) -> Response:
        customer = await call(backend.get_customer, custid)
        if customer is None:
            return JSONResponse({"detail": f"customer {custid} not found"}, status_code=404)
        return JSONResponse(customer)

    @app.get("/sales-orders")
    async def find_sales_orders(custpo: Annotated[str, Query(min_length=1, max_length=25)]) -> dict:
        return {"items": await call(backend.find_sales_orders, custpo)}

    # Declared before /sales-orders/{ordnum}, which would otherwise take "status" for an ORDNUM.
    @app.get("/sales-orders/status")
    async def get_order_statuses(ordnum: Annotated[list[str], Query()]) -> dict:
        if len(ordnum) > fulfilment_reads.MAX_ORDNUMS_PER_STATUS_READ:
            raise TransactionRejected([FieldError("ordnum", "bad_parameter", f"{len(ordnum)} ORDNUMs; at most "
                                                  f"{fulfilment_reads.MAX_ORDNUMS_PER_STATUS_READ} per request")])
        return await call(backend.order_statuses, ordnum)

    @app.get("/sales-orders/{ordnum}")
    async def get_sales_order(ordnum: str) -> Response:
        order = await call(backend.get_sales_order, ordnum)
        if order is None:
            return JSONResponse({"detail": f"order {ordnum} not found"}, status_code=404)
        return JSONResponse(order)

    @app.get("/shipments")
    async def get_shipments(since: Annotated[int, Query(ge=0)] = 0, limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_shipments, since, limit)

    @app.get("/shipments/tracking-changes")
    async def get_tracking_changes(since: Annotated[int, Query(ge=0)] = 0,
                                   limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_tracking_changes, since, limit)

    @app.get("/invoices")
    async def get_invoices(since: str = "", limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_invoices, since, limit)

    @app.get("/invoices/{invce}")
    async def get_invoice(invce: str) -> Response:
        invoice = await call(backend.get_invoice, invce)
        if invoice is None:
            return JSONResponse({"detail": f"invoice {invce} not found"}, status_code=404)
        return JSONResponse(invoice)

    @app.get("/payments")
    async def get_payments(since: Annotated[int, Query(ge=0)] = 0, limit: Limit = reads.DEFAULT_LIMIT) -> dict:
        return await call(backend.list_payments, since, limit)

    @app.get("/price-lists/{code}/prices")
    async def get_price_list_prices(code: str, cursor: str | None = None,
                                    limit: Limit = reads.DEFAULT_LIMIT) -> Response:
        page = await call(backend.list_prices, code, cursor, limit)
        if page is None:
            return JSONResponse({"detail": f"price list {code.strip()} not found"}, status_code=404)
        return JSONResponse(page)

    @app.get("/code-tables")
    async def get_code_tables() -> dict:
        return await call(backend.code_tables)

    return app

