"""``inbox``: each webhook delivery stored once, then claimed and processed (``InboxStatus``).

new → processing (claimed, timed and counted) → processed, ignored (stale) or failed. A claim older than the
caller's timeout goes back to new; a delivery claimed too often without finishing is failed (a poison message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.states import InboxStatus, parse_state
from shopify_max.sync_store.tables import inbox


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
    status: InboxStatus
    received_at: datetime
    triggered_at: datetime | None
    claims: int = 0


def _inbox_row(r: Any) -> InboxRow:
    return InboxRow(id=r["id"], webhook_id=r["webhook_id"], event_id=r["event_id"], topic=r["topic"],
                    resource_gid=r["resource_gid"], payload=r["payload"], status=InboxStatus(r["status"]),
                    received_at=r["received_at"], triggered_at=r["triggered_at"], claims=r["claims"])


class Inbox(TableAccess):
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
            "status": InboxStatus.NEW,
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
            query = select(inbox.c.id).where(inbox.c.status == InboxStatus.NEW).order_by(inbox.c.id).limit(limit)
            if topics:
                query = query.where(inbox.c.topic.in_(list(topics)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(update(inbox).where(inbox.c.id.in_(ids)).values(
                status=InboxStatus.PROCESSING, claimed_at=now, claimed_by=worker, claims=inbox.c.claims + 1))
            rows = conn.execute(select(inbox).where(inbox.c.id.in_(ids)).order_by(inbox.c.id)).mappings().all()
        return [_inbox_row(r) for r in rows]

    def mark_inbox(self, ids: Iterable[int], status: InboxStatus | str) -> int:
        status = parse_state(InboxStatus, status, "inbox status")
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
        stale = and_(inbox.c.status == InboxStatus.PROCESSING,
                     or_(inbox.c.claimed_at < cutoff, and_(inbox.c.claimed_at.is_(None), inbox.c.received_at < cutoff)))
        if topics:
            stale = and_(stale, inbox.c.topic.in_(list(topics)))
        with self.engine.begin() as conn:
            poisoned_ids = list(conn.execute(select(inbox.c.id).where(stale, inbox.c.claims >= max_claims)).scalars())
            if poisoned_ids:
                conn.execute(update(inbox).where(inbox.c.id.in_(poisoned_ids))
                             .values(status=InboxStatus.FAILED, processed_at=now))
            requeued = conn.execute(update(inbox).where(stale, inbox.c.claims < max_claims)
                                    .values(status=InboxStatus.NEW, claimed_at=None, claimed_by=None)).rowcount
            poisoned = [_inbox_row(r) for r in conn.execute(
                select(inbox).where(inbox.c.id.in_(poisoned_ids)).order_by(inbox.c.id)).mappings()] if poisoned_ids else []
        return requeued, poisoned

    def inbox_counts(self) -> dict[str, int]:
        with self.engine.begin() as conn:
            return dict(conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status)).all())
