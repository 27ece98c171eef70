"""Everything the integration remembers between runs, behind one small API.

Each method is one transaction. Rules it guarantees (DESIGN.md, correctness rules):
- an id mapping recorded twice is a no-op; a conflicting one raises :class:`IdMappingConflict`;
- a webhook delivery is stored once, whatever its retries and duplicates;
- two workers claiming error-queue items never get the same item;
- audit entries are redacted before they are written, and PII in them has a retention period.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.redaction import redact, redact_text
from shopify_max.sync_store import migrator
from shopify_max.sync_store.engine import create_sync_store_engine
from shopify_max.sync_store.tables import (
    ERROR_STATUSES,
    ID_MAP_ENTITIES,
    INBOX_STATUSES,
    ORDER_STAGE_STATUSES,
    audit_log,
    error_queue,
    id_map,
    inbox,
    inventory_item,
    inventory_shadow,
    inventory_target,
    order_stage,
    watermarks,
)

log = logging.getLogger(__name__)

PURGED_MARKER = '{"purged": "PII retention period elapsed"}'


@dataclass(frozen=True)
class InventoryItemRow:
    sku: str
    inventory_item_gid: str | None  # set only when exactly one item carries the SKU
    match_count: int
    item_gids: tuple[str, ...]


@dataclass(frozen=True)
class InventoryTarget:
    sku: str
    location_gid: str
    part_number: str
    quantity: int


class IdMappingConflict(Exception):
    """A Shopify gid or a MAX key is already mapped to something else."""


@dataclass(frozen=True)
class InboxDelivery:
    """One webhook delivery as received (headers already verified)."""

    webhook_id: str
    topic: str
    payload: str
    event_id: str | None = None
    shop_domain: str | None = None
    api_version: str | None = None
    triggered_at: datetime | None = None
    resource_gid: str | None = None


@dataclass(frozen=True)
class InboxRow:
    id: int
    webhook_id: str
    event_id: str | None
    topic: str
    resource_gid: str | None
    payload: str | None
    status: str
    received_at: datetime
    triggered_at: datetime | None
    claims: int = 0


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
    status: str
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class StagedOrder:
    """An order captured from Shopify, waiting in (or done with) the export pipeline."""

    order_gid: str
    order_name: str
    source: str
    shopify_updated_at: datetime
    payload_digest: str
    material_digest: str
    order_json: str | None
    status: str
    mapped_json: str | None = None
    detail: str | None = None
    exported_material_digest: str | None = None
    max_ordnum: str | None = None
    run_id: str | None = None
    run_outcome: str | None = None
    run_outcome_reason: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    deferred_json: str | None = None  # a newer version that arrived while a write to MAX was under way
    deferred_updated_at: datetime | None = None
    row_version: int = 0

    def lease_is_live(self, now: datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at >= now


# Statuses in which a write to MAX may be under way for the order (export or cancellation).
WRITING_STATUSES = ("exporting", "cancel_pending")
IN_FLIGHT_STATUSES = ("captured", "mapped", "validated", *WRITING_STATUSES)


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


def _error_texts(reason: str, detail: dict[str, Any] | None) -> tuple[str, str]:
    """An error item's reason and detail as stored: redacted, detail as sorted JSON."""
    return redact_text(reason), json.dumps(redact(detail or {}), default=str, sort_keys=True)


