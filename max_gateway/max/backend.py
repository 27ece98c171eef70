"""``MaxBackend``: a real Exact MAX behind the gateway. Reads run the shared SQL (``max_gateway.sql``) on the MAX
database through a read-only login; writes go through MAXUpdate (``maxupdate.py``), which assigns the numbers.

MAXUpdate takes one record per call, so one contract write is several calls (``documents.py``): a sales order or
credit memo is ``AddSOXML`` (the header; MAX assigns ORDNUM) then ``AddSOLineItemXML`` per line, then, for a
credit memo, one restock receipt (``ProcessTransXML``) per line sent with ``RESTCK_28`` Y. A cancellation is
``ChangeSalesOrderLineItemXML`` per open line, then ``ChangeSalesOrderXML``.

Exactly once, as the contract promises (``openapi.yaml``: one order per CUSTPO; a lost answer is settled by
looking the key up):
- **One writer.** Every write holds the backend's write lock from its first lookup until MAXUpdate's last call
  has ended: answered, raised, or its host process is dead. A second gateway on the same MAX cannot write: the
  writer also holds a database-wide single-writer lock (:class:`WriterGuard`).
- **Look before writing.** Under the lock, an order whose CUSTPO MAX already holds is not added again: 409 naming
  its ORDNUM, as the reference backend answers. When that order is this gateway's unfinished write of this same
  document (its journal, ``journal.py``, says so, and MAX's lines are a subset of the document's: the gateway died
  between two calls), the missing lines and receipts are added first; any other order is never touched.
- **Settle every unclear outcome by lookup.** When a call's answer is lost (a COM exception, a crash, a timeout
  after which the host is killed), the backend looks its record up (the order by CUSTPO, the line by its key, the
  receipt by its reference, the status): found is success; not found, once the call has ended, means that call
  wrote nothing.
- **A refused line undoes its order.** When MAXUpdate refuses a line, the header it just added is deleted
  (``DeleteSalesOrderXML``) and the refusal is answered (422): nothing stays in MAX, as with the reference backend.
- **Numbers come from MAX**, so every order needs a CUSTPO (its key for the lookups).
- **Customers are not written.** MAXUpdate has no function that adds a customer (manual §4.3): ``POST /customers``
  is refused with rule ``not_supported``; accounts are created in MAX.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Connection, Engine, select, text

from max_gateway.backend import BackendUnavailable, GatewayBackend
from max_gateway.max.documents import (
    restock_receipt_document,
    sales_order_documents,
    sales_order_line_document,
    status_change_documents,
)
from max_gateway.max.journal import WriteJournal, document_digest
from max_gateway.max.maxupdate import (
    MaxUpdateOutcomeUnknown,
    MaxUpdateRefused,
    MaxUpdateUnavailable,
    MaxUpdateWriter,
)
from max_gateway.max.maxupdate_errors import rejection_from_maxupdate
from max_gateway.sql import fulfilment_reads, reads
from max_gateway.sql import tables as t
from max_gateway.sql.write_checks import (
    MISSING_REQUIRED,
    CheckedOrder,
    DuplicateOrder,
    check_cancellation,
    check_customer,
    check_sales_order,
    find_order_by_custpo,
    restock_reference,
)
from max_gateway.xml_rules import FieldError, TransactionRejected

log = logging.getLogger(__name__)

NOT_SUPPORTED = "not_supported"


class WriterGuard:
    """A database-wide lock that only one gateway's writer holds: ``sp_getapplock`` (session owner) on SQL Server,
    ``pg_try_advisory_lock`` on PostgreSQL. Held on a connection of its own for as long as the backend lives;
    neither needs more than the read-only login (``sp_getapplock`` is granted to ``public``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # per MAX database (SQL Server's app locks already are); on PostgreSQL also per read schema, so each
        # stand-in MAX of a test database has its own writer
        schema = (engine.get_execution_options().get("schema_translate_map") or {}).get(None) or ""
        self.resource = f"max_gateway/writer/{schema}"
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._connection is not None:
                return True
            connection = self.engine.connect()
            dialect = connection.dialect.name
            if dialect == "mssql":
                held = connection.execute(text(
                    "DECLARE @result int; EXEC @result = sp_getapplock @Resource = :resource, "
                    "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @result"),
                    {"resource": self.resource}).scalar() >= 0
            elif dialect == "postgresql":
                held = connection.execute(text("SELECT pg_try_advisory_lock(hashtextextended(:resource, 0))"),
                                          {"resource": self.resource}).scalar()
            else:
                held = True  # SQLite: a single file, a single process
            connection.commit()
            if not held:
                connection.close()
                return False
            self._connection = connection
            return True

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.invalidate()  # the session ends, and its lock with it
                self._connection = None


class MaxBackend(GatewayBackend):
    name = "max"
    restock_from_extension = False  # the login cannot write X_Credit_Restock: RESTCK comes from the receipts

    def __init__(self, read_engine: Engine, writer: MaxUpdateWriter, journal: WriteJournal, *, max_user: str = "",
                 guard: WriterGuard | None = None, settle_seconds: float = 2.0) -> None:
        super().__init__(read_engine)
        self.writer = writer
        self.journal = journal
        self.settle_seconds = settle_seconds
        self.max_user = max_user  # USERNAME_39 on the receipts it posts
        self.guard = guard if guard is not None else WriterGuard(read_engine)
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------ health
    def writer_status(self) -> str:
        if not self.guard.acquire():
            return "another gateway holds the MAX writer lock: only one gateway may write to a MAX database"
        return self.writer.status()

    def check_health(self) -> dict:
        return super().check_health() | {"writer": self.writer_status()}

    def close(self) -> None:
        self.writer.close()
        self.journal.close()
        self.guard.release()
        super().close()

    # ------------------------------------------------------------ sales orders and credit memos
    def create_sales_order(self, xml: bytes, stype: str) -> dict:
        order = self.read(lambda conn: check_sales_order(conn, xml, stype))
        custpo = order.header.get("CUSTPO_27")
        if not custpo:
            raise TransactionRejected([FieldError("CUSTPO_27", MISSING_REQUIRED, "the max backend finds the order "
                                                  "MAX numbered by its CUSTPO: send one")])
        header_document, lines = sales_order_documents(xml, stype)
        digest = document_digest(xml)
        with self._writing():
            existing = self.read(find_order_by_custpo, custpo, stype)
            if existing is not None:
                if self._unfinished_here(existing, order, digest):
                    self._add_missing_lines(existing, lines, order)
                    self.journal.finish(custpo, stype)
                raise DuplicateOrder(custpo, stype, existing)
            self.journal.start(custpo, stype, digest)  # on disk before MAXUpdate sees the header
            ordnum = self._add_header(header_document, custpo, stype)
            self.journal.numbered(custpo, stype, ordnum)
            self._add_missing_lines(ordnum, lines, order)
            self.journal.finish(custpo, stype)
        return self._order_answer(ordnum, stype, custpo, [(linnum, delnum) for linnum, delnum, _ in lines])

    def _add_header(self, document: str, custpo: str, stype: str) -> str:
        def find() -> str | None:
            return self.read(find_order_by_custpo, custpo, stype)

        what = f"{stype} order CUSTPO {custpo!r}"
        try:
            answered = self.writer.add_sales_order(document)
        except MaxUpdateRefused as refused:
            raise rejection_from_maxupdate(refused.error_text, method=refused.method) from refused
        except MaxUpdateUnavailable as exc:
            raise BackendUnavailable(f"MAXUpdate is unavailable; {what} was not sent: {exc}") from exc
        except MaxUpdateOutcomeUnknown as exc:
            found = find() if self._shows(lambda: find() is not None) else None
            if found is None:
                raise BackendUnavailable(f"MAXUpdate's answer for {what} was lost ({exc}) and MAX holds no such "
                                         "order: nothing was written; send it again") from exc
            log.warning("MAXUpdate's answer for %s was lost (%s); MAX holds it as %s", what, exc, found)
            return found
        found = find()
        if found is None or found != answered.strip():
            raise BackendUnavailable(f"MAXUpdate answered ORDNUM {answered!r} for {what}, but MAX holds "
                                     f"{found!r} for that CUSTPO")
        return found

    def _add_missing_lines(self, ordnum: str, lines: list, order: CheckedOrder) -> None:
        """Add every line MAX does not hold yet, then the credit memo's missing receipts. A refused line deletes
        the order (nothing of it stays) and answers the refusal."""
        present = self._line_keys(ordnum)
        for linnum, delnum, element in lines:
            if (linnum, delnum) in present:
                continue
            document = sales_order_line_document(element, ordnum)
            try:
                self._settled(lambda d=document: self.writer.add_sales_order_line(d),
                              lambda key=(linnum, delnum): key in self._line_keys(ordnum),
                              f"line {linnum}/{delnum} of order {ordnum}")
            except MaxUpdateRefused as refused:
                self._delete_order(ordnum, f"line {linnum}/{delnum} was refused")
                self.journal.forget(order.header["CUSTPO_27"], order.stype)
                raise rejection_from_maxupdate(refused.error_text, method=refused.method, line=linnum) from refused
        self._post_restock_receipts(ordnum, order)

    def _delete_order(self, ordnum: str, why: str) -> None:
        try:
            self._settled(lambda: self.writer.delete_sales_order(ordnum),
                          lambda: self.read(lambda conn: reads.get_orders(conn, ordnum=ordnum)) == [],
                          f"deletion of order {ordnum}")
        except (MaxUpdateRefused, BackendUnavailable) as exc:
            raise BackendUnavailable(f"order {ordnum} is half written ({why}) and could not be deleted: {exc}. "
                                     "Delete it in MAX, or fix the cause and send the order again") from exc
        log.warning("order %s deleted: %s", ordnum, why)

    def _post_restock_receipts(self, ordnum: str, order: CheckedOrder) -> None:
        """One receipt per credit line sent with ``RESTCK_28`` Y on a stocked part, unless MAX already has it."""
        wanted = [row for row, _notes, restock in order.lines if restock == "Y"]
        if order.stype != "CR" or not wanted:
            return
        stocked, factors = self.read(lambda conn: _stocked_parts_and_factors(conn, wanted))
        for row in wanted:
            if row["PRTNUM_28"] not in stocked:
                continue  # a non-stock part (TYPE_01 N) never moves stock
            reference = restock_reference(ordnum, row["LINNUM_28"], row["DELNUM_28"])
            if self._receipt_posted(reference):
                continue
            document = restock_receipt_document(
                ordnum=ordnum, linnum=row["LINNUM_28"], delnum=row["DELNUM_28"], prtnum=row["PRTNUM_28"],
                stock_quantity=Decimal(row["ORGQTY_28"]) * factors[row["PRTNUM_28"], row["SLSUOM_28"]],
                stk=row["STK_28"], max_user=self.max_user)
            try:
                self._settled(lambda d=document: self.writer.process_transaction(d),
                              lambda r=reference: self._receipt_posted(r), f"restock receipt {reference}")
            except MaxUpdateRefused as refused:
                rejection = rejection_from_maxupdate(refused.error_text, method=refused.method,
                                                     line=row["LINNUM_28"])
                raise BackendUnavailable(f"credit memo {ordnum} is written, but MAXUpdate refused the restock "
                                         f"receipt {reference}: {rejection}. Sending the memo again posts only the "
                                         "receipts still missing") from refused

    def _receipt_posted(self, reference: str) -> bool:
        th = t.transaction_history
        return self.read(lambda conn: conn.execute(select(th.c.TNXSEQ_15).where(
            th.c.TNXCDE_15 == "R", th.c.REFDES_15 == reference).limit(1)).first()) is not None

    def _line_keys(self, ordnum: str) -> set[tuple[str, str]]:
        sd = t.so_detail
        return {(r.LINNUM_28, r.DELNUM_28) for r in self.read(lambda conn: conn.execute(
            select(sd.c.LINNUM_28, sd.c.DELNUM_28).where(sd.c.ORDNUM_28 == ordnum)).all())}

    def _unfinished_here(self, ordnum: str, order: CheckedOrder, digest: str) -> bool:
        """Whether MAX's order ``ordnum`` is this gateway's unfinished write of this very document: the journal says
        so (same CUSTPO, same digest, that ORDNUM or none yet), and MAX agrees (same customer, every line it holds
        one of the document's, same part and quantity)."""
        entry = self.journal.get(order.header["CUSTPO_27"], order.stype)
        if entry is None or entry.finished or entry.digest != digest or entry.ordnum not in (None, ordnum):
            return False
        found = self.read(lambda conn: reads.get_orders(conn, ordnum=ordnum))
        if not found or found[0]["CUSTID_27"] != order.header.get("CUSTID_27"):
            return False
        sent = {(row["LINNUM_28"], row["DELNUM_28"]): (row["PRTNUM_28"], Decimal(row["ORGQTY_28"]))
                for row, _notes, _restock in order.lines}
        return all(sent.get((line["LINNUM_28"], line["DELNUM_28"])) == (line["PRTNUM_28"], Decimal(line["ORGQTY_28"]))
                   for line in found[0]["lines"])

    def _order_answer(self, ordnum: str, stype: str, custpo: str, sent: list[tuple[str, str]]) -> dict:
        """The keys MAX holds for the order, its lines in the order the document sent them (as the reference
        backend answers)."""
        created = self.read(lambda conn: reads.get_orders(conn, ordnum=ordnum))[0]
        position = {key: index for index, key in enumerate(sent)}
        lines = sorted(created["lines"], key=lambda line: position.get((line["LINNUM_28"], line["DELNUM_28"]), 999))
        return {"ORDNUM": ordnum, "STYPE": stype, "CUSTPO": custpo,
                "lines": [{"LINNUM": line["LINNUM_28"], "DELNUM": line["DELNUM_28"], "PRTNUM": line["PRTNUM_28"],
                           "SLSUOM": line["SLSUOM_28"], "STK": line["STK_28"]} for line in lines]}

    # ------------------------------------------------------------ customers and cancellations
    def create_customer(self, xml: bytes) -> dict:
        self.read(lambda conn: check_customer(conn, xml))  # a bad document still gets its field errors
        raise TransactionRejected([FieldError(
            "Customer_Master", NOT_SUPPORTED, "MAXUpdate has no function that adds a customer (MAXUpdate manual "
            "§4.3): create the account in MAX, or let the orders flow post web orders to an existing account")])

    def cancel_sales_order(self, xml: bytes) -> dict:
        with self._writing():
            values = self.read(lambda conn: check_cancellation(conn, xml))  # open, nothing shipped
            ordnum = values["ORDNUM_27"]
            status = self.read(fulfilment_reads.order_statuses, [ordnum])["items"][0]
            header, line_changes = status_change_documents(
                ordnum, values.get("REASON_27", ""), [line for line in status["lines"] if line["STATUS"] == "3"])

            def statuses() -> dict:
                return self.read(fulfilment_reads.order_statuses, [ordnum])["items"][0]

            try:
                for (new, old), line in zip(line_changes, [ln for ln in status["lines"] if ln["STATUS"] == "3"],
                                            strict=True):
                    self._settled(lambda n=new, o=old: self.writer.change_sales_order_line(n, o),
                                  lambda key=(line["LINNUM"], line["DELNUM"]): any(
                                      (ln["LINNUM"], ln["DELNUM"]) == key and ln["STATUS"] == "4"
                                      for ln in statuses()["lines"]),
                                  f"closing line {line['LINNUM']}/{line['DELNUM']} of {ordnum}")
                self._settled(lambda: self.writer.change_sales_order(header), lambda: statuses()["STATUS"] == "4",
                              f"cancellation of {ordnum}")
            except MaxUpdateRefused as refused:
                raise rejection_from_maxupdate(refused.error_text, method=refused.method) from refused
        return {"ORDNUM": ordnum, "STATUS": "4"}

    # ------------------------------------------------------------ the rules every call follows
    def _writing(self) -> _WriteSlot:
        return _WriteSlot(self)

    def _settled(self, call: Callable[[], object], written: Callable[[], bool], what: str) -> None:
        """Make one MAXUpdate call; when its answer is lost, settle it by ``written`` (a lookup). Raises
        :class:`MaxUpdateRefused` (that call wrote nothing) or :class:`BackendUnavailable`."""
        try:
            call()
        except MaxUpdateUnavailable as exc:
            raise BackendUnavailable(f"MAXUpdate is unavailable; {what} was not sent: {exc}") from exc
        except MaxUpdateOutcomeUnknown as exc:
            if not self._shows(written):
                raise BackendUnavailable(f"MAXUpdate's answer for {what} was lost ({exc}) and MAX does not show it: "
                                         "that step wrote nothing; send the request again to complete it") from exc
            log.warning("MAXUpdate's answer for %s was lost (%s); MAX shows it done", what, exc)


    def _shows(self, written: Callable[[], bool]) -> bool:
        """Whether MAX shows a write whose answer was lost. Not found at once is looked for again after
        ``settle_seconds``: a commit MAXUpdate's connection had already sent when its host was killed can still
        land just after the kill."""
        if written():
            return True
        time.sleep(self.settle_seconds)
        return written()


class _WriteSlot:
    """The write lock, held until MAXUpdate's last call has ended; 503 while another gateway holds the
    database-wide writer lock."""

    def __init__(self, backend: MaxBackend) -> None:
        self.backend = backend

    def __enter__(self) -> None:
        self.backend._write_lock.acquire()
        if not self.backend.guard.acquire():
            self.backend._write_lock.release()
            raise BackendUnavailable("another gateway holds the MAX writer lock: only one gateway may write to a "
                                     "MAX database")

    def __exit__(self, *_exc: object) -> None:
        self.backend._write_lock.release()


def _stocked_parts_and_factors(conn: Connection, rows: list[dict]) -> tuple[set[str], dict[tuple[str, str], Decimal]]:
    """Which parts are stocked (``TYPE_01`` not N) and each (part, sales UOM)'s sales-to-stocking factor."""
    pm, ps = t.part_master, t.part_sales
    parts = {row["PRTNUM_28"] for row in rows}
    found = conn.execute(select(pm.c.PRTNUM_01, pm.c.TYPE_01, ps.c.SLSUOM_29, ps.c.SLSCNV_29)
                         .join(ps, ps.c.PRTNUM_29 == pm.c.PRTNUM_01).where(pm.c.PRTNUM_01.in_(parts))).all()
    uom = reads.uom_factors(conn)
    by_part = {r.PRTNUM_01: r for r in found}
    factors = {(row["PRTNUM_28"], row["SLSUOM_28"]): reads.line_factor(
        row["SLSUOM_28"], by_part[row["PRTNUM_28"]].SLSUOM_29, by_part[row["PRTNUM_28"]].SLSCNV_29, uom)
        for row in rows if row["PRTNUM_28"] in by_part}
    return {r.PRTNUM_01 for r in found if r.TYPE_01 != "N"}, factors
