"""``ExactMaxHook``: the MAX gateway contract (``max_gateway/openapi.yaml``) on top of ``HttpHook``.

Connection ``exactmax_default`` (conn_type ``http``): host and port of the gateway, schema ``http``/``https``;
login/password for Basic auth, or extra ``{"token": "..."}`` for a bearer token. Optional extras:
``timeout`` (seconds, default 30) and ``ascii_only`` (transliterate non-ASCII text, recording each change).

Retries (what, how long, how often: :mod:`shopify_max.retry_policy`):
- reads retry what :func:`~shopify_max.retry_policy.exactmax_retry_reason` names (429, 5xx, connection failures,
  timeouts), up to ``read_attempts`` sends;
- writes are never re-sent blindly. After an ambiguous failure (timeout, dropped connection, 5xx after the
  request was sent) ``create_sales_order`` / ``create_credit_memo`` wait, then look the order up by ``CUSTPO``:
  found means it was written (the result is flagged ``recovered``); not found means it is safe to send again,
  up to ``write_attempts`` sends.
- 401/403 raise :class:`ExactMaxAuthError`, 422 :class:`ExactMaxRejected`; neither is retried.
- 409 on a sales order or credit memo is the gateway's CUSTPO uniqueness rule: an order for that CUSTPO already
  exists (another writer's send landed first). The hook answers with that order, flagged ``already_existed``.
- ``before_send`` (optional, on every write) is called right before each POST: the orders flow renews its
  write lease there, and a lost lease stops the send.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests import Response, Session

from shopify_max import retry_policy
from shopify_max.dry_run import refuse_write_in_dry_run
from shopify_max.exactmax.credit_memos import CreditMemoReads
from shopify_max.exactmax.errors import (
    ExactMaxAlreadyExists,
    ExactMaxAmbiguousWriteError,
    ExactMaxAuthError,
    ExactMaxConfigurationError,
    ExactMaxConnectionError,
    ExactMaxDuplicateCustpo,
    ExactMaxError,
    ExactMaxNotFound,
    ExactMaxProtocolError,
    ExactMaxRejected,
    ExactMaxUnavailableError,
    FieldRejection,
)
from shopify_max.exactmax.fulfilment_reads import FulfilmentReads
from shopify_max.exactmax.models import (
    Cancellation,
    CodeTables,
    CreditMemo,
    Customer,
    CustomerRecord,
    CustomerResult,
    Part,
    PriceListEntry,
    SalesOrder,
    SalesOrderResult,
    StockLevel,
)
from shopify_max.exactmax.xml_builder import (
    BuiltDocument,
    build_cancellation_xml,
    build_customer_xml,
    build_sales_order_xml,
)
from shopify_max.redaction import redact_text, register_secret

# Connection extras the hook reads itself; HttpHook would otherwise send them as HTTP headers.
_HOOK_EXTRAS = ("token", "timeout", "ascii_only", "scheme", "read_attempts", "write_attempts")
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
T = TypeVar("T")


class ExactMaxHook(FulfilmentReads, CreditMemoReads, HttpHook):
    """Talk to a MAX gateway: eMAXExact XML writes, JSON reads, typed errors, exactly-once-safe order writes.
    The fulfilment reads (shipments, tracking changes, invoices, order statuses, payments): :class:`FulfilmentReads`;
    credit memos read back (lines, stock moves) and one invoice's totals: :class:`CreditMemoReads`."""

    conn_name_attr = "exactmax_conn_id"
    default_conn_name = "exactmax_default"
    conn_type = "http"
    hook_name = "Exact MAX gateway"

    def __init__(self, exactmax_conn_id: str = default_conn_name, timeout: float | None = None,
                 read_attempts: int | None = None, write_attempts: int | None = None,
                 max_retry_wait: float = 30.0, backoff_base: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        super().__init__(method="GET", http_conn_id=exactmax_conn_id)
        self.exactmax_conn_id = exactmax_conn_id
        self._timeout = timeout
        self._read_attempts = read_attempts
        self._write_attempts = write_attempts
        self.max_retry_wait = max_retry_wait  # caps the back-off and the gateway's Retry-After
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._rng = rng or random.Random()

    # ---------------------------------------------------------------- connection and session

    @cached_property
    def connection(self):  # noqa: ANN201 - airflow Connection
        """The Airflow connection, read and checked once; its secrets are registered for redaction."""
        conn = self.get_connection(self.exactmax_conn_id)
        if not conn.host:
            raise ExactMaxConfigurationError(f"connection {self.exactmax_conn_id!r} has no host")
        register_secret(conn.password)
        register_secret(conn.extra_dejson.get("token"))
        return conn

    @property
    def extra(self) -> dict:
        return self.connection.extra_dejson

    @property
    def timeout(self) -> float:
        return float(self._timeout if self._timeout is not None else self.extra.get("timeout", 30))

    @property
    def read_attempts(self) -> int:
        return int(self._read_attempts if self._read_attempts is not None else self.extra.get("read_attempts", 5))

    @property
    def write_attempts(self) -> int:
        return int(self._write_attempts if self._write_attempts is not None else self.extra.get("write_attempts", 3))

    @property
    def ascii_only(self) -> bool:
        return str(self.extra.get("ascii_only", "false")).lower() in ("1", "true", "yes")

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None) -> Session:
        """HttpHook's session (Basic auth from login/password), minus our extras, plus bearer auth from ``token``."""
        session = super().get_conn(headers, extra_options)
        for key in _HOOK_EXTRAS:
            session.headers.pop(key, None)
        token = self.extra.get("token")
        if token:
            session.auth = None
            session.headers["Authorization"] = f"Bearer {token}"
        session.headers["Accept"] = "application/json"
        return session

    @cached_property
    def session(self) -> Session:
        return self.get_conn()

    def check_response(self, response: Response) -> None:
        """Raise the typed error for a non-2xx answer (HttpHook's version hides the status in a bare exception)."""
        if response.status_code < 300:
            return
        status = response.status_code
        if status in (401, 403):
            raise ExactMaxAuthError(f"gateway refused the credentials ({status})", status)
        if status == 404:
            raise ExactMaxNotFound(f"not found: {response.request.method} {response.url}", status)
        if status == 409:
            raise ExactMaxAlreadyExists(_field_rejections(response), _existing_key(response))
        if status == 422:
            raise ExactMaxRejected(_field_rejections(response), status)
        if status == 429 or status >= 500:
            retry_after = retry_policy.parse_retry_after(response.headers.get("Retry-After"))
            raise ExactMaxUnavailableError(f"gateway unavailable ({status}): {redact_text(response.text[:200])}",
                                           status, retry_after)
        raise ExactMaxProtocolError(f"unexpected {status} from gateway: {redact_text(response.text[:200])}", status)

    # ---------------------------------------------------------------- HTTP plumbing

    def _send(self, method: str, path: str, params: dict | None = None, data: bytes | None = None,
              json: dict | None = None) -> Any:
        """One request, no retry: JSON answer or a typed error."""
        if method.upper() != "GET":
            refuse_write_in_dry_run(f"MAX gateway {method.upper()} {path}")
        headers = {"Content-Type": XML_CONTENT_TYPE} if data is not None else None
        session = self.session  # built once; building it also sets base_url
        url = self.url_from_endpoint(path)
        try:
            response = session.request(method, url, params=params, data=data, json=json, headers=headers,
                                            timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise ExactMaxConnectionError(f"{method} {path}: {type(exc).__name__}: {redact_text(str(exc))[:300]}",
                                          request_sent=not _never_reached_server(exc)) from exc
        self.check_response(response)
        return response.json()

    def _retry_policy(self, policy: retry_policy.RetryPolicy, attempts: int) -> retry_policy.RetryPolicy:
        """``policy`` (reads or writes) with this hook's attempts, back-off base and cap."""
        return replace(policy, max_attempts=attempts, backoff_base_seconds=self.backoff_base,
                       backoff_cap_seconds=self.max_retry_wait, retry_after_cap_seconds=self.max_retry_wait)

    def _read(self, path: str, params: dict | None = None) -> Any:
        """A read, retried freely on what :func:`~shopify_max.retry_policy.exactmax_retry_reason` names."""
        policy = self._retry_policy(retry_policy.EXACTMAX_READ_RETRY_POLICY, self.read_attempts)
        for attempt in retry_policy.retrying(policy, retry_policy.exactmax_retry_reason, api="exactmax",
                                             operation=f"GET {path}", sleep=self._sleep, rng=self._rng):
            with attempt:
                return self._send("GET", path, params=params)
        raise AssertionError("unreachable")  # pragma: no cover

    def _paginate(self, path: str, params: dict | None = None, cursor_param: str = "cursor",
                  cursor: str | None = None) -> Iterator[dict]:
        """Every item of a keyset-paginated read, page by page."""
        params = dict(params or {})
        while True:
            if cursor is not None:
                params[cursor_param] = cursor
            page = self._read(path, params)
            yield from page["items"]
            if not page["has_more"]:
                return
            cursor = page["next_cursor"]

    # ---------------------------------------------------------------- writes

    def sales_order_document(self, order: SalesOrder) -> BuiltDocument:
        """The eMAXExact XML this hook sends for ``order`` (transliterated when the connection says
        ``ascii_only``): build it here to record exactly what is sent, then pass it to :meth:`create_sales_order`."""
        return build_sales_order_xml(order, ascii_only=self.ascii_only)

    def create_sales_order(self, order: SalesOrder, *, document: BuiltDocument | None = None,
                           before_send: Callable[[], None] | None = None) -> SalesOrderResult:
        """Create a sales order exactly once; raises :class:`ExactMaxRejected` on field errors. ``document`` is
        what :meth:`sales_order_document` built for ``order`` (built here when not given)."""
        return self._create_order("/sales-orders", order, before_send, document)

    def create_credit_memo(self, memo: CreditMemo, *,
                           before_send: Callable[[], None] | None = None) -> SalesOrderResult:
        """Create a credit memo (STYPE CR, APPINV = the invoice credited) exactly once, as orders are. Lines with
        ``RESTCK`` Y bring their goods back to stock in the same MAX transaction; read them with ``get_credit_memo``."""
        return self._create_order("/credit-memos", memo, before_send)

    def _create_order(self, path: str, order: SalesOrder, before_send: Callable[[], None] | None = None,
                      document: BuiltDocument | None = None) -> SalesOrderResult:
        document = document or self.sales_order_document(order)

        def existing(attempts: int) -> SalesOrderResult | None:
            matches = [o for o in self.find_sales_orders_by_custpo(order.CUSTPO) if o.STYPE == order.STYPE]
            return _recovered_result(matches[0], document, attempts) if matches else None

        try:
            answer, attempts = self._write_settled_by_lookup(path, document, f"CUSTPO {order.CUSTPO!r}", existing,
                                                             before_send)
        except ExactMaxAlreadyExists as exists:
            self.log.info("CUSTPO %r is already MAX order %s: not written again", order.CUSTPO, exists.key)
            found = self.get_sales_order(exists.key) if exists.key else None
            if found is None:
                raise ExactMaxProtocolError(f"the gateway refused CUSTPO {order.CUSTPO!r} as a duplicate of "
                                            f"{exists.key!r}, which it cannot find", 409) from exists
            return _recovered_result(found, document, 1, already_existed=True)
        if isinstance(answer, SalesOrderResult):
            return answer
        return _order_result(answer, document, attempts)

    def create_customer(self, customer: Customer, *,
                        before_send: Callable[[], None] | None = None) -> CustomerResult:
        """Create a customer with ship-tos, exactly once: after an ambiguous failure the hook looks the CUSTID
        up before sending again (a duplicate would be refused by MAX anyway, rule ``duplicate_key``)."""
        document = build_customer_xml(customer, ascii_only=self.ascii_only)

        def existing(_attempts: int) -> CustomerResult | None:
            found = self.get_customer(customer.CUSTID)
            return None if found is None else CustomerResult(
                CUSTID=found.CUSTID, ship_tos=[s.SHPCDE for s in found.ship_tos], recovered=True,
                transliterations=document.transliterations)

        answer, _ = self._write_settled_by_lookup("/customers", document, f"CUSTID {customer.CUSTID!r}", existing,
                                                  before_send)
        if isinstance(answer, CustomerResult):
            return answer
        return CustomerResult(CUSTID=answer["CUSTID"], ship_tos=answer["ship_tos"],
                              transliterations=document.transliterations)

    def cancel_sales_order(self, ordnum: str, reason: str | None = None, *,
                           before_send: Callable[[], None] | None = None) -> dict:
        """Cancel an open order with nothing shipped (status 3 -> 4). After an ambiguous failure the hook reads
        the order: already cancelled (status 4, nothing shipped) counts as done."""
        document = build_cancellation_xml(Cancellation(ORDNUM=ordnum, REASON=reason))

        def existing(_attempts: int) -> dict | None:
            order = self.get_sales_order(ordnum)
            shipped = order is not None and any((line.SHPQTY or 0) > 0 for line in order.lines)
            return {"ORDNUM": ordnum, "STATUS": "4", "recovered": True} if (
                order is not None and order.STATUS == "4" and not shipped) else None

        return self._write_settled_by_lookup("/cancellations", document, f"ORDNUM {ordnum}", existing, before_send)[0]

    def _write_settled_by_lookup(self, path: str, document: BuiltDocument, key: str,
                                 lookup: Callable[[int], T | None],
                                 before_send: Callable[[], None] | None = None) -> tuple[dict | T, int]:
        """POST a write; after an ambiguous failure, wait, ask ``lookup`` whether it took effect, and only if it
        did not, send again (up to ``write_attempts``). Returns the answer (or what the lookup found) and the
        number of sends. ``before_send`` runs before every POST and may raise to stop it."""
        policy = self._retry_policy(retry_policy.EXACTMAX_WRITE_RETRY_POLICY, self.write_attempts)
        retries = retry_policy.Retries(policy, api="exactmax", operation=f"POST {path} ({key})", rng=self._rng)
        attempts = 0
        while True:
            attempts += 1
            if before_send is not None:
                before_send()
            try:
                return self._send("POST", path, data=document.xml), attempts
            except ExactMaxError as exc:
                reason = retry_policy.exactmax_retry_reason(exc)
                if reason is None:
                    raise
                sent = getattr(exc, "request_sent", True)  # False only when the gateway was never reached
                self.log.info("write of %s: outcome unknown after attempt %d (%s)", key, attempts, exc)
                # Wait even before the last lookup: a write still in flight must commit before the hook looks.
                self._sleep(retries.after_failure(reason, retry_after=getattr(exc, "retry_after", None),
                                                  status=exc.status, error=exc))
                if sent:
                    try:
                        found = lookup(attempts)
                    except ExactMaxError as lookup_exc:
                        raise ExactMaxAmbiguousWriteError(f"{key}: write outcome unknown ({exc}) and the lookup "
                                                          f"failed ({lookup_exc})") from lookup_exc
                    if found is not None:
                        self.log.info("%s was written by an earlier attempt: not sending again", key)
                        return found, attempts
                if retries.exhausted:
                    if not sent:
                        raise  # never reached the gateway: an outage, not an ambiguous write
                    raise ExactMaxAmbiguousWriteError(
                        f"{key}: no answer after {attempts} attempts and not found by lookup; a later run looks "
                        "it up again before sending", getattr(exc, "status", None)) from exc

    # ---------------------------------------------------------------- reads

    def find_sales_orders_by_custpo(self, custpo: str) -> list[SalesOrder]:
        return [SalesOrder.from_gateway(o) for o in self._read("/sales-orders", {"custpo": custpo})["items"]]

    def find_sales_order_by_custpo(self, custpo: str) -> SalesOrder | None:
        """The customer order (STYPE CU) whose CUSTPO is ``custpo``, or None. Two matches break exactly-once."""
        matches = [o for o in self.find_sales_orders_by_custpo(custpo) if o.STYPE == "CU"]
        if len(matches) > 1:
            raise ExactMaxDuplicateCustpo(custpo, [o.ORDNUM or "" for o in matches])
        return matches[0] if matches else None

    def get_sales_order(self, ordnum: str) -> SalesOrder | None:
        try:
            return SalesOrder.from_gateway(self._read(f"/sales-orders/{quote(ordnum, safe='')}"))
        except ExactMaxNotFound:
            return None

    def get_customer(self, custid: str) -> CustomerRecord | None:
        try:
            return CustomerRecord.from_gateway(self._read(f"/customers/{quote(custid, safe='')}"))
        except ExactMaxNotFound:
            return None

    def iter_parts(self, page_size: int = 500) -> Iterator[Part]:
        for item in self._paginate("/parts", {"limit": page_size}):
            yield Part.from_gateway(item)

    def iter_stock(self, parts: list[str] | None = None, stockrooms: list[str] | None = None,
                   page_size: int = 1000) -> Iterator[StockLevel]:
        params: dict[str, Any] = {"limit": page_size}
        if parts:
            params["part"] = parts
        if stockrooms:
            params["stockroom"] = stockrooms
        for item in self._paginate("/stock", params):
            yield StockLevel.model_validate(item)

    def iter_customers(self, cursor: str | None = None, page_size: int = 500) -> Iterator[CustomerRecord]:
        """All customers after ``cursor`` (a CUSTID), in CUSTID order. MAX keeps no change timestamp on
        Customer_Master, so this is a keyset scan, not a ``since`` read."""
        for item in self._paginate("/customers", {"limit": page_size}, cursor=cursor):
            yield CustomerRecord.from_gateway(item)

    def iter_prices(self, price_list: str, page_size: int = 500) -> Iterator[PriceListEntry]:
        """Every price on ``price_list`` (a code of ``code_tables().price_lists``), by part then UOM. The first page is
        read here, so an unknown list raises :class:`ExactMaxNotFound` at the call, before any iteration."""
        items = self._paginate(f"/price-lists/{quote(price_list.strip(), safe='')}/prices", {"limit": page_size})
        first = next(items, None)  # reads the first page now
        return (PriceListEntry.model_validate(item) for item in itertools.chain([] if first is None else [first], items))

    def code_tables(self) -> CodeTables:
        return CodeTables.model_validate(self._read("/code-tables"))

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's connection test: credentials and the gateway's database, one authenticated call."""
        try:
            self._send("GET", "/health")
        except ExactMaxError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - the UI shows any failure as text
            return False, redact_text(f"{type(exc).__name__}: {exc}")
        return True, f"MAX gateway at {self.base_url} answered"


def _field_rejections(response: Response) -> list[FieldRejection]:
    try:
        errors = response.json().get("errors", [])
    except ValueError:
        errors = []
    return [FieldRejection(element=e.get("element", ""), rule=e.get("rule", ""), message=e.get("message", ""),
                           line=e.get("line")) for e in errors] or [
        FieldRejection(element="", rule="rejected", message=redact_text(response.text[:200]))]


def _existing_key(response: Response) -> str | None:
    """The key the gateway names in a 409 (``ORDNUM`` of the order that already holds the CUSTPO)."""
    try:
        body = response.json()
    except ValueError:
        return None
    key = body.get("ORDNUM") if isinstance(body, dict) else None
    return str(key) if key else None


def _never_reached_server(exc: requests.exceptions.RequestException) -> bool:
    """True only for failures before the request was sent: connect refused, DNS, connect timeout."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
    return False


def _recovered_result(existing: SalesOrder, document: BuiltDocument, attempts: int, *,
                      already_existed: bool = False) -> SalesOrderResult:
    return SalesOrderResult(
        ORDNUM=existing.ORDNUM or "", CUSTPO=existing.CUSTPO, STYPE=existing.STYPE, recovered=True, attempts=attempts,
        already_existed=already_existed,
        transliterations=document.transliterations,
        lines=[{"LINNUM": line.LINNUM, "DELNUM": line.DELNUM, "PRTNUM": line.PRTNUM, "SLSUOM": line.SLSUOM or "",
                "STK": line.STK or ""} for line in existing.lines])


def _order_result(answer: dict, document: BuiltDocument, attempts: int) -> SalesOrderResult:
    return SalesOrderResult(ORDNUM=answer["ORDNUM"], CUSTPO=answer.get("CUSTPO", ""), STYPE=answer.get("STYPE", "CU"),
                            lines=answer.get("lines", []), attempts=attempts,
                            transliterations=document.transliterations)


__all__ = ["ExactMaxHook"]
