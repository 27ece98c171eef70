"""``fulfilment_mix``: a realistic mix of what MAX does after orders are entered, for the demo and the fulfilment tests.

The seed holds no sales orders (the demo's orders reach MAX through the export), so the mix is applied to orders
that exist: the given ``ORDNUM`` s, or every open ``CU`` order with nothing shipped yet, in ORDNUM order. By position,
repeating every five orders:

0. **partial**: the first stock line half shipped (all of it when only 1 is due), the other stock lines but the last
   shipped in full, the last and the freight rows left due; two packages, two tracking numbers;
1. **shipped and invoiced**: everything due shipped (one tracking number), then invoiced: the order closes;
2. **open**: nothing done;
3. **partial, invoiced**: as 0, then invoiced: the invoice holds the shipped rows only, the order stays open;
4. **closed**: the first of these is short-closed after its first stock line shipped (status 4); later ones are
   shipped in full with two tracking numbers, not invoiced.

Carrier and tracking numbers follow the order's ship via (UPS, FedEx, USPS formats). Everything goes through the
same operations as ``/_sandbox/ship``, ``/invoice`` and ``/close``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select

from max_gateway.sql import tables as t
from sandboxes.exactmax.operations import close_order, invoice_order, ship_order

CARRIERS = {"UP": "UPS", "U2": "UPS", "FX": "FedEx", "US": "USPS"}


def tracking_numbers(ship_via: str, ordnum: str, count: int, salt: int = 0) -> tuple[str, list[dict]]:
    """(carrier, ``count`` tracking numbers in the carrier's format), deterministic per order."""
    carrier = CARRIERS.get(ship_via, "UPS")
    numbers = []
    for n in range(1, count + 1):
        serial = f"{int(ordnum):08d}{salt:01d}{n:01d}"
        numbers.append({"UPS": f"1Z999AA1{serial}", "FedEx": f"78{serial}", "USPS": f"940011{serial}{serial[:6]}"}[
            carrier])
    return carrier, [{"carrier": carrier, "tracking_number": number} for number in numbers]


def _candidates(engine: Engine, ordnums: list[str] | None) -> list[tuple[str, str]]:
    sm, sd = t.so_master, t.so_detail
    with engine.connect() as conn:
        query = select(sm.c.ORDNUM_27, sm.c.SHPVIA_27).where(sm.c.STATUS_27 == "3", sm.c.STYPE_27 == "CU")
        if ordnums is not None:
            return [(r.ORDNUM_27, r.SHPVIA_27) for r in conn.execute(query.where(sm.c.ORDNUM_27.in_(ordnums))
                                                                     .order_by(sm.c.ORDNUM_27))]
        shipped = select(sd.c.ORDNUM_28).where(sd.c.SHPQTY_28 > 0)
        return [(r.ORDNUM_27, r.SHPVIA_27) for r in conn.execute(query.where(sm.c.ORDNUM_27.not_in(shipped))
                                                                 .order_by(sm.c.ORDNUM_27))]


def _stock_lines(engine: Engine, ordnum: str) -> list[tuple[str, str, Decimal]]:
    sd, pm = t.so_detail, t.part_master
    with engine.connect() as conn:
        return [(r.LINNUM_28, r.DELNUM_28, Decimal(r.DUEQTY_28)) for r in conn.execute(
            select(sd.c.LINNUM_28, sd.c.DELNUM_28, sd.c.DUEQTY_28).join(pm, pm.c.PRTNUM_01 == sd.c.PRTNUM_28)
            .where(sd.c.ORDNUM_28 == ordnum, sd.c.STATUS_28 == "3", sd.c.DUEQTY_28 > 0, pm.c.TYPE_01 != "N")
            .order_by(sd.c.LINNUM_28, sd.c.DELNUM_28))]


def _partial(engine: Engine, ordnum: str, ship_via: str, ship_date: date | None) -> dict:
    stock = _stock_lines(engine, ordnum)
    if not stock:
        return {"ORDNUM": ordnum, "did": "nothing (no stock line due)"}
    keep = stock[:-1] if len(stock) > 1 else stock
    lines = [{"LINNUM": linnum, "DELNUM": delnum, "quantity": format((due // 2 or due) if index == 0 else due, "f")}
             for index, (linnum, delnum, due) in enumerate(keep)]
    carrier, packages = tracking_numbers(ship_via, ordnum, 2)
    shipment = ship_order(engine, ordnum, lines, carrier=carrier, tracking=packages, ship_date=ship_date)
    return {"ORDNUM": ordnum, "did": "partial", "shipment_id": shipment["shipment_id"], "lines": shipment["lines"],
            "tracking": shipment["tracking"]}


def fulfilment_mix(engine: Engine, ordnums: list[str] | None = None, ship_date: date | None = None,
                   invoice_date: date | None = None) -> list[dict]:
    """Apply the mix (module docstring); returns what was done to each order, in order."""
    done: list[dict] = []
    closed_one = False
    for position, (ordnum, ship_via) in enumerate(_candidates(engine, ordnums)):
        kind = position % 5
        if kind in (0, 3):
            step = _partial(engine, ordnum, ship_via, ship_date)
            if kind == 3 and step.get("shipment_id"):
                step |= {"did": "partial, invoiced", "INVCE": invoice_order(engine, ordnum, invoice_date)["INVCE"]}
        elif kind == 1:
            carrier, packages = tracking_numbers(ship_via, ordnum, 1)
            shipment = ship_order(engine, ordnum, None, carrier=carrier, tracking=packages, ship_date=ship_date)
            invoice = invoice_order(engine, ordnum, invoice_date)
            step = {"ORDNUM": ordnum, "did": "shipped, invoiced", "shipment_id": shipment["shipment_id"],
                    "tracking": shipment["tracking"], "INVCE": invoice["INVCE"], "order_status": invoice["order_status"]}
        elif kind == 2:
            step = {"ORDNUM": ordnum, "did": "open"}
        elif not closed_one:
            closed_one = True
            stock = _stock_lines(engine, ordnum)
            carrier, packages = tracking_numbers(ship_via, ordnum, 1)
            if stock:
                ship_order(engine, ordnum, [{"LINNUM": stock[0][0], "DELNUM": stock[0][1], "quantity": stock[0][2]}],
                           carrier=carrier, tracking=packages, ship_date=ship_date)
            close_order(engine, ordnum)
            step = {"ORDNUM": ordnum, "did": "closed"}
        else:
            carrier, packages = tracking_numbers(ship_via, ordnum, 2)
            shipment = ship_order(engine, ordnum, None, carrier=carrier, tracking=packages, ship_date=ship_date)
            step = {"ORDNUM": ordnum, "did": "shipped", "shipment_id": shipment["shipment_id"],
                    "tracking": shipment["tracking"]}
        done.append(step)
    return done
