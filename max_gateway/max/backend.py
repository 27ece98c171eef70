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
from sqlalchemy.exc import DBAPIError

from max_gateway.backend import BackendUnavailable, GatewayBackend
from max_gateway.max.documents import (
    restock_receipt_document,
    sales_order_documents,
    sales_order_line_document,
    status_change_documents,
)
from max_gateway.max.journal import JournalEntry, WriteJournal, order_digest
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
    ``pg_try_advisory_lock`` on PostgreSQL, held on a connection of its own. Neither needs more than the read-only
    login (``sp_getapplock`` is granted to ``public``).

    The lock lives as long as that database session. A session can end without the gateway noticing (a failover,
    a network cut, a killed session), and then another gateway may take the lock: so :meth:`acquire` asks the
    database whether this session still holds it before every write, and takes it again (or answers no) when it
    does not."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # per MAX database (SQL Server's app locks already are); on PostgreSQL also per read schema, so each
        # stand-in MAX of a test database has its own writer
        schema = (engine.get_execution_options().get("schema_translate_map") or {}).get(None) or ""
        self.resource = f"max_gateway/writer/{schema}"
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        """Whether this gateway holds the lock now (taking it if it is free)."""
        with self._lock:
            if self._connection is not None:
                try:
                    if self._take(self._connection):  # still this session's
                        return True
                except DBAPIError:
                    log.warning("the MAX writer lock's database session has ended; taking the lock again")
                self._drop()
            connection = self.engine.connect()
            try:
                held = self._take(connection)
            except BaseException:
                connection.invalidate()
                raise
            if not held:
                connection.close()
                return False
            self._connection = connection
            return True

    def _take(self, connection: Connection) -> bool:
        """Take the lock on ``connection``'s session, or confirm that session holds it (both are re-entrant)."""
        dialect = connection.dialect.name
        if dialect == "mssql":
            held = connection.execute(text(
                "DECLARE @result int; EXEC @result = sp_getapplock @Resource = :resource, "
                "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @result"),
                {"resource": self.resource}).scalar() >= 0
        elif dialect == "postgresql":
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(hashtextextended(:resource, 0))"),
                                           {"resource": self.resource}).scalar())
        else:
            held = True  # SQLite: a single file, a single process
        connection.commit()
        return held

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()  # the session ends, and its lock with it
            self._connection = None

    def release(self) -> None:
        with self._lock:
            self._drop()


