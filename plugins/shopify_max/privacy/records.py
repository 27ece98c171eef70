"""What the sync store holds about one customer, what it tells them, and how it is erased.

A customer's records are found by identifiers, never by names (two people share a name, not an e-mail):
1. staged orders listed in the request, or whose copy names the customer (id, e-mail or phone);
2. webhook deliveries of those orders, or whose payload names the customer;
3. error items and audit entries of those orders (by order name or gid), or whose text names the customer.
Their personal values (names, addresses, e-mails, phones; found by structure, see ``personal_values``) are then
scrubbed from the free text of those same records, and their payloads blanked. Other customers' rows are not
touched. Rows stay, with their ids, statuses and reasons: the record of what happened is kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.ids import InvalidShopifyGid, is_shopify_gid, legacy_id
from shopify_max.privacy.personal_values import Scrubber, personal_values
from shopify_max.privacy.requests import COMPLIANCE_TOPICS, ComplianceRequest
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.states import (
    IN_FLIGHT_STATUSES,
    ErrorEntity,
    InboxStatus,
    OrderStageStatus,
    RunOutcome,
    RunOutcomeCode,
)

PAGE = 500
TABLES = ("order_stage", "inbox", "error_queue", "audit_log")
PRIVACY_ENTITY = ErrorEntity.PRIVACY  # the audit entries and error items of privacy requests themselves
_ORDER_JSON_COLUMNS = ("order_json", "mapped_json", "deferred_json")
# The columns whose structure (JSON, XML) shows which values are personal; the others are free text to scrub.
_STRUCTURED_COLUMNS = {"order_stage": _ORDER_JSON_COLUMNS, "inbox": ("payload",), "error_queue": ("payload", "detail"),
                       "audit_log": ("request", "response")}
_LISTED = 200  # at most this many keys of one kind in a report (the counts are always complete)


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "", parse_int=str)  # Shopify ids exceed 2^53: keep them as text
    except ValueError:
        return None


class _Customer:
    """Recognises one customer's documents by their identifiers."""

    def __init__(self, request: ComplianceRequest) -> None:
        self.customer_id = request.customer_id
        self.email = request.email.casefold() if request.email else None
        self.phone_digits = _digits(request.phone)
        self.mentions = [m for m in (request.customer_gid, request.email, request.phone) if m]
        patterns = []
        if request.email:
            patterns.append(r"(?<![\w.+-])" + re.escape(request.email) + r"(?![\w.-])")
        if request.customer_gid:
            patterns.append(re.escape(request.customer_gid) + r"(?!\d)")
        if request.phone and len(self.phone_digits) >= 7:
            patterns.append(r"(?<![\d\w])" + re.escape(request.phone) + r"(?![\d\w])")
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def _phone_matches(self, value: Any) -> bool:
        digits = _digits(value) if isinstance(value, str) else ""
        mine = self.phone_digits
        if len(digits) < 7 or len(mine) < 7:
            return False
        return digits == mine or digits.endswith(mine) or mine.endswith(digits)

    def _is_customer_id(self, value: Any) -> bool:
        try:
            return legacy_id(value, "Customer") == self.customer_id
        except InvalidShopifyGid:
            return False

    def _in_structure(self, value: Any, parent_key: str = "") -> bool:
        if isinstance(value, dict):
            for key, item in value.items():
                lowered = str(key).lower()
                if lowered in ("email", "contact_email") and self.email and isinstance(item, str) \
                        and item.strip().casefold() == self.email:
                    return True
                if lowered == "phone" and self._phone_matches(item):
                    return True
                if self.customer_id and (
                        (lowered == "customer_id" and str(item) == self.customer_id)
                        or (parent_key == "customer" and lowered in ("id", "admin_graphql_api_id")
                            and self._is_customer_id(item))):
                    return True
                if self._in_structure(item, lowered):
                    return True
        elif isinstance(value, list):
            return any(self._in_structure(item, parent_key) for item in value)
        return False

    def owns(self, text: str | None) -> bool:
        """Whether a stored text (JSON, XML or free text) names this customer."""
        if not text:
            return False
        if self._pattern is not None and self._pattern.search(text):
            return True
        parsed = _json(text)
        return parsed is not None and self._in_structure(parsed)


