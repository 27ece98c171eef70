"""``error_queue``: bad records wait here with a reason a person can act on (docs/sync-store.md).

One item per entity × record × stage (the stages of each entity: ``states.ERROR_STAGES``). Its life cycle
(``ErrorStatus``):

- :meth:`~ErrorQueue.record_error` opens it, or bumps it (``attempts``, ``last_seen``) when the same record fails
  at the same stage again: a resolved item reopens, an ignored one stays ignored;
- :meth:`~ErrorQueue.claim_errors` moves open items to ``retrying`` for one worker (a replay); two workers never
  get the same item;
- the worker then resolves it (:meth:`~ErrorQueue.resolve_error`) or puts it back to ``open`` with one more
  attempt (:meth:`~ErrorQueue.release_error`); a person resolves or ignores it (:meth:`~ErrorQueue.ignore_error`)
  through the ``error_replay`` DAG (``shopify_max.error_queue_actions``), which claims it first, stores the
  ``note``, who acted (``acted_by``) and when (``acted_at``), and writes an ``audit_log`` entry in the same
  transaction (direction ``error_queue_action``);
- :meth:`~ErrorQueue.sync_errors` records what one complete check found, and resolves the open items of that
  check it no longer finds (the inventory checks).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.redaction import redact, redact_text
from shopify_max.sync_store.audit_log import AuditEntry, audit_row
from shopify_max.sync_store.common import TableAccess, stored_text
from shopify_max.sync_store.states import ErrorStatus, error_stage, parse_state
from shopify_max.sync_store.tables import audit_log, error_queue

# The statuses an item may be claimed from, and those a complete check resolves when it no longer finds them.
UNRESOLVED_STATUSES = (ErrorStatus.OPEN, ErrorStatus.RETRYING)


@dataclass(frozen=True)
class ErrorItem:
    id: int
    entity: str
    record_key: str
    stage: str
    reason: str
    detail: dict[str, Any]
    payload: str | None
    attempts: int
    status: ErrorStatus
    first_seen: datetime
    last_seen: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    note: str | None = None
    acted_by: str | None = None
    acted_at: datetime | None = None


def _error_texts(reason: str, detail: dict[str, Any] | None) -> tuple[str, str]:
    """An error item's reason and detail as stored: redacted, detail as sorted JSON."""
    reason = reason.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")  # a body's lone surrogates
    return redact_text(reason), json.dumps(redact(detail or {}), default=str, sort_keys=True)


def _action_values(note: str | None, acted_by: str | None) -> dict[str, Any]:
    """The columns a person's action sets (nothing for a worker's own resolve)."""
    if note is None and acted_by is None:
        return {}
    return {"note": redact_text(note) if note else None, "acted_by": acted_by, "acted_at": utcnow()}


def _status_when_seen_again(status: str) -> ErrorStatus:
    """An item a person chose to ignore stays ignored; anything else reopens."""
    return ErrorStatus.IGNORED if status == ErrorStatus.IGNORED else ErrorStatus.OPEN


def _error_item(row: Any) -> ErrorItem:
    return ErrorItem(
        id=row["id"],
        entity=row["entity"],
        record_key=row["record_key"],
        stage=row["stage"],
        reason=row["reason"],
        detail=json.loads(row["detail"]) if row["detail"] else {},
        payload=row["payload"],
        attempts=row["attempts"],
        status=ErrorStatus(row["status"]),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        note=row["note"],
        acted_by=row["acted_by"],
        acted_at=row["acted_at"],
    )


def _selection(*, entity: str | None = None, stage: str | None = None,
               statuses: Sequence[ErrorStatus | str] | None = None, reason_contains: str | None = None,
               record_keys: Sequence[str] | None = None, item_ids: Sequence[int] | None = None,
               claimed_before: datetime | None = None) -> list[ColumnElement[bool]]:
    """The WHERE conditions of an error-queue selection; every filter given applies (AND).

    ``claimed_before``: an item in ``retrying`` qualifies only when its claim is older (its worker died);
    without it, ``retrying`` items qualify as any other status does."""
    conditions: list[ColumnElement[bool]] = []
    if statuses is not None:
        wanted = [parse_state(ErrorStatus, status, "error-queue status") for status in statuses]
        conditions.append(error_queue.c.status.in_(wanted))
    if entity:
        conditions.append(error_queue.c.entity == entity)
    if stage:
        conditions.append(error_queue.c.stage == stage)
    if reason_contains:
        conditions.append(error_queue.c.reason.contains(reason_contains, autoescape=True))
    if record_keys:
        conditions.append(error_queue.c.record_key.in_([str(k) for k in record_keys]))
    if item_ids:
        conditions.append(error_queue.c.id.in_([int(i) for i in item_ids]))
    if claimed_before is not None:
        conditions.append(or_(error_queue.c.status != ErrorStatus.RETRYING, error_queue.c.claimed_at.is_(None),
                              error_queue.c.claimed_at < claimed_before))
    return conditions