class MaxBackend(GatewayBackend):
    name = "max"
    restock_from_extension = False  # the login cannot write X_Credit_Restock: RESTCK comes from the receipts

    def __init__(self, read_engine: Engine, writer: MaxUpdateWriter, journal: WriteJournal, *, max_user: str = "",
                 guard: WriterGuard | None = None, settle_seconds: float = 2.0,
                 write_wait_seconds: float = 60.0) -> None:
        super().__init__(read_engine)
        self.writer = writer
        self.journal = journal
        self.settle_seconds = settle_seconds
        self.write_wait_seconds = write_wait_seconds
        self.max_user = max_user  # USERNAME_39 on the receipts it posts
        self.guard = guard if guard is not None else WriterGuard(read_engine)
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------ health
    def writer_status(self) -> str:
        try:
            held = self.guard.acquire()
        except DBAPIError as exc:
            return f"the writer lock cannot be checked: the MAX database does not answer ({type(exc).__name__})"
        if not held:
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
        digest = order_digest(stype, order.header, order.lines)
        with self._writing():
            existing = self.read(find_order_by_custpo, custpo, stype)
            if existing is not None:
                entry = self.journal.get(custpo, stype)
                if entry is not None and not entry.finished and entry.digest == digest:
                    self._finish(entry, existing, order, lines)
                raise DuplicateOrder(custpo, stype, existing)
            self.journal.start(custpo, stype, digest, xml)  # on disk before MAXUpdate sees the header
            try:
                ordnum = self._add_header(header_document, custpo, stype)
            except (TransactionRejected, _HeaderNotWritten):
                self.journal.forget(custpo, stype)  # refused, never sent, or settled as not written
                raise
            self.journal.numbered(custpo, stype, ordnum)
            self._add_missing_lines(ordnum, lines, order)
            self.journal.finish(custpo, stype)
        return self._order_answer(ordnum, stype, custpo, [(linnum, delnum) for linnum, delnum, _ in lines])

    def finish_unfinished(self, *, custpo: str | None = None, ordnum: str | None = None) -> None:
        """Finish every write of this CUSTPO or ORDNUM that the journal holds as unfinished (the gateway died
        between two calls, or a call's answer was lost), before anyone reads the order: a lookup never finds part
        of an order. Raises :class:`BackendUnavailable` when an unfinished write cannot be finished now."""
        for entry in self.journal.unfinished(custpo=custpo, ordnum=ordnum):
            with self._writing():
                current = self.journal.get(entry.custpo, entry.stype)  # another thread may have finished it
                if current is None or current.finished:
                    continue
                existing = self.read(find_order_by_custpo, current.custpo, current.stype)
                if existing is None:  # the header never reached MAX: nothing to finish, the client sends again
                    self.journal.forget(current.custpo, current.stype)
                    continue
                try:
                    order = self.read(lambda conn, e=current: check_sales_order(conn, e.document, e.stype))
                except TransactionRejected as exc:
                    raise BackendUnavailable(f"order {existing} (CUSTPO {current.custpo!r}) is half written and its "
                                             f"document no longer passes MAX's checks ({exc}): finish or delete it "
                                             "in MAX") from exc
                self._finish(current, existing, order, sales_order_documents(current.document, current.stype)[1])

    def _finish(self, entry: JournalEntry, ordnum: str, order: CheckedOrder, lines: list) -> None:
        if not self._lines_are_the_documents(ordnum, order) or entry.ordnum not in (None, ordnum):
            raise BackendUnavailable(f"order {ordnum} under CUSTPO {entry.custpo!r} is not the gateway's unfinished "
                                     "write of this document (its lines or number differ): resolve it in MAX")
        self.journal.numbered(entry.custpo, entry.stype, ordnum)
        self._add_missing_lines(ordnum, lines, order)
        self.journal.finish(entry.custpo, entry.stype)
        log.warning("order %s (CUSTPO %r) was half written; its missing calls are made now", ordnum, entry.custpo)

    def _add_header(self, document: str, custpo: str, stype: str) -> str:
        def find() -> str | None:
            return self.read(find_order_by_custpo, custpo, stype)

        what = f"{stype} order CUSTPO {custpo!r}"
        try:
            answered = self.writer.add_sales_order(document)
        except MaxUpdateRefused as refused:
            raise rejection_from_maxupdate(refused.error_text, method=refused.method) from refused
        except MaxUpdateUnavailable as exc:
            raise _HeaderNotWritten(f"MAXUpdate is unavailable; {what} was not sent: {exc}") from exc
        except MaxUpdateOutcomeUnknown as exc:
            found = find() if self._shows(lambda: find() is not None) else None
            if found is None:
                raise _HeaderNotWritten(f"MAXUpdate's answer for {what} was lost ({exc}) and MAX holds no such "
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

    def _lines_are_the_documents(self, ordnum: str, order: CheckedOrder) -> bool:
        """Whether MAX's order ``ordnum`` is (a beginning of) this document: same customer, and every line it holds
        is one of the document's, with the same part and quantity."""
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

    # ------------------------------------------------------------ lookups: never part of an order
    def find_sales_orders(self, custpo: str) -> list[dict]:
        self.finish_unfinished(custpo=custpo.strip())
        return super().find_sales_orders(custpo)

    def get_sales_order(self, ordnum: str) -> dict | None:
        self.finish_unfinished(ordnum=ordnum.strip())
        return super().get_sales_order(ordnum)

    def credit_memos(self, *, ordnum: str | None = None, custpo: str | None = None,
                     appinv: str | None = None) -> list[dict]:
        if custpo is not None:
            self.finish_unfinished(custpo=custpo.strip())
        if ordnum is not None:
            self.finish_unfinished(ordnum=ordnum.strip())
        return super().credit_memos(ordnum=ordnum, custpo=custpo, appinv=appinv)

    # ------------------------------------------------------------ customers and cancellations
    def create_customer(self, xml: bytes) -> dict:
        self.read(lambda conn: check_customer(conn, xml))  # a bad document still gets its field errors
        raise TransactionRejected([FieldError(
            "Customer_Master", NOT_SUPPORTED, "MAXUpdate has no function that adds a customer (MAXUpdate manual "
            "§4.3): create the account in MAX, or let the orders flow post web orders to an existing account")])

    def cancel_sales_order(self, xml: bytes) -> dict:
        """Close each open line, then the header. When MAXUpdate refuses one of them, the lines this request closed
        are opened again before the refusal is answered (422 means nothing changed); if they cannot be, 503 names
        them."""
        with self._writing():
            values = self.read(lambda conn: check_cancellation(conn, xml))  # open, nothing shipped
            ordnum = values["ORDNUM_27"]
            open_lines = [line for line in self._statuses(ordnum)["lines"] if line["STATUS"] == "3"]
            header, line_changes = status_change_documents(ordnum, values.get("REASON_27", ""), open_lines)
            closed: list[tuple[dict, str, str]] = []  # (line, new, old) this request closed
            try:
                for (new, old), line in zip(line_changes, open_lines, strict=True):
                    self._settled(lambda n=new, o=old: self.writer.change_sales_order_line(n, o),
                                  lambda key=(line["LINNUM"], line["DELNUM"]): self._line_status(ordnum, key) == "4",
                                  f"closing line {line['LINNUM']}/{line['DELNUM']} of {ordnum}")
                    closed.append((line, new, old))
                self._settled(lambda: self.writer.change_sales_order(header),
                              lambda: self._statuses(ordnum)["STATUS"] == "4", f"cancellation of {ordnum}")
            except MaxUpdateRefused as refused:
                self._reopen(ordnum, closed)
                raise rejection_from_maxupdate(refused.error_text, method=refused.method) from refused
        return {"ORDNUM": ordnum, "STATUS": "4"}

    def _statuses(self, ordnum: str) -> dict:
        return self.read(fulfilment_reads.order_statuses, [ordnum])["items"][0]

    def _line_status(self, ordnum: str, key: tuple[str, str]) -> str | None:
        return next((line["STATUS"] for line in self._statuses(ordnum)["lines"]
                     if (line["LINNUM"], line["DELNUM"]) == key), None)

    def _reopen(self, ordnum: str, closed: list[tuple[dict, str, str]]) -> None:
        """Undo this request's line closes (the old line back, with the closed one as what MAX holds now)."""
        try:
            for line, new, old in reversed(closed):
                self._settled(lambda n=new, o=old: self.writer.change_sales_order_line(o, n),
                              lambda key=(line["LINNUM"], line["DELNUM"]): self._line_status(ordnum, key) == "3",
                              f"reopening line {line['LINNUM']}/{line['DELNUM']} of {ordnum}")
        except (MaxUpdateRefused, BackendUnavailable) as exc:
            lines = ", ".join(f"{line['LINNUM']}/{line['DELNUM']}" for line, _new, _old in closed)
            raise BackendUnavailable(f"order {ordnum} is half cancelled: lines {lines} are closed and could not be "
                                     f"opened again ({exc}); send the cancellation again, or reopen them in MAX") \
                from exc

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


class _HeaderNotWritten(BackendUnavailable):
    """The header never reached MAX (MAXUpdate unavailable, or a lost answer settled as not written)."""


class _WriteSlot:
    """The write lock, held until MAXUpdate's last call has ended. Waiting for it is bounded (``write_wait_seconds``:
    503 "busy", nothing sent); 503 too while another gateway holds the database-wide writer lock."""

    def __init__(self, backend: MaxBackend) -> None:
        self.backend = backend

    def __enter__(self) -> None:
        backend = self.backend
        if not backend._write_lock.acquire(timeout=backend.write_wait_seconds):
            raise BackendUnavailable(f"the MAX writer is busy (another write has held it for over "
                                     f"{backend.write_wait_seconds:.0f} s); nothing was sent")
        try:
            held = backend.guard.acquire()
        except BaseException:
            backend._write_lock.release()
            raise
        if not held:
            backend._write_lock.release()
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
