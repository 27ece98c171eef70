"""Personal data across the tables that may hold it (``order_stage``, ``inbox``, ``error_queue``,
``audit_log``): blanked after the retention period, and found and rewritten for a privacy request
(``shopify_max.privacy``). The record of what happened stays: rows, statuses, reasons and ids."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.states import ErrorStatus, InboxStatus, OrderStageStatus
from shopify_max.sync_store.tables import audit_log, error_queue, inbox, order_stage

PURGED_MARKER = '{"purged": "PII retention period elapsed"}'
_TABLES = {"order_stage": order_stage, "inbox": inbox, "error_queue": error_queue, "audit_log": audit_log}


def _personal_table(name: str) -> Table:
    if name not in _TABLES:
        raise ValueError(f"no personal data is kept in table {name!r}; expected one of {sorted(_TABLES)}")
    return _TABLES[name]


class PersonalData(TableAccess):
    # Per table: the columns that may hold someone's personal data, and those that say which record a row is.
    PERSONAL_DATA_COLUMNS = {
        "order_stage": ("order_json", "mapped_json", "deferred_json", "detail", "run_outcome_reason"),
        "inbox": ("payload",),
        "error_queue": ("payload", "reason", "detail"),
        "audit_log": ("request", "response"),
    }
    _RECORD_COLUMNS = {
        "order_stage": ("id", "order_gid", "order_name", "status"),
        "inbox": ("id", "webhook_id", "topic", "resource_gid", "status"),
        "error_queue": ("id", "entity", "record_key", "stage", "status"),
        "audit_log": ("id", "entity", "record_key", "contains_pii", "pii_purged_at"),
    }
    # What a redaction may write besides the personal columns: when it happened, and what it decided.
    _REDACTION_COLUMNS = {
        "order_stage": ("status", "run_outcome", "run_outcome_code"),
        "inbox": ("status", "payload_purged_at"),
        "error_queue": ("payload_purged_at",),
        "audit_log": ("pii_purged_at",),
    }

    # -- retention ------------------------------------------------------------------------------
    def purge_expired_pii(self, retention: timedelta, *, now: datetime | None = None) -> dict[str, int]:
        """Blank payloads older than ``retention`` that may hold personal data.

        - audit log: request and response of entries flagged ``contains_pii``;
        - inbox: payloads of deliveries processed, ignored or failed (new and claimed ones are work to do);
        - error queue: payloads of items not seen for ``retention``, open ones too (a replay reads the staged
          order, not this copy); an item claimed by a replay within ``retention`` keeps it until released;
        - order stage: the copies of orders exported or skipped.
        The record of what happened stays: the row, its status, reason and ids; only the personal payload goes.
        """
        now = now or utcnow()
        cutoff = now - retention
        with self.engine.begin() as conn:
            audit = conn.execute(
                update(audit_log)
                .where(audit_log.c.contains_pii.is_(True), audit_log.c.pii_purged_at.is_(None), audit_log.c.created_at < cutoff)
                .values(request=PURGED_MARKER, response=PURGED_MARKER, pii_purged_at=now)
            ).rowcount
            inbox_rows = conn.execute(
                update(inbox)
                .where(
                    inbox.c.status.in_([InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.FAILED]),
                    inbox.c.payload_purged_at.is_(None),
                    inbox.c.received_at < cutoff,
                )
                .values(payload=None, payload_purged_at=now)
            ).rowcount
            errors = conn.execute(
                update(error_queue)
                .where(
                    or_(error_queue.c.status.in_([ErrorStatus.OPEN, ErrorStatus.RESOLVED, ErrorStatus.IGNORED]),
                        error_queue.c.claimed_at.is_(None), error_queue.c.claimed_at < cutoff),
                    error_queue.c.payload_purged_at.is_(None),
                    error_queue.c.last_seen < cutoff,
                )
                .values(payload=None, payload_purged_at=now)
            ).rowcount
            staged = conn.execute(
                update(order_stage)
                .where(order_stage.c.status.in_([OrderStageStatus.EXPORTED, OrderStageStatus.SKIPPED]),
                       order_stage.c.order_json.is_not(None), order_stage.c.updated_at < cutoff)
                .values(order_json=None, mapped_json=None)
            ).rowcount
        return {"audit_log": audit, "inbox": inbox_rows, "error_queue": errors, "order_stage": staged}

    # -- a privacy request (shopify_max.privacy) -------------------------------------------------
    def personal_data_rows(self, table_name: str, *, keys: Iterable[str] = (), mentions: Iterable[str] = (),
                           every_row: bool = False, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Rows of ``table_name`` that may hold one person's data: the next ``limit`` after ``after_id``.

        A row is returned when its key is in ``keys`` (order_stage: the order gid; inbox: the resource gid;
        error_queue and audit_log: the record key), or when one of its personal columns contains one of
        ``mentions`` (an e-mail, a phone, a gid; case-insensitive). With ``every_row``: every row that may still
        hold personal data (audit entries: those flagged ``contains_pii`` and not purged yet). These are
        candidates; the caller reads them to decide. Each row has its record columns and personal columns.
        """
        table = _personal_table(table_name)
        personal = [name for name in self.PERSONAL_DATA_COLUMNS[table_name] if name in table.c]
        key_column = {"order_stage": "order_gid", "inbox": "resource_gid"}.get(table_name, "record_key")
        if every_row:
            condition = (and_(audit_log.c.contains_pii.is_(True), audit_log.c.pii_purged_at.is_(None))
                         if table_name == "audit_log" else inbox.c.payload.is_not(None) if table_name == "inbox"
                         else table.c.id.is_not(None))
        else:
            key_list = sorted({str(key) for key in keys if key})
            texts = sorted({text.lower() for text in mentions if text})
            alternatives = [table.c[key_column].in_(key_list[start:start + 500])
                            for start in range(0, len(key_list), 500)]
            alternatives += [func.lower(table.c[name]).contains(text, autoescape=True)
                             for text in texts for name in personal]
            if not alternatives:
                return []
            condition = or_(*alternatives)
        columns = [table.c[name] for name in (*self._RECORD_COLUMNS[table_name], *personal)]
        with self.engine.begin() as conn:
            rows = conn.execute(select(*columns).where(condition, table.c.id > after_id)
                                .order_by(table.c.id).limit(limit)).mappings()
            return [dict(row) for row in rows]

    def rewrite_personal_data(self, table_name: str, changes: dict[int, dict[str, Any]]) -> int:
        """Write redacted values, in one transaction: row id → new values of its personal columns (and of the
        columns that record the redaction: status, ``payload_purged_at``, ``pii_purged_at``...). Returns the
        number of rows changed. A changed staged order gets a new ``row_version``, so that a decision taken on
        the copy read before is not written over the redaction."""
        table = _personal_table(table_name)
        allowed = set(self.PERSONAL_DATA_COLUMNS[table_name]) | set(self._REDACTION_COLUMNS[table_name])
        now = utcnow()
        changed = 0
        with self.engine.begin() as conn:
            for row_id, values in changes.items():
                unknown = set(values) - allowed
                if unknown:
                    raise ValueError(f"{table_name}: a redaction does not write {sorted(unknown)}")
                values = {name: value for name, value in values.items() if name in table.c}
                if table_name == "order_stage":
                    values["updated_at"] = now
                    if "row_version" in table.c:
                        values["row_version"] = table.c.row_version + 1
                if values:
                    changed += conn.execute(update(table).where(table.c.id == row_id).values(**values)).rowcount
        return changed
