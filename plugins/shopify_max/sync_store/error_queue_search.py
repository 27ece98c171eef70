"""Read queries over the error queue for people: filters, counts, pages, one item's detail and its audit trail.

The error-queue page (``shopify_max.error_queue_page``) is the caller; nothing here writes. Every query is
parameterised SQLAlchemy Core and runs on SQLite and PostgreSQL. Texts are stored redacted
(:mod:`.error_queue`, :mod:`.audit_log`); a caller that shows them redacts again at display.

Ages: ``older_than`` keeps items first seen at least that long ago, ``seen_within`` those seen (again) within
that long: "open for more than a day", "still failing in the last hour".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.states import ErrorEntity, ErrorStatus, parse_state
from shopify_max.sync_store.tables import audit_log, error_queue, order_stage

# Columns a person acts through (migration 0006); read when the table has them.
ACTION_COLUMNS = ("note", "acted_by", "acted_at")
MAX_PAGE_SIZE = 200
AUDIT_TRAIL_LIMIT = 200
# The audit entities that concern an error-queue entity's records (orders are audited as "order").
_AUDIT_ENTITIES = {ErrorEntity.ORDER: ("order",), ErrorEntity.INVENTORY: ("inventory",),
                   ErrorEntity.PRIVACY: ("privacy",)}


@dataclass(frozen=True)
class ErrorQueueFilter:
    """Which items a person looks at. Empty fields do not filter."""

    entity: str | None = None
    stage: str | None = None
    statuses: Sequence[str] = ()
    text: str | None = None  # in the reason or the record key, case-insensitive
    older_than: timedelta | None = None  # first seen at least this long ago
    seen_within: timedelta | None = None  # last seen at most this long ago
    item_ids: Sequence[int] = ()

    def __post_init__(self) -> None:
        if self.entity:
            parse_state(ErrorEntity, self.entity, "error-queue entity")
        for status in self.statuses:
            parse_state(ErrorStatus, status, "error-queue status")

    def conditions(self, now: datetime, *, without: str | None = None) -> list[ColumnElement[bool]]:
        """The WHERE conditions; ``without`` leaves one dimension out (for the counts beside a filter)."""
        c = error_queue.c
        found: list[ColumnElement[bool]] = []
        if self.entity and without != "entity":
            found.append(c.entity == self.entity)
        if self.stage and without != "stage":
            found.append(c.stage == self.stage)
        if self.statuses and without != "status":
            found.append(c.status.in_([str(status) for status in self.statuses]))
        if self.text:
            pattern = f"%{_escape_like(self.text.lower())}%"
            found.append(or_(func.lower(c.reason).like(pattern, escape="\\"),
                             func.lower(c.record_key).like(pattern, escape="\\")))
        if self.older_than is not None:
            found.append(c.first_seen <= now - self.older_than)
        if self.seen_within is not None:
            found.append(c.last_seen >= now - self.seen_within)
        if self.item_ids:
            found.append(c.id.in_([int(item_id) for item_id in self.item_ids]))
        return found


@dataclass
class ErrorPage:
    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _action_columns() -> list[Any]:
    return [error_queue.c[name] for name in ACTION_COLUMNS if name in error_queue.c]


def _summary_columns() -> list[Any]:
    c = error_queue.c
    return [c.id, c.entity, c.record_key, c.stage, c.status, c.reason, c.attempts, c.first_seen, c.last_seen,
            c.resolved_at, *_action_columns()]


class ErrorQueueSearch(TableAccess):
    def search_errors(self, filters: ErrorQueueFilter | None = None, *, offset: int = 0, limit: int = 50,
                      newest_first: bool = True) -> ErrorPage:
        """One page of items (newest ``last_seen`` first), the total under the filters, and the counts by
        entity, stage (``entity/stage``) and status, each under the other filters."""
        filters = filters or ErrorQueueFilter()
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        offset = max(0, int(offset))
        now = utcnow()
        where = and_(true(), *filters.conditions(now))
        order = (error_queue.c.last_seen.desc(), error_queue.c.id.desc()) if newest_first else (error_queue.c.id,)
        with self.engine.begin() as conn:
            total = conn.execute(select(func.count()).select_from(error_queue).where(where)).scalar_one()
            rows = conn.execute(select(*_summary_columns()).where(where).order_by(*order)
                                .offset(offset).limit(limit)).mappings()
            items = [dict(row) for row in rows]
            counts = self._counts(conn, filters, now)
        return ErrorPage(items=items, total=total, offset=offset, limit=limit, counts=counts)

    @staticmethod
    def _counts(conn: Any, filters: ErrorQueueFilter, now: datetime) -> dict[str, dict[str, int]]:
        c = error_queue.c
        counts: dict[str, dict[str, int]] = {}
        for name, columns in (("by_entity", (c.entity,)), ("by_stage", (c.entity, c.stage)),
                              ("by_status", (c.status,))):
            dimension = {"by_entity": "entity", "by_stage": "stage", "by_status": "status"}[name]
            query = (select(*columns, func.count()).where(and_(true(), *filters.conditions(now, without=dimension)))
                     .group_by(*columns).order_by(*columns))
            counts[name] = {"/".join(str(part) for part in row[:-1]): row[-1] for row in conn.execute(query)}
        return counts

    def error_item(self, item_id: int) -> dict[str, Any] | None:
        """Every stored column of one item (reason, detail, payload as stored: redacted), or None."""
        with self.engine.begin() as conn:
            row = conn.execute(select(error_queue).where(error_queue.c.id == int(item_id))).mappings().first()
            if row is None:
                return None
            item = dict(row)
            runs = conn.execute(
                select(order_stage.c.run_id, order_stage.c.run_outcome, order_stage.c.run_outcome_code,
                       order_stage.c.max_ordnum, order_stage.c.updated_at)
                .where(order_stage.c.error_queue_id == item["id"])).mappings()
            item["order_stage"] = [dict(run) for run in runs]
        return item

    def audit_trail(self, entity: str, record_key: str, *, limit: int = AUDIT_TRAIL_LIMIT) -> list[dict[str, Any]]:
        """The audit entries of one record (as stored: redacted), oldest first, at most ``limit`` (the newest)."""
        entities = _AUDIT_ENTITIES.get(entity, (entity,))
        a = audit_log.c
        query = (select(a.id, a.run_id, a.task_id, a.entity, a.record_key, a.direction, a.outcome, a.request,
                        a.response, a.duration_ms, a.created_at, a.pii_purged_at)
                 .where(a.entity.in_(entities), a.record_key == str(record_key))
                 .order_by(a.id.desc()).limit(max(1, min(int(limit), 1000))))
        with self.engine.begin() as conn:
            return [dict(row) for row in reversed(list(conn.execute(query).mappings()))]

    def error_keys(self, item_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(entity, status) now of each of ``item_ids`` that exists."""
        if not item_ids:
            return {}
        c = error_queue.c
        with self.engine.begin() as conn:
            rows = conn.execute(select(c.id, c.entity, c.status).where(c.id.in_([int(i) for i in item_ids])))
            return {item_id: (entity, status) for item_id, entity, status in rows}
