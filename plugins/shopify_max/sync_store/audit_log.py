"""``audit_log``: every payload sent or received, redacted before it is written. Entries flagged
``contains_pii`` are blanked after the retention period (``personal_data.PersonalData.purge_expired_pii``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, stored_text
from shopify_max.sync_store.tables import audit_log


@dataclass
class AuditEntry:
    """One payload sent or received. ``request``/``response`` may be text (XML) or JSON-able data."""

    entity: str
    direction: str  # e.g. shopify_to_max, max_to_shopify, shopify_read, max_read
    outcome: str  # e.g. exported, skipped, failed, pushed
    record_key: str | None = None
    request: Any = None
    response: Any = None
    run_id: str | None = None
    task_id: str | None = None
    duration_ms: int | None = None
    contains_pii: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """The ``audit_log`` row of one entry, redacted."""
    return {"run_id": entry.run_id, "task_id": entry.task_id, "entity": entry.entity,
            "record_key": entry.record_key, "direction": entry.direction, "request": stored_text(entry.request),
            "response": stored_text(entry.response), "outcome": entry.outcome, "duration_ms": entry.duration_ms,
            "contains_pii": entry.contains_pii, "created_at": utcnow()}


class AuditLog(TableAccess):
    def write_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append audit entries, redacted. Returns how many were written."""
        rows = [audit_row(entry) for entry in entries]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(audit_log.insert(), rows)
        return len(rows)

    def audit_entries(self, *, entity: str | None = None, record_key: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id)
        if entity:
            query = query.where(audit_log.c.entity == entity)
        if record_key:
            query = query.where(audit_log.c.record_key == record_key)
        with self.engine.begin() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]