class ErrorQueue(TableAccess):
    def record_error(
        self,
        *,
        entity: str,
        record_key: str,
        stage: str,
        reason: str,
        payload: Any = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Put a record on the error queue, or bump the item for the same record and stage (it reopens unless
        a person ignored it).

        ``reason`` must say what a person can do about it (which record, which field, which rule).
        Returns the item id.
        """
        entity, stage = error_stage(entity, stage)
        now = utcnow()
        payload_text = stored_text(payload)
        reason, detail_text = _error_texts(reason, detail)
        for _attempt in range(3):
            with self.engine.begin() as conn:
                query = select(error_queue.c.id, error_queue.c.status).where(
                    error_queue.c.entity == entity,
                    error_queue.c.record_key == str(record_key),
                    error_queue.c.stage == stage,
                )
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                existing = conn.execute(query).first()
                if existing is not None:
                    item_id, status = existing
                    conn.execute(
                        update(error_queue)
                        .where(error_queue.c.id == item_id)
                        .values(
                            reason=reason,
                            detail=detail_text,
                            payload=payload_text if payload_text is not None else error_queue.c.payload,
                            attempts=error_queue.c.attempts + 1,
                            status=_status_when_seen_again(status),
                            last_seen=now,
                            claimed_by=None,
                            claimed_at=None,
                            resolved_at=None,
                        )
                    )
                    return item_id
            try:
                with self.engine.begin() as conn:
                    return conn.execute(
                        error_queue.insert()
                        .values(
                            entity=entity,
                            record_key=str(record_key),
                            stage=stage,
                            reason=reason,
                            detail=detail_text,
                            payload=payload_text,
                            attempts=1,
                            status=ErrorStatus.OPEN,
                            first_seen=now,
                            last_seen=now,
                        )
                        .returning(error_queue.c.id)
                    ).scalar_one()
            except IntegrityError:
                continue  # another worker inserted it meanwhile: update theirs
        raise RuntimeError(f"could not record error for {entity} {record_key} at stage {stage}")

    def claim_errors(
        self,
        worker: str,
        *,
        limit: int = 100,
        entity: str | None = None,
        stage: str | None = None,
        statuses: Sequence[ErrorStatus | str] = (ErrorStatus.OPEN,),
        reason_contains: str | None = None,
        record_keys: Sequence[str] | None = None,
        item_ids: Sequence[int] | None = None,
        claimed_before: datetime | None = None,
    ) -> list[ErrorItem]:
        """Claim up to ``limit`` items for ``worker`` (status → ``retrying``). Two workers never get the
        same item: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite.

        Every filter given applies (AND); ``claimed_before`` leaves ``retrying`` items claimed since then to
        their worker (see :func:`_selection`)."""
        conditions = _selection(entity=entity, stage=stage, statuses=statuses, reason_contains=reason_contains,
                                record_keys=record_keys, item_ids=item_ids, claimed_before=claimed_before)
        with self.engine.begin() as conn:
            query = select(error_queue.c.id).where(and_(*conditions)).order_by(error_queue.c.id).limit(limit)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(
                update(error_queue)
                .where(error_queue.c.id.in_(ids))
                .values(status=ErrorStatus.RETRYING, claimed_by=worker, claimed_at=utcnow())
            )
            rows = conn.execute(select(error_queue).where(error_queue.c.id.in_(ids)).order_by(error_queue.c.id))
            return [_error_item(row) for row in rows.mappings()]

    def resolve_error(self, item_id: int, note: str | None = None, acted_by: str | None = None, *,
                      audit: AuditEntry | None = None) -> None:
        """Mark the item fixed. A person's action (``acted_by``) stores its ``note``, who and when; ``audit``
        is written in the same transaction (the record's audit trail)."""
        self._set_error_status(item_id, ErrorStatus.RESOLVED, resolved_at=utcnow(),
                               **_action_values(note, acted_by), audit=audit)

    def ignore_error(self, item_id: int, note: str | None = None, acted_by: str | None = None, *,
                     audit: AuditEntry | None = None) -> None:
        """A person decided the item needs nothing: it stays ignored when the problem is recorded again."""
        self._set_error_status(item_id, ErrorStatus.IGNORED, **_action_values(note, acted_by), audit=audit)

    def release_error(self, item_id: int, *, reason: str | None = None, note: str | None = None,
                      acted_by: str | None = None, audit: AuditEntry | None = None) -> None:
        """A claimed item failed again: back to ``open`` with one more attempt and the new reason."""
        values: dict[str, Any] = {"attempts": error_queue.c.attempts + 1, "last_seen": utcnow()}
        if reason:
            values["reason"] = redact_text(reason)
        self._set_error_status(item_id, ErrorStatus.OPEN, **values, **_action_values(note, acted_by), audit=audit)

    def unclaim_error(self, item_id: int, status: ErrorStatus | str, *, audit: AuditEntry | None = None) -> None:
        """Give a claimed item back (to its status before the claim): nothing was changed on it."""
        self._set_error_status(item_id, parse_state(ErrorStatus, status, "error-queue status"), audit=audit)

    def note_error_action(self, item_id: int, note: str | None, acted_by: str, *,
                          audit: AuditEntry | None = None) -> None:
        """Record who acted on an item (and why) without changing its status (the run already did)."""
        with self.engine.begin() as conn:
            conn.execute(update(error_queue).where(error_queue.c.id == item_id)
                         .values(**_action_values(note, acted_by)))
            if audit is not None:
                conn.execute(audit_log.insert(), [audit_row(audit)])

    def _set_error_status(self, item_id: int, status: ErrorStatus, *, audit: AuditEntry | None = None,
                          **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(error_queue)
                .where(error_queue.c.id == item_id)
                .values(status=status, claimed_by=None, claimed_at=None, **values)
            )
            if audit is not None:
                conn.execute(audit_log.insert(), [audit_row(audit)])

    def select_errors(self, *, limit: int = 500, **selection: Any) -> list[ErrorItem]:
        """The items a selection matches (the filters of :meth:`claim_errors`), oldest first, without claiming."""
        query = select(error_queue).where(and_(true(), *_selection(**selection))).order_by(error_queue.c.id)
        with self.engine.begin() as conn:
            return [_error_item(row) for row in conn.execute(query.limit(limit)).mappings()]

    def sync_errors(self, *, entity: str, stage: str,
                    found: dict[str, tuple[str, dict[str, Any]]]) -> tuple[dict[str, int], int]:
        """What one complete check found, in one transaction: each problem queued or bumped (as
        ``record_error`` does), and open items of ``entity``/``stage`` it no longer finds resolved.

        ``found`` maps record key → (reason, detail). Returns (item id per record key, items resolved).
        """
        entity, stage = error_stage(entity, stage)
        now = utcnow()
        for _attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    return self._sync_errors(conn, entity, stage, found, now)
            except IntegrityError:
                continue  # another worker queued one of them meanwhile: go again, updating theirs
        raise RuntimeError(f"could not record {entity}/{stage} errors")

    @staticmethod
    def _sync_errors(conn: Connection, entity: str, stage: str, found: dict[str, tuple[str, dict[str, Any]]],
                     now: datetime) -> tuple[dict[str, int], int]:
        existing = {key: (item_id, status) for item_id, key, status in conn.execute(
            select(error_queue.c.id, error_queue.c.record_key, error_queue.c.status)
            .where(error_queue.c.entity == entity, error_queue.c.stage == stage))}
        updates, inserts = [], []
        for key, (reason, detail) in found.items():
            text, detail_text = _error_texts(reason, detail)
            values = {"reason": text, "detail": detail_text}
            if key in existing:
                item_id, status = existing[key]
                updates.append({**values, "item_id": item_id, "new_status": _status_when_seen_again(status)})
            else:
                inserts.append({**values, "entity": entity, "record_key": key, "stage": stage, "attempts": 1,
                                "status": ErrorStatus.OPEN, "first_seen": now, "last_seen": now})
        if updates:
            conn.execute(update(error_queue).where(error_queue.c.id == bindparam("item_id")).values(
                reason=bindparam("reason"), detail=bindparam("detail"), attempts=error_queue.c.attempts + 1,
                status=bindparam("new_status"), last_seen=now, claimed_by=None, claimed_at=None, resolved_at=None),
                updates)
        if inserts:
            conn.execute(error_queue.insert(), inserts)
        stale = [item_id for key, (item_id, status) in existing.items()
                 if key not in found and status in UNRESOLVED_STATUSES]
        for start in range(0, len(stale), 500):
            conn.execute(update(error_queue).where(error_queue.c.id.in_(stale[start:start + 500]))
                         .values(status=ErrorStatus.RESOLVED, resolved_at=now, claimed_by=None, claimed_at=None))
        ids = {} if not found else {key: item_id for item_id, key in conn.execute(
            select(error_queue.c.id, error_queue.c.record_key)
            .where(error_queue.c.entity == entity, error_queue.c.stage == stage)) if key in found}
        return ids, len(stale)

    def list_errors(
        self, *, status: ErrorStatus | str | None = None, entity: str | None = None, stage: str | None = None
    ) -> list[ErrorItem]:
        query = select(error_queue).order_by(error_queue.c.id)
        if status:
            query = query.where(error_queue.c.status == status)
        if entity:
            query = query.where(error_queue.c.entity == entity)
        if stage:
            query = query.where(error_queue.c.stage == stage)
        with self.engine.begin() as conn:
            return [_error_item(row) for row in conn.execute(query).mappings()]
