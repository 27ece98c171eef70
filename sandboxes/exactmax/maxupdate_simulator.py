"""A stand-in for MAXUpdate's COM object, for the ``max`` backend's tests and sandbox: it applies each call to a
MAX-shaped (padded) database the way MAX would, with MAX's own write access, and answers as the COM object does.

It exposes the vendor's method names and return conventions (MAXUpdate manual §4): ``AddSOXML`` answers the new
ORDNUM (blank when refused), the others 1 or 0, ``ProcessTransXML`` its error text in the last by-reference
parameter. By-reference parameters come back as a tuple, first the return value, as pywin32's late binding gives
them. Refusals carry MAXUpdate's own message texts where the manual gives one (§18, e.g. MAXTRAN2 32786
``Error: Invalid Part Number - %s.``).

``plan(method, action)`` scripts the next call of ``method``: ``"lose_answer"`` applies it, then raises as a COM
error would (the caller cannot know it was applied); ``"raise"`` raises before applying anything;
``"refuse:<text>"`` refuses it with ``<text>``. Every call is recorded in ``calls``.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from decimal import Decimal

from defusedxml import ElementTree as SafeElementTree
from sqlalchemy import Connection, Engine, delete, select, update

from max_gateway.reference.credit_memos import move_part_stock
from max_gateway.reference.database import NumberRangeExhausted, take_next_number
from max_gateway.reference.writes import header_row
from max_gateway.sql import tables as t
from max_gateway.sql.write_checks import (
    UNKNOWN_CUSTOMER,
    UNKNOWN_PART,
    UNKNOWN_STOCKROOM,
    CodeTables,
    check_order_lines,
)
from max_gateway.xml_rules import SO_MASTER_FIELDS, FieldError, TransactionRejected, parse_record
from shopify_max.clock import utcnow


class SimulatedComError(Exception):
    """What a COM exception (``pywintypes.com_error``) looks like to the caller: the call's outcome is unknown."""


def _maxupdate_text(error: FieldError) -> str:
    """MAXUpdate's message for a refusal, where the manual gives one; else the reference rule's own message."""
    if error.rule == UNKNOWN_PART:
        return f"Error: Invalid Part Number - {error.message.split(chr(39))[1]}."  # MAXTRAN2 32786
    if error.rule == UNKNOWN_STOCKROOM:
        return f"Error: Invalid Stockroom - {error.message.split(chr(39))[1]}."  # MAXTRAN2 32787
    return f"Error: {error.message}"