def _as_text(value: Any) -> str | None:
    """Serialise an audit payload after redaction: strings stay strings, the rest becomes JSON."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return redact_text(value)
    return json.dumps(redact(value), default=str, sort_keys=True)


def _insert_for(conn: Connection):  # noqa: ANN202 - dialect-specific insert constructor
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class SyncStore:
    """The sync store on one SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = True) -> SyncStore:
        store = cls(create_sync_store_engine(url))
        if migrate:
            store.migrate()
        return store

    # -- schema -------------------------------------------------------------------------------
    def migrate(self) -> str:
        """Upgrade the schema to the newest migration when it is behind; returns the revision."""
        head = migrator.head_revision()
        if migrator.current_revision(self.engine) != head:
            migrator.upgrade_to_head(self.engine)
        return head

    def schema_revision(self) -> str | None:
        return migrator.current_revision(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- id map -------------------------------------------------------------------------------
    def record_id_mapping(self, entity: str, shopify_gid: str, max_key: str, *, run_id: str | None = None) -> bool:
        """Record ``shopify_gid`` ⇄ ``max_key``. True if new, False if already recorded the same way.

        Raises :class:`IdMappingConflict` when either side is already mapped to something else.
        """
        if entity not in ID_MAP_ENTITIES:
            raise ValueError(f"unknown id_map entity {entity!r}; expected one of {ID_MAP_ENTITIES}")
        shopify_gid, max_key = str(shopify_gid), str(max_key).strip()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    id_map.insert().values(
                        entity=entity, shopify_gid=shopify_gid, max_key=max_key, run_id=run_id, created_at=utcnow()
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(id_map.c.shopify_gid, id_map.c.max_key).where(
                    id_map.c.entity == entity,
                    or_(id_map.c.shopify_gid == shopify_gid, id_map.c.max_key == max_key),
                )
            ).all()
        if len(rows) == 1 and tuple(rows[0]) == (shopify_gid, max_key):
            return False
        existing = ", ".join(f"{gid} ⇄ {key}" for gid, key in rows)
        raise IdMappingConflict(
            f"{entity} mapping {shopify_gid} ⇄ {max_key} conflicts with existing mapping(s): {existing}"
        )

    def max_key_for(self, entity: str, shopify_gid: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(
                select(id_map.c.max_key).where(id_map.c.entity == entity, id_map.c.shopify_gid == str(shopify_gid))
            ).scalar_one_or_none()

    def max_keys_for(self, entity: str, shopify_gids: Iterable[str]) -> dict[str, str]:
        """Batch lookup: the MAX keys already recorded for these gids (missing gids are absent)."""
        gids = [str(gid) for gid in shopify_gids]
        found: dict[str, str] = {}
        with self.engine.begin() as conn:
            for start in range(0, len(gids), 500):
                chunk = gids[start : start + 500]
                rows = conn.execute(
                    select(id_map.c.shopify_gid, id_map.c.max_key).where(
                        id_map.c.entity == entity, id_map.c.shopify_gid.in_(chunk)
                    )
                )
                found.update({gid: key for gid, key in rows})
        return found

    def shopify_gid_for(self, entity: str, max_key: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(
                select(id_map.c.shopify_gid).where(id_map.c.entity == entity, id_map.c.max_key == str(max_key).strip())
            ).scalar_one_or_none()

    # -- inbox --------------------------------------------------------------------------------
    def add_inbox_delivery(self, delivery: InboxDelivery) -> bool:
        """Store a webhook delivery. False when it duplicates one already stored (same webhook id,
        or same topic and event id)."""
        row = {
            "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id,
            "topic": delivery.topic,
            "shop_domain": delivery.shop_domain,
            "api_version": delivery.api_version,
            "triggered_at": delivery.triggered_at,
            "received_at": utcnow(),
            "resource_gid": delivery.resource_gid,
            "payload": delivery.payload,
            "status": "new",
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(inbox.insert().values(**row))
            return True
        except IntegrityError:
            return False

    def claim_inbox(self, *, topics: Sequence[str] | None = None, limit: int = 500,
                    worker: str | None = None) -> list[InboxRow]:
        """Move up to ``limit`` new deliveries to ``processing`` for ``worker`` and return them, oldest first.

        The claim is timed (``claimed_at``) and counted (``claims``): see :meth:`requeue_stale_inbox`."""
        now = utcnow()
        with self.engine.begin() as conn:
            query = select(inbox.c.id).where(inbox.c.status == "new").order_by(inbox.c.id).limit(limit)
            if topics:
                query = query.where(inbox.c.topic.in_(list(topics)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(update(inbox).where(inbox.c.id.in_(ids)).values(
                status="processing", claimed_at=now, claimed_by=worker, claims=inbox.c.claims + 1))
            rows = conn.execute(select(inbox).where(inbox.c.id.in_(ids)).order_by(inbox.c.id)).mappings().all()
        return [self._inbox_row(r) for r in rows]

    @staticmethod
    def _inbox_row(r: Any) -> InboxRow:
        return InboxRow(id=r["id"], webhook_id=r["webhook_id"], event_id=r["event_id"], topic=r["topic"],
                        resource_gid=r["resource_gid"], payload=r["payload"], status=r["status"],
                        received_at=r["received_at"], triggered_at=r["triggered_at"], claims=r["claims"])

    def mark_inbox(self, ids: Iterable[int], status: str) -> int:
        if status not in INBOX_STATUSES:
            raise ValueError(f"unknown inbox status {status!r}; expected one of {INBOX_STATUSES}")
        id_list = list(ids)
        if not id_list:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                update(inbox).where(inbox.c.id.in_(id_list)).values(status=status, processed_at=utcnow())
            ).rowcount

    def requeue_stale_inbox(self, older_than: timedelta, *, max_claims: int = 3,
                            topics: Sequence[str] | None = None) -> tuple[int, list[InboxRow]]:
        """Deliveries whose claim is older than ``older_than`` (the worker died, was killed or crashed) go back
        to ``new``; those already claimed ``max_claims`` times go to ``failed`` instead, because they keep
        killing whoever claims them (a poison message). Returns (requeued, the deliveries failed now)."""
        now = utcnow()
        cutoff = now - older_than
        stale = and_(inbox.c.status == "processing",
                     or_(inbox.c.claimed_at < cutoff, and_(inbox.c.claimed_at.is_(None), inbox.c.received_at < cutoff)))
        if topics:
            stale = and_(stale, inbox.c.topic.in_(list(topics)))
        with self.engine.begin() as conn:
            poisoned_ids = list(conn.execute(select(inbox.c.id).where(stale, inbox.c.claims >= max_claims)).scalars())
            if poisoned_ids:
                conn.execute(update(inbox).where(inbox.c.id.in_(poisoned_ids))
                             .values(status="failed", processed_at=now))
            requeued = conn.execute(update(inbox).where(stale, inbox.c.claims < max_claims)
                                    .values(status="new", claimed_at=None, claimed_by=None)).rowcount
            poisoned = [self._inbox_row(r) for r in conn.execute(
                select(inbox).where(inbox.c.id.in_(poisoned_ids)).order_by(inbox.c.id)).mappings()] if poisoned_ids else []
        return requeued, poisoned

    def inbox_counts(self) -> dict[str, int]:
        with self.engine.begin() as conn:
            return dict(conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status)).all())

    # -- error queue --------------------------------------------------------------------------
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
        """Put a record on the error queue, or bump the open item for the same record and stage.

        ``reason`` must say what a person can do about it (which record, which field, which rule).
        Returns the item id.
        """
        now = utcnow()
        payload_text = _as_text(payload)
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
                            # An item a person chose to ignore stays ignored; anything else reopens.
                            status="ignored" if status == "ignored" else "open",
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
                            status="open",
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
        statuses: Sequence[str] = ("open",),
        reason_contains: str | None = None,
        record_keys: Sequence[str] | None = None,
    ) -> list[ErrorItem]:
        """Claim up to ``limit`` items for ``worker`` (status → ``retrying``). Two workers never get the
        same item: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite."""
        for status in statuses:
            if status not in ERROR_STATUSES:
                raise ValueError(f"unknown error-queue status {status!r}; expected one of {ERROR_STATUSES}")
        conditions = [error_queue.c.status.in_(list(statuses))]
        if entity:
            conditions.append(error_queue.c.entity == entity)
        if stage:
            conditions.append(error_queue.c.stage == stage)
        if reason_contains:
            conditions.append(error_queue.c.reason.contains(reason_contains, autoescape=True))
        if record_keys:
            conditions.append(error_queue.c.record_key.in_([str(k) for k in record_keys]))
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
                .values(status="retrying", claimed_by=worker, claimed_at=utcnow())
            )
            rows = conn.execute(select(error_queue).where(error_queue.c.id.in_(ids)).order_by(error_queue.c.id))
            return [self._error_item(row) for row in rows.mappings()]

    def resolve_error(self, item_id: int) -> None:
        self._set_error_status(item_id, "resolved", resolved_at=utcnow())

    def ignore_error(self, item_id: int) -> None:
        self._set_error_status(item_id, "ignored")

    def release_error(self, item_id: int, *, reason: str | None = None) -> None:
        """A claimed item failed again: back to ``open`` with one more attempt and the new reason."""
        values: dict[str, Any] = {"attempts": error_queue.c.attempts + 1, "last_seen": utcnow()}
        if reason:
            values["reason"] = redact_text(reason)
        self._set_error_status(item_id, "open", **values)

    def _set_error_status(self, item_id: int, status: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(error_queue)
                .where(error_queue.c.id == item_id)
                .values(status=status, claimed_by=None, claimed_at=None, **values)
            )

    def sync_errors(self, *, entity: str, stage: str,
                    found: dict[str, tuple[str, dict[str, Any]]]) -> tuple[dict[str, int], int]:
        """What one complete check found, in one transaction: each problem queued or bumped (as
        ``record_error`` does), and open items of ``entity``/``stage`` it no longer finds resolved.

        ``found`` maps record key → (reason, detail). Returns (item id per record key, items resolved).
        """
        now = utcnow()
        for _attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    return self._sync_errors(conn, entity, stage, found, now)
            except IntegrityError:
                continue  # another worker queued one of them meanwhile: go again, updating theirs
        raise RuntimeError(f"could not record {entity}/{stage} errors")

    def _sync_errors(self, conn: Connection, entity: str, stage: str, found: dict[str, tuple[str, dict[str, Any]]],
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
                updates.append({**values, "item_id": item_id,
                                "new_status": "ignored" if status == "ignored" else "open"})
            else:
                inserts.append({**values, "entity": entity, "record_key": key, "stage": stage, "attempts": 1,
                                "status": "open", "first_seen": now, "last_seen": now})
        if updates:
            conn.execute(update(error_queue).where(error_queue.c.id == bindparam("item_id")).values(
                reason=bindparam("reason"), detail=bindparam("detail"), attempts=error_queue.c.attempts + 1,
                status=bindparam("new_status"), last_seen=now, claimed_by=None, claimed_at=None, resolved_at=None),
                updates)
        if inserts:
            conn.execute(error_queue.insert(), inserts)
        stale = [item_id for key, (item_id, status) in existing.items()
                 if key not in found and status in ("open", "retrying")]
        for start in range(0, len(stale), 500):
            conn.execute(update(error_queue).where(error_queue.c.id.in_(stale[start:start + 500]))
                         .values(status="resolved", resolved_at=now, claimed_by=None, claimed_at=None))
        ids = {} if not found else {key: item_id for item_id, key in conn.execute(
            select(error_queue.c.id, error_queue.c.record_key)
            .where(error_queue.c.entity == entity, error_queue.c.stage == stage)) if key in found}
        return ids, len(stale)

    def list_errors(
        self, *, status: str | None = None, entity: str | None = None, stage: str | None = None
    ) -> list[ErrorItem]:
        query = select(error_queue).order_by(error_queue.c.id)
        if status:
            query = query.where(error_queue.c.status == status)
        if entity:
            query = query.where(error_queue.c.entity == entity)
        if stage:
            query = query.where(error_queue.c.stage == stage)
        with self.engine.begin() as conn:
            return [self._error_item(row) for row in conn.execute(query).mappings()]

    @staticmethod
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
            status=row["status"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
        )

    # -- audit log ----------------------------------------------------------------------------
    def write_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append audit entries, redacted. Returns how many were written."""
        rows = [self._audit_row(entry) for entry in entries]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(audit_log.insert(), rows)
        return len(rows)

    @staticmethod
    def _audit_row(entry: AuditEntry) -> dict[str, Any]:
        return {"run_id": entry.run_id, "task_id": entry.task_id, "entity": entry.entity,
                "record_key": entry.record_key, "direction": entry.direction, "request": _as_text(entry.request),
                "response": _as_text(entry.response), "outcome": entry.outcome, "duration_ms": entry.duration_ms,
                "contains_pii": entry.contains_pii, "created_at": utcnow()}

    def audit_entries(self, *, entity: str | None = None, record_key: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id)
        if entity:
            query = query.where(audit_log.c.entity == entity)
        if record_key:
            query = query.where(audit_log.c.record_key == record_key)
        with self.engine.begin() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- watermarks ---------------------------------------------------------------------------
    def get_watermark(self, flow: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(select(watermarks.c.value).where(watermarks.c.flow == flow)).scalar_one_or_none()

    def set_watermark(self, flow: str, value: str, *, run_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            insert = _insert_for(conn)(watermarks).values(flow=flow, value=value, updated_at=utcnow(), run_id=run_id)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[watermarks.c.flow],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at, "run_id": run_id},
                )
            )

    # -- inventory shadow ---------------------------------------------------------------------
    def shadow_quantities(self) -> dict[tuple[str, str], int]:
        """Last quantity pushed per (inventory item gid, location gid)."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(inventory_shadow.c.inventory_item_gid, inventory_shadow.c.location_gid, inventory_shadow.c.quantity)
            )
            return {(item, location): quantity for item, location, quantity in rows}

    def upsert_shadow(self, quantities: dict[tuple[str, str], int], *, run_id: str | None = None) -> int:
        with self.engine.begin() as conn:
            return self._upsert_shadow(conn, quantities, run_id)

    def record_pushed_quantities(self, quantities: dict[tuple[str, str], int], audit: Iterable[AuditEntry], *,
                                 run_id: str | None = None) -> None:
        """What one push batch set, with its audit entries, in one transaction."""
        with self.engine.begin() as conn:
            self._upsert_shadow(conn, quantities, run_id)
            rows = [self._audit_row(entry) for entry in audit]
            if rows:
                conn.execute(audit_log.insert(), rows)

    @staticmethod
    def _upsert_shadow(conn: Connection, quantities: dict[tuple[str, str], int], run_id: str | None) -> int:
        if not quantities:
            return 0
        now = utcnow()
        rows = [
            {"inventory_item_gid": item, "location_gid": location, "quantity": int(qty), "pushed_at": now, "run_id": run_id}
            for (item, location), qty in quantities.items()
        ]
        insert = _insert_for(conn)(inventory_shadow)
        statement = insert.on_conflict_do_update(
            index_elements=[inventory_shadow.c.inventory_item_gid, inventory_shadow.c.location_gid],
            set_={
                "quantity": insert.excluded.quantity,
                "pushed_at": insert.excluded.pushed_at,
                "run_id": insert.excluded.run_id,
            },
        )
        for start in range(0, len(rows), 1000):
            conn.execute(statement, rows[start : start + 1000])
        return len(rows)

    def replace_shadow(self, quantities: dict[tuple[str, str], int], *, run_id: str | None = None) -> int:
        """A full reconcile rebuilds the shadow: drop what is there and write what Shopify now holds."""
        with self.engine.begin() as conn:  # one transaction: a reader never sees the shadow half rebuilt
            conn.execute(inventory_shadow.delete())
            return self._upsert_shadow(conn, quantities, run_id)

    # -- inventory items by SKU and targets -----------------------------------------------------
    def inventory_items(self) -> dict[str, InventoryItemRow]:
        """Shopify's inventory items by SKU, as last read (see ``record_inventory_items``)."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(inventory_item)).mappings().all()
        return {row["sku"]: InventoryItemRow(row["sku"], row["inventory_item_gid"], row["match_count"],
                                             tuple(json.loads(row["item_gids"]))) for row in rows}

    def record_inventory_items(self, items_by_sku: dict[str, Sequence[str]], *, run_id: str | None = None,
                               replace: bool = False) -> int:
        """Record which inventory items carry each SKU (none, one, or several: a duplicate).

        ``replace`` (a full read of Shopify) drops what is not in ``items_by_sku``; otherwise rows are upserted.
        """
        now = utcnow()
        rows = [{"sku": sku, "inventory_item_gid": gids[0] if len(gids) == 1 else None, "match_count": len(gids),
                 "item_gids": json.dumps(sorted(gids)), "refreshed_at": now, "run_id": run_id}
                for sku, gids in items_by_sku.items()]
        with self.engine.begin() as conn:
            if replace:
                conn.execute(inventory_item.delete())
            insert = _insert_for(conn)(inventory_item)
            statement = insert.on_conflict_do_update(
                index_elements=[inventory_item.c.sku],
                set_={name: insert.excluded[name] for name in
                      ("inventory_item_gid", "match_count", "item_gids", "refreshed_at", "run_id")})
            for start in range(0, len(rows), 1000):
                conn.execute(statement, rows[start:start + 1000])
        return len(rows)

    def replace_inventory_targets(self, targets: Iterable[InventoryTarget], *, run_id: str) -> int:
        """The quantities this run computed from MAX replace the previous run's."""
        now = utcnow()
        rows = [{"sku": t.sku, "location_gid": t.location_gid, "part_number": t.part_number, "quantity": t.quantity,
                 "run_id": run_id, "computed_at": now} for t in targets]
        with self.engine.begin() as conn:
            conn.execute(inventory_target.delete())
            for start in range(0, len(rows), 1000):
                conn.execute(inventory_target.insert(), rows[start:start + 1000])
        return len(rows)

    def inventory_targets(self, *, run_id: str) -> list[InventoryTarget] | None:
        """The targets computed by ``run_id``; None when the stored ones belong to another run (or none exist)."""
        with self.engine.begin() as conn:
            runs = conn.execute(select(inventory_target.c.run_id).distinct()).scalars().all()
            if runs != [run_id]:
                return None
            rows = conn.execute(select(inventory_target.c.sku, inventory_target.c.location_gid,
                                       inventory_target.c.part_number, inventory_target.c.quantity)
                                .order_by(inventory_target.c.sku, inventory_target.c.location_gid)).all()
        return [InventoryTarget(*row) for row in rows]

    # -- order stage ----------------------------------------------------------------------------
    def staged_orders(self, order_gids: Iterable[str]) -> dict[str, StagedOrder]:
        gids = list(order_gids)
        found: dict[str, StagedOrder] = {}
        with self.engine.begin() as conn:
            for start in range(0, len(gids), 500):
                rows = conn.execute(select(order_stage).where(order_stage.c.order_gid.in_(gids[start:start + 500])))
                found.update({row["order_gid"]: self._staged(row) for row in rows.mappings()})
        return found

    def stage_order(self, order: StagedOrder, *, expected_version: int | None = None) -> bool:
        """Write the staged copy of an order, only if nobody changed the row since it was read.

        ``expected_version`` None: insert a new row (False when one appeared meanwhile). Otherwise replace the
        row only while its ``row_version`` is still ``expected_version``. A row whose write lease is live is
        never replaced. The caller re-reads and decides again when this returns False. The deferred version is
        dropped: the caller stages the newest version it knows. What was exported (ORDNUM and the digest
        exported) is kept: staging never changes it.
        """
        now = utcnow()
        values = {
            "order_gid": order.order_gid, "order_name": order.order_name, "source": order.source,
            "shopify_updated_at": order.shopify_updated_at, "payload_digest": order.payload_digest,
            "material_digest": order.material_digest, "order_json": order.order_json, "status": order.status,
            "mapped_json": order.mapped_json, "detail": order.detail, "run_id": order.run_id,
            "run_outcome": order.run_outcome, "run_outcome_reason": order.run_outcome_reason,
            "claimed_at": None, "updated_at": now, "lease_owner": None, "lease_expires_at": None,
            "deferred_json": None, "deferred_updated_at": None,
        }
        with self.engine.begin() as conn:
            if expected_version is None:
                insert = _insert_for(conn)(order_stage).values(**values, captured_at=now, row_version=1)
                return conn.execute(insert.on_conflict_do_nothing(index_elements=[order_stage.c.order_gid])).rowcount == 1
            return conn.execute(
                update(order_stage)
                .where(order_stage.c.order_gid == order.order_gid, order_stage.c.row_version == expected_version,
                       self._lease_free(now))
                .values(**{k: v for k, v in values.items() if k != "order_gid"}, captured_at=now,
                        row_version=order_stage.c.row_version + 1)
            ).rowcount == 1

    def defer_newer_version(self, staged: StagedOrder, *, order_json: str, updated_at: datetime,
                            adopt_run_id: str | None = None) -> bool:
        """Keep a newer version of an order whose write to MAX is under way, to be decided once it settles.

        With ``adopt_run_id``, a row whose write lease has expired is also taken over by that run (its export
        or cancellation step then settles the write, by CUSTPO lookup first). Conditional on ``row_version``.
        """
        now = utcnow()
        values: dict[str, Any] = {"deferred_json": order_json, "deferred_updated_at": updated_at, "updated_at": now,
                                  "row_version": order_stage.c.row_version + 1}
        conditions = [order_stage.c.order_gid == staged.order_gid, order_stage.c.row_version == staged.row_version]
        if adopt_run_id is not None and staged.run_id != adopt_run_id and not staged.lease_is_live(now):
            values.update(run_id=adopt_run_id, run_outcome="pending", run_outcome_reason=None)
            conditions.append(self._lease_free(now))
        with self.engine.begin() as conn:
            return conn.execute(update(order_stage).where(*conditions).values(**values)).rowcount == 1

    def orders_with_settled_deferred_versions(self, limit: int = 5000) -> list[StagedOrder]:
        """Orders holding a newer version that waited for a MAX write which has since settled."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage).where(order_stage.c.deferred_json.is_not(None),
                                                          order_stage.c.status.not_in(list(WRITING_STATUSES)))
                                .order_by(order_stage.c.id).limit(limit))
            return [self._staged(row) for row in rows.mappings()]

    def orders_in_stage(self, *, run_id: str, statuses: Sequence[str]) -> list[StagedOrder]:
        for status in statuses:
            if status not in ORDER_STAGE_STATUSES:
                raise ValueError(f"unknown order stage status {status!r}")
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage).where(order_stage.c.run_id == run_id,
                                                          order_stage.c.status.in_(list(statuses)))
                                .order_by(order_stage.c.id))
            return [self._staged(row) for row in rows.mappings()]

    def adopt_unfinished_orders(self, run_id: str) -> int:
        """Orders another run left half-way are taken over by ``run_id``: any not yet being written to MAX, and
        those being written whose write lease has expired (the writer died or hung). A live lease is left alone."""
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(
                update(order_stage)
                .where(order_stage.c.status.in_(list(IN_FLIGHT_STATUSES)),
                       or_(order_stage.c.run_id.is_(None), order_stage.c.run_id != run_id),
                       or_(order_stage.c.status.not_in(list(WRITING_STATUSES)), self._lease_free(now)))
                .values(run_id=run_id, run_outcome="pending", run_outcome_reason=None, updated_at=now,
                        row_version=order_stage.c.row_version + 1)
            ).rowcount

    @staticmethod
    def _lease_free(now: datetime):  # noqa: ANN205 - a SQL condition
        return or_(order_stage.c.lease_expires_at.is_(None), order_stage.c.lease_expires_at < now)

    def set_stage_status(self, order_gid: str, status: str, *, expected: Sequence[str] | None = None,
                         owned_by: str | None = None, expected_digest: str | None = None,
                         lease_owner: str | None = None, **values: Any) -> bool:
        """Move one order to ``status`` (with ``values``), under conditions; returns whether this call moved it.

        - ``expected``: only from those statuses;
        - ``owned_by``: only while that run owns the order (another run may have taken it over);
        - ``expected_digest``: only while the row still holds that version of the order (a newer one may have
          been captured meanwhile: work done on the older one is not written over it);
        - ``lease_owner``: only while that writer holds the write lease (it is released by this move).
        """
        if status not in ORDER_STAGE_STATUSES:
            raise ValueError(f"unknown order stage status {status!r}")
        conditions = [order_stage.c.order_gid == order_gid]
        if expected is not None:
            conditions.append(order_stage.c.status.in_(list(expected)))
        if owned_by is not None:
            conditions.append(order_stage.c.run_id == owned_by)
        if expected_digest is not None:
            conditions.append(order_stage.c.payload_digest == expected_digest)
        if lease_owner is not None:
            conditions.append(order_stage.c.lease_owner == lease_owner)
            values.update(lease_owner=None, lease_expires_at=None)
        with self.engine.begin() as conn:
            return conn.execute(update(order_stage).where(*conditions).values(
                status=status, updated_at=utcnow(), row_version=order_stage.c.row_version + 1, **values)).rowcount == 1

    def take_write_lease(self, order_gid: str, *, run_id: str, owner: str, ttl: timedelta, from_status: str,
                         to_status: str) -> StagedOrder | None:
        """Take the write lease of an order this run owns, for ``ttl``; returns the row as it now stands.

        Taken when the order is in ``from_status``, or already in ``to_status`` with no live lease (a writer that
        died: the caller settles that write by lookup before sending anything) or a lease ``owner`` holds.
        None when another writer holds a live lease, or another run owns the order.
        """
        now = utcnow()
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(order_stage)
                .where(order_stage.c.order_gid == order_gid, order_stage.c.run_id == run_id,
                       or_(order_stage.c.status == from_status,
                           and_(order_stage.c.status == to_status,
                                or_(self._lease_free(now), order_stage.c.lease_owner == owner))))
                .values(status=to_status, lease_owner=owner, lease_expires_at=now + ttl, claimed_at=now,
                        updated_at=now, row_version=order_stage.c.row_version + 1)
            ).rowcount == 1
            if not taken:
                return None
            row = conn.execute(select(order_stage).where(order_stage.c.order_gid == order_gid)).mappings().one()
            return self._staged(row)

    def release_write_lease(self, order_gid: str, *, owner: str) -> bool:
        """Give a lease back early (the writer stops on an error, with no send of its own still waiting): the
        order stays where it is, and the next attempt or run may take it over at once."""
        with self.engine.begin() as conn:
            return conn.execute(update(order_stage).where(order_stage.c.order_gid == order_gid,
                                                          order_stage.c.lease_owner == owner)
                                .values(lease_owner=None, lease_expires_at=None, updated_at=utcnow(),
                                        row_version=order_stage.c.row_version + 1)).rowcount == 1

    def renew_write_lease(self, order_gid: str, *, owner: str, ttl: timedelta) -> bool:
        """Extend a live lease ``owner`` holds; False when it expired or was taken over (then do not write)."""
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(
                update(order_stage)
                .where(order_stage.c.order_gid == order_gid, order_stage.c.lease_owner == owner,
                       order_stage.c.lease_expires_at >= now)
                .values(lease_expires_at=now + ttl)
            ).rowcount == 1

    def run_outcomes(self, run_id: str) -> dict[str, list[tuple[str, str | None]]]:
        """Per outcome (pending, exported, skipped, failed): (order name, reason) of each order the run read."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage.c.run_outcome, order_stage.c.order_name,
                                       order_stage.c.run_outcome_reason)
                                .where(order_stage.c.run_id == run_id).order_by(order_stage.c.id))
            outcomes: dict[str, list[tuple[str, str | None]]] = {}
            for outcome, name, reason in rows:
                outcomes.setdefault(outcome or "pending", []).append((name, reason))
            return outcomes

    @staticmethod
    def _staged(row: Any) -> StagedOrder:
        return StagedOrder(**{name: row[name] for name in StagedOrder.__dataclass_fields__})

    # -- PII retention ------------------------------------------------------------------------
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
                    inbox.c.status.in_(["processed", "ignored", "failed"]),
                    inbox.c.payload_purged_at.is_(None),
                    inbox.c.received_at < cutoff,
                )
                .values(payload=None, payload_purged_at=now)
            ).rowcount
            errors = conn.execute(
                update(error_queue)
                .where(
                    or_(error_queue.c.status.in_(["open", "resolved", "ignored"]),
                        error_queue.c.claimed_at.is_(None), error_queue.c.claimed_at < cutoff),
                    error_queue.c.payload_purged_at.is_(None),
                    error_queue.c.last_seen < cutoff,
                )
                .values(payload=None, payload_purged_at=now)
            ).rowcount
            staged = conn.execute(
                update(order_stage)
                .where(order_stage.c.status.in_(["exported", "skipped"]), order_stage.c.order_json.is_not(None),
                       order_stage.c.updated_at < cutoff)
                .values(order_json=None, mapped_json=None)
            ).rowcount
        return {"audit_log": audit, "inbox": inbox_rows, "error_queue": errors, "order_stage": staged}

    # -- personal data on a privacy request (shopify_max.privacy) -------------------------------------
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
        "order_stage": ("status", "run_outcome"),
        "inbox": ("status", "payload_purged_at"),
        "error_queue": ("payload_purged_at",),
        "audit_log": ("pii_purged_at",),
    }

    @staticmethod
    def _personal_table(name: str):  # noqa: ANN205 - a Table
        tables = {"order_stage": order_stage, "inbox": inbox, "error_queue": error_queue, "audit_log": audit_log}
        if name not in tables:
            raise ValueError(f"no personal data is kept in table {name!r}; expected one of {sorted(tables)}")
        return tables[name]

    def personal_data_rows(self, table_name: str, *, keys: Iterable[str] = (), mentions: Iterable[str] = (),
                           every_row: bool = False, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Rows of ``table_name`` that may hold one person's data: the next ``limit`` after ``after_id``.

        A row is returned when its key is in ``keys`` (order_stage: the order gid; inbox: the resource gid;
        error_queue and audit_log: the record key), or when one of its personal columns contains one of
        ``mentions`` (an e-mail, a phone, a gid; case-insensitive). With ``every_row``: every row that may still
        hold personal data (audit entries: those flagged ``contains_pii`` and not purged yet). These are
        candidates; the caller reads them to decide. Each row has its record columns and personal columns.
        """
        table = self._personal_table(table_name)
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
        table = self._personal_table(table_name)
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