@dataclass
class PersonalRecords:
    """One customer's rows, per table (as read), the orders they belong to, and their personal values."""

    orders: dict[str, str] = field(default_factory=dict)  # order gid → order name ("" when unknown)
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: {table: {} for table in TABLES})
    values: set[str] = field(default_factory=set)  # only ever used to scrub: never reported or logged

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table][row["id"]] = row
        for column in _STRUCTURED_COLUMNS[table]:
            if row.get(column):
                self.values |= personal_values(row[column])


def _rows(store: SyncStore, table: str, **criteria: Any) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        page = store.personal_data_rows(table, after_id=after, limit=PAGE, **criteria)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1]["id"]


def _pending_compliance_delivery(row: dict[str, Any], request: ComplianceRequest) -> bool:
    """A compliance delivery not acted on yet is left for its own turn (and this request's own delivery)."""
    return row["id"] == request.inbox_id or (row["topic"] in COMPLIANCE_TOPICS
                                             and row["status"] in (InboxStatus.NEW, InboxStatus.PROCESSING))


def find_customer_records(store: SyncStore, request: ComplianceRequest) -> PersonalRecords:
    """Every row of the sync store that holds this customer's personal data."""
    customer = _Customer(request)
    records = PersonalRecords()
    listed = set(request.order_gids)
    for row in _rows(store, "order_stage", keys=listed, mentions=customer.mentions):
        if row["order_gid"] in listed or any(customer.owns(row.get(c)) for c in _ORDER_JSON_COLUMNS):
            records.add("order_stage", row)
            records.orders[row["order_gid"]] = row["order_name"]

    webhook_keys = set()
    for row in _rows(store, "inbox", keys=listed | set(records.orders), mentions=customer.mentions):
        if _pending_compliance_delivery(row, request):
            continue
        gid = row["resource_gid"]
        if gid in listed or gid in records.orders or customer.owns(row["payload"]):
            records.add("inbox", row)
            webhook_keys.add(f"webhook {row['webhook_id']}")
            if is_shopify_gid(gid, "Order"):
                payload = _json(row["payload"])
                name = payload.get("name") if isinstance(payload, dict) else None
                records.orders.setdefault(gid, str(name) if name else "")

    order_keys = {key for key in (*records.orders, *records.orders.values(), *listed) if key}
    for row in _rows(store, "error_queue", keys=order_keys | webhook_keys, mentions=customer.mentions):
        if row["record_key"] in order_keys | webhook_keys or any(
                customer.owns(row[c]) for c in ("payload", "detail", "reason")):
            records.add("error_queue", row)

    for row in _rows(store, "audit_log", keys=order_keys, mentions=customer.mentions):
        if row["entity"] == PRIVACY_ENTITY or row["pii_purged_at"] is not None:
            continue
        if (row["record_key"] in order_keys and row["contains_pii"]) or any(
                customer.owns(row[c]) for c in ("request", "response")):
            records.add("audit_log", row)
    records.values |= {value for value in (request.email, request.phone) if value}
    return records


def describe_records(records: PersonalRecords) -> dict[str, Any]:
    """What is held, for a data request: kinds of records, their keys and counts; never the values."""
    def listed(keys: list[str]) -> list[str]:
        return keys[:_LISTED] + ([f"... and {len(keys) - _LISTED} more"] if len(keys) > _LISTED else [])

    orders = sorted(name or gid for gid, name in records.orders.items())
    stage, inbox_rows = records.rows["order_stage"].values(), records.rows["inbox"].values()
    errors, audit = records.rows["error_queue"].values(), records.rows["audit_log"].values()
    return {
        "orders": listed(orders),
        "order_stage": {"rows": len(stage), "by_status": dict(Counter(row["status"] for row in stage))},
        "inbox": {"rows": len(inbox_rows), "by_topic": dict(Counter(row["topic"] for row in inbox_rows))},
        "error_queue": {"rows": len(errors), "items": listed(
            [f"{row['id']}: {row['entity']} {row['record_key']} at {row['stage']} ({row['status']})"
             for row in errors])},
        "audit_log": {"rows": len(audit), "by_entity": dict(Counter(row["entity"] for row in audit))},
    }