class SimulatedMaxUpdate:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls: list[tuple[str, tuple]] = []
        self.initialized = False
        self.last_error = ""
        self._plans: dict[str, deque[str]] = defaultdict(deque)
        self._lock = threading.Lock()

    def plan(self, method: str, action: str) -> None:
        self._plans[method].append(action)

    # ------------------------------------------------------------ session
    def SetVisualErrorReportingXML(self, error_reporting: int) -> int:  # noqa: N802 - the vendor's name
        self.calls.append(("SetVisualErrorReportingXML", (error_reporting,)))
        return 1

    def Initialize(self, connection_string: str, company: str, license_path: str, log_path: str,  # noqa: N802
                   error_report: bool) -> None:
        self.calls.append(("Initialize", (company, license_path, log_path, error_report)))  # never the secret
        self.initialized = True

    def GetErrorStringXML(self) -> str:  # noqa: N802
        return self.last_error

    # ------------------------------------------------------------ calls
    def AddSOXML(self, xml: str, suppress: bool) -> tuple:  # noqa: N802
        return (self._apply("AddSOXML", self._add_header, xml, refused=""), xml, suppress)

    def AddSOLineItemXML(self, xml: str, suppress: bool) -> tuple:  # noqa: N802
        return (self._apply("AddSOLineItemXML", self._add_line, xml), xml, suppress)

    def ChangeSalesOrderXML(self, xml: str) -> int:  # noqa: N802
        return self._apply("ChangeSalesOrderXML", self._change_header, xml)

    def ChangeSalesOrderLineItemXML(self, xml: str, old_xml: str) -> int:  # noqa: N802
        return self._apply("ChangeSalesOrderLineItemXML", self._change_line, xml, old_xml)

    def DeleteSalesOrderXML(self, ordnum: str) -> int:  # noqa: N802
        return self._apply("DeleteSalesOrderXML", self._delete_order, ordnum)

    def ProcessTransXML(self, xml: str, error: str) -> tuple:  # noqa: N802
        result = self._apply("ProcessTransXML", self._transaction, xml)
        return (result, xml, "" if result == 1 else self.last_error)

    # ------------------------------------------------------------ applying
    def _apply(self, method: str, apply, *args, refused: object = 0) -> object:  # noqa: ANN001
        with self._lock:
            self.calls.append((method, args))
            if not self.initialized:
                raise SimulatedComError(f"{method} before Initialize")
            action = self._plans[method].popleft() if self._plans[method] else ""
            if action == "raise":
                raise SimulatedComError(f"{method}: the RPC server is unavailable")
            if action.startswith("refuse:"):
                self.last_error = action.removeprefix("refuse:")
                return refused
            try:
                with self.engine.begin() as conn:
                    result = apply(conn, *args)
            except TransactionRejected as exc:
                self.last_error = "\n".join(_maxupdate_text(error) for error in exc.errors)
                return refused
            self.last_error = ""
            if action == "lose_answer":
                raise SimulatedComError(f"{method}: the remote procedure call failed (answer lost after applying)")
            return result

    def _add_header(self, conn: Connection, xml: str) -> str:
        errors: list[FieldError] = []
        record = SafeElementTree.fromstring(xml).find("SO_Master_Table/SO_Master")
        h = parse_record(record, SO_MASTER_FIELDS, errors).values
        CodeTables.load(conn).check(h, errors)
        customer = conn.execute(select(t.customer_master).where(
            t.customer_master.c.CUSTID_23 == h.get("CUSTID_27", ""))).first()
        if customer is None:
            errors.append(FieldError("CUSTID_27", UNKNOWN_CUSTOMER, f"customer {h.get('CUSTID_27')!r} is unknown"))
        ship_to = None
        if customer is not None and "SHPCDE_27" in h:
            ship_to = conn.execute(select(t.shipping_master).where(
                t.shipping_master.c.CUSTID_24 == h["CUSTID_27"], t.shipping_master.c.SHPCDE_24 == h["SHPCDE_27"])).first()
        if errors:
            raise TransactionRejected(errors)
        try:
            ordnum = take_next_number(conn, "ORDNUM")  # MAX's own next-number counter
        except NumberRangeExhausted as exc:
            raise TransactionRejected([FieldError("ORDNUM_27", "range_exhausted", str(exc))]) from exc
        conn.execute(t.so_master.insert().values(**header_row(h, ordnum, h.get("STYPE_27", "CU"), customer, ship_to)))
        return ordnum

    def _add_line(self, conn: Connection, xml: str) -> int:
        element = SafeElementTree.fromstring(xml).find("SO_Detail_Table/SO_Detail")
        ordnum = (element.findtext("ORDNUM_28") or "").strip()
        order = conn.execute(select(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum)).first()
        if order is None:
            raise TransactionRejected([FieldError("ORDNUM_28", "unknown_order", f"order {ordnum!r} is unknown")])
        element.remove(element.find("ORDNUM_28"))
        errors: list[FieldError] = []
        header = {"CUSTID_27": order.CUSTID_27, "ORDDTE_27": order.ORDDTE_27, "TAXABL_27": order.TAXABL_27}
        lines = check_order_lines(conn, [element], CodeTables.load(conn), errors, header, order.STYPE_27)
        if errors:
            raise TransactionRejected(errors)
        row, notes, _restock = lines[0]
        row["ORDNUM_28"] = ordnum
        conn.execute(t.so_detail.insert().values(**row))
        for seq, note in enumerate(notes, start=1):
            conn.execute(t.so_note.insert().values(ORDNUM_30=ordnum, LINNUM_30=row["LINNUM_28"],
                                                   DELNUM_30=row["DELNUM_28"], SEQNUM_30=seq, NOTE_30=note))
        return 1

    def _change_header(self, conn: Connection, xml: str) -> int:
        record = SafeElementTree.fromstring(xml).find("SO_Master_Table/SO_Master")
        ordnum = (record.findtext("ORDNUM_27") or "").strip()
        changed = conn.execute(update(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum).values(
            STATUS_27=record.findtext("STATUS_27"), REASON_27=record.findtext("REASON_27") or "")).rowcount
        if not changed:
            raise TransactionRejected([FieldError("ORDNUM_27", "unknown_order", f"The order '{ordnum}' does not exist.")])
        return 1

    def _change_line(self, conn: Connection, xml: str, old_xml: str) -> int:
        new = SafeElementTree.fromstring(xml).find("SO_Detail_Table/SO_Detail")
        old = SafeElementTree.fromstring(old_xml).find("SO_Detail_Table/SO_Detail")
        sd = t.so_detail
        key = [sd.c[f"{name}_28"] == (new.findtext(f"{name}_28") or "").strip() for name in ("ORDNUM", "LINNUM", "DELNUM")]
        changed = conn.execute(update(sd).where(*key, sd.c.STATUS_28 == old.findtext("STATUS_28"))
                               .values(STATUS_28=new.findtext("STATUS_28"))).rowcount
        if not changed:  # the old line does not match the database (MAXUpdate compares it)
            raise TransactionRejected([FieldError("SO_Detail", "not_open", "the line does not match the old line")])
        return 1

    def _delete_order(self, conn: Connection, ordnum: str) -> int:
        conn.execute(delete(t.so_note).where(t.so_note.c.ORDNUM_30 == ordnum))
        conn.execute(delete(t.so_detail).where(t.so_detail.c.ORDNUM_28 == ordnum))
        if not conn.execute(delete(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum)).rowcount:
            raise TransactionRejected([FieldError("ORDNUM_27", "unknown_order", f"The order '{ordnum}' does not exist.")])
        return 1

    def _transaction(self, conn: Connection, xml: str) -> int:
        """An unplanned receipt (R/U): a ``Transaction_History`` R row with the reference, and the stock."""
        record = SafeElementTree.fromstring(xml).find("MAX_Transaction_Table/MAX_Transaction")
        value = {child.tag: (child.text or "").strip() for child in record}
        if (value.get("TYPE_39"), value.get("SUBTYPE_39")) != ("R", "U"):
            raise TransactionRejected([FieldError("TYPE_39", "bad_code", "The subtype is not valid for the "
                                                  "transaction type.")])
        part = value.get("PRTNUM_39", "")
        if conn.execute(select(t.part_master.c.PRTNUM_01).where(t.part_master.c.PRTNUM_01 == part)).first() is None:
            raise TransactionRejected([FieldError("PRTNUM_39", UNKNOWN_PART, f"part '{part}' is unknown")])
        quantity = Decimal(value.get("TNXQTY_39", "0"))
        conn.execute(t.transaction_history.insert().values(
            TNXCDE_15="R", TNXDTE_15=utcnow().date(), PRTNUM_15=part, STK_15=value.get("RCVSTK_39", ""),
            TNXQTY_15=quantity, REFDES_15=value.get("REFDSC_39", "")))
        move_part_stock(conn, part, value.get("RCVSTK_39", ""), quantity)
        return 1
