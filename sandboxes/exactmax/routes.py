"""The gateway's sandbox-only operations (``/_sandbox``): ship, re-track, invoice, pay, move stock, close, the
fulfilment mix, the fault knobs and the write log.

A real MAX does these in its own screens; the demo, tests and benchmarks need them over HTTP. They are documented
in the contract (``max_gateway/openapi.yaml``) as sandbox-only, and only the sandbox build mounts them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from sandboxes.exactmax import operations, scenarios
from sandboxes.exactmax.faults import FaultSettings
from sandboxes.exactmax.write_log import WriteLog


class ShipLine(BaseModel):
    LINNUM: str
    DELNUM: str = "01"
    quantity: Decimal = Field(gt=0)


class TrackingNumber(BaseModel):
    tracking_number: str
    carrier: str = ""  # blank: the request's carrier


class ShipRequest(BaseModel):
    ORDNUM: str
    lines: list[ShipLine] | None = None  # None: ship everything still due
    carrier: str = ""
    tracking_number: str = ""
    tracking: list[TrackingNumber] = []  # more packages: every tracking number after ``tracking_number``
    SHPVIA: str | None = None
    ship_date: date | None = None


class InvoiceRequest(BaseModel):
    ORDNUM: str
    invoice_date: date | None = None


class StockRequest(BaseModel):
    PRTNUM: str
    STK: str
    quantity: Decimal
    kind: str = Field(pattern="^[RI]$")  # R receive, I issue


class CloseRequest(BaseModel):
    ORDNUM: str


class MixRequest(BaseModel):
    ORDNUMs: list[str] | None = None  # None: every open CU order with nothing shipped
    ship_date: date | None = None
    invoice_date: date | None = None


class RetrackRequest(BaseModel):
    shipment_id: str
    tracking: list[TrackingNumber]  # replaces every tracking number of the shipment, in order


class PayRequest(BaseModel):
    invoice: str
    amount: Decimal | None = None  # None: all that is still unpaid
    paid_date: date | None = None


class FaultRequest(BaseModel):
    latency_ms: int = Field(default=0, ge=0)
    rules: list[dict] = []


def sandbox_router(engine: Engine, faults: FaultSettings, writes: WriteLog | None = None) -> APIRouter:
    """The ``/_sandbox`` routes; ``writes`` is the log ``WriteLogMiddleware`` fills (a fresh, unfed one if None)."""
    router = APIRouter()
    writes = writes if writes is not None else WriteLog()

    @router.post("/_sandbox/ship")
    async def sandbox_ship(body: ShipRequest) -> dict:
        lines = None if body.lines is None else [line.model_dump() for line in body.lines]
        return await run_in_threadpool(operations.ship_order, engine, body.ORDNUM, lines, body.carrier,
                                       body.tracking_number, body.SHPVIA, body.ship_date,
                                       [item.model_dump() for item in body.tracking])

    @router.post("/_sandbox/retrack")
    async def sandbox_retrack(body: RetrackRequest) -> dict:
        return await run_in_threadpool(operations.retrack_shipment, engine, body.shipment_id,
                                       [item.model_dump() for item in body.tracking])

    @router.post("/_sandbox/invoice")
    async def sandbox_invoice(body: InvoiceRequest) -> dict:
        return await run_in_threadpool(operations.invoice_order, engine, body.ORDNUM, body.invoice_date)

    @router.post("/_sandbox/pay")
    async def sandbox_pay(body: PayRequest) -> dict:
        return await run_in_threadpool(operations.pay_invoice, engine, body.invoice, body.amount, body.paid_date)

    @router.post("/_sandbox/stock")
    async def sandbox_stock(body: StockRequest) -> dict:
        return await run_in_threadpool(operations.move_stock, engine, body.PRTNUM, body.STK, body.quantity, body.kind)

    @router.post("/_sandbox/close")
    async def sandbox_close(body: CloseRequest) -> dict:
        return await run_in_threadpool(operations.close_order, engine, body.ORDNUM)

    @router.post("/_sandbox/fulfilment-mix")
    async def sandbox_fulfilment_mix(body: MixRequest) -> dict:
        done = await run_in_threadpool(scenarios.fulfilment_mix, engine, body.ORDNUMs, body.ship_date,
                                       body.invoice_date)
        return {"orders": done}

    @router.get("/_sandbox/faults")
    async def sandbox_get_faults() -> dict:
        return faults.as_dict()

    @router.put("/_sandbox/faults")
    async def sandbox_put_faults(body: FaultRequest) -> Response:
        try:
            faults.configure(body.latency_ms, body.rules)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"errors": [{"element": "rules", "line": None, "rule": "bad_parameter",
                                             "message": str(exc)}]}, status_code=422)
        return JSONResponse(faults.as_dict())

    @router.get("/_sandbox/writes")
    async def sandbox_get_writes() -> dict:
        return writes.as_dict()

    @router.delete("/_sandbox/writes")
    async def sandbox_reset_writes() -> dict:
        writes.reset()
        return writes.as_dict()

    return router