def _redacted_row(table: str, row: dict[str, Any], scrub: Scrubber, request: ComplianceRequest,
                  now: Any) -> dict[str, Any]:
    """The new values of one row's personal columns (and of the columns recording the redaction)."""
    if table == "order_stage":
        values: dict[str, Any] = {column: None for column in _ORDER_JSON_COLUMNS if column in row}
        values.update(detail=scrub.text(row["detail"]), run_outcome_reason=scrub.text(row["run_outcome_reason"]))
        if row["status"] in IN_FLIGHT_STATUSES:  # its copy is gone: it cannot be mapped or exported any more
            values.update(status=OrderStageStatus.SKIPPED, run_outcome=RunOutcome.SKIPPED,
                          run_outcome_code=RunOutcomeCode.PERSONAL_DATA_ERASED,
                          run_outcome_reason=f"not exported: personal data erased on {request.reference}")
        return values
    if table == "inbox":
        values = {"payload": None, "payload_purged_at": now}
        if row["status"] == InboxStatus.NEW:
            values["status"] = InboxStatus.IGNORED
        return values
    if table == "error_queue":
        return {"payload": None, "payload_purged_at": now, "reason": scrub.text(row["reason"]),
                "detail": scrub.json_text(row["detail"])}
    marker = json.dumps({"erased": "personal data", "request": request.reference})
    return {"request": marker, "response": marker, "pii_purged_at": now}


def _rewrite(store: SyncStore, table: str, changes: dict[int, dict[str, Any]]) -> int:
    ids = list(changes)
    return sum(store.rewrite_personal_data(table, {row_id: changes[row_id] for row_id in ids[start:start + PAGE]})
               for start in range(0, len(ids), PAGE))


def redact_customer_records(store: SyncStore, records: PersonalRecords, request: ComplianceRequest) -> dict[str, int]:
    """Erase one customer's personal data from the rows found; returns how many rows changed per table."""
    scrub = Scrubber(records.values)
    now = utcnow()
    return {table: _rewrite(store, table, {row_id: _redacted_row(table, row, scrub, request, now)
                                           for row_id, row in records.rows[table].items()})
            for table in TABLES}


def redact_shop(store: SyncStore, request: ComplianceRequest) -> dict[str, int]:
    """Erase every personal value of the shop, page by page. Each row's free text is scrubbed of the values
    in that row's own copies (and, for an error item, in its order's staged copy), so error items go first."""
    now = utcnow()
    counts = dict.fromkeys(TABLES, 0)
    for table in ("error_queue", "order_stage", "inbox", "audit_log"):
        after = 0
        while True:
            page = store.personal_data_rows(table, every_row=True, after_id=after, limit=PAGE)
            if table == "inbox":
                page_to_change = [row for row in page if not _pending_compliance_delivery(row, request)]
            else:
                page_to_change = page
            staged = _staged_copies(store, page_to_change) if table == "error_queue" else {}
            changes = {}
            for row in page_to_change:
                holder = PersonalRecords()
                holder.add(table, row)
                for copy in staged.get(row["id"], ()):
                    holder.values |= personal_values(copy)
                changes[row["id"]] = _redacted_row(table, row, Scrubber(holder.values), request, now)
            counts[table] += _rewrite(store, table, changes)
            if len(page) < PAGE:
                break
            after = page[-1]["id"]
    return counts


def _staged_copies(store: SyncStore, error_rows: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Per error item, the staged copies of its order (found by the gid in its detail or record key)."""
    gid_of = {}
    for row in error_rows:
        detail = _json(row["detail"])
        gid = detail.get("order_gid") if isinstance(detail, dict) else None
        gid = gid or (row["record_key"] if is_shopify_gid(row["record_key"], "Order") else None)
        if gid:
            gid_of[row["id"]] = str(gid)
    staged = store.staged_orders(set(gid_of.values()))
    return {row_id: [text for text in (staged[gid].order_json, staged[gid].mapped_json) if text]
            for row_id, gid in gid_of.items() if gid in staged}
