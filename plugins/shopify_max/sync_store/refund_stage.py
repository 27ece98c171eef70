"""``refund_stage``: Shopify refunds on their way to MAX as credit memos (docs/refunds.md).

Rules:

- a refund is staged once, whatever its deliveries (webhook ×3, the poll, a backfill); staging it again changes
  nothing, so a settled refund is never taken up again by a duplicate;
- one attempt of one task writes a refund's credit memo at a time (the write lease); an attempt that takes over an
  expired lease looks the memo up in MAX by its CUSTPO before sending anything (``refunds.pipeline``);
- every credit memo exported is kept with its total, so an order's memos are summed against what MAX holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.states import RefundOutcomeCode, RefundStatus
from shopify_max.sync_store.tables import refund_stage

# What a run takes up: new, waiting, and writes whose writer died (an expired lease).
OPEN_REFUND_STATUSES = (RefundStatus.CAPTURED, RefundStatus.WAITING, RefundStatus.EXPORTING)


@dataclass(frozen=True)
class StagedRefund:
    refund_gid: str
    order_gid: str
    refund: dict[str, Any]
    source: str
    status: RefundStatus
    outcome_code: RefundOutcomeCode | None
    reason: str | None
    credit_memo_ordnum: str | None
    credit_memo_total: Decimal | None
    error_queue_id: int | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    run_id: str | None


def _staged(r: Any) -> StagedRefund:
    return StagedRefund(
        r.refund_gid, r.order_gid, json.loads(r.refund_json), r.source, RefundStatus(r.status),
        RefundOutcomeCode(r.outcome_code) if r.outcome_code else None, r.reason, r.credit_memo_ordnum,
        Decimal(r.credit_memo_total) if r.credit_memo_total else None, r.error_queue_id, r.lease_owner,
        r.lease_expires_at, r.run_id)


class RefundStage(TableAccess):
    def stage_refund(self, refund_gid: str, order_gid: str, refund: dict[str, Any], *, source: str,
                     run_id: str | None = None) -> bool:
        """Stage a refund as read; False when it was staged before (it keeps its row and state)."""
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(insert_for(conn)(refund_stage).values(
                refund_gid=refund_gid, order_gid=order_gid, refund_json=json.dumps(refund, sort_keys=True, default=str),
                source=source, status=RefundStatus.CAPTURED, run_id=run_id, captured_at=now, updated_at=now,
            ).on_conflict_do_nothing(index_elements=[refund_stage.c.refund_gid])).rowcount == 1

    def staged_refund_ids(self, refund_gids: Iterable[str]) -> set[str]:
        keys = [str(g) for g in refund_gids]
        if not keys:
            return set()
        with self.engine.begin() as conn:
            return set(conn.execute(select(refund_stage.c.refund_gid).where(refund_stage.c.refund_gid.in_(keys)))
                       .scalars())

    def staged_refunds(self, refund_gids: Iterable[str]) -> dict[str, StagedRefund]:
        keys = [str(g) for g in refund_gids]
        with self.engine.begin() as conn:
            rows = conn.execute(select(refund_stage).where(refund_stage.c.refund_gid.in_(keys))).all() if keys else []
        return {r.refund_gid: _staged(r) for r in rows}

    def open_refunds(self, *, limit: int = 2000) -> list[StagedRefund]:
        """Refunds a run takes up, oldest first: new and waiting ones, and writes whose lease has expired."""
        now = utcnow()
        with self.engine.begin() as conn:
            rows = conn.execute(select(refund_stage).where(
                refund_stage.c.status.in_(OPEN_REFUND_STATUSES),
                or_(refund_stage.c.status != RefundStatus.EXPORTING, refund_stage.c.lease_expires_at.is_(None),
                    refund_stage.c.lease_expires_at < now))
                .order_by(refund_stage.c.captured_at, refund_stage.c.refund_gid).limit(limit)).all()
        return [_staged(r) for r in rows]

    def refunds_of_order(self, order_gid: str) -> list[StagedRefund]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(refund_stage).where(refund_stage.c.order_gid == order_gid)
                                .order_by(refund_stage.c.captured_at)).all()
        return [_staged(r) for r in rows]

    def settle_refund(self, refund_gid: str, status: RefundStatus, code: RefundOutcomeCode, reason: str, *,
                      run_id: str, error_queue_id: int | None = None, owner: str | None = None,
                      credit_memo_ordnum: str | None = None, credit_memo_total: Decimal | None = None) -> bool:
        """Record what became of a refund. With ``owner``, only while that writer holds the lease (False: another
        writer took it over, and this outcome is not written)."""
        values: dict[str, Any] = {"status": status, "outcome_code": code, "reason": reason, "run_id": run_id,
                                  "error_queue_id": error_queue_id, "updated_at": utcnow(), "lease_owner": None,
                                  "lease_expires_at": None}
        if credit_memo_ordnum is not None:
            values.update(credit_memo_ordnum=credit_memo_ordnum, credit_memo_total=str(credit_memo_total))
        where = [refund_stage.c.refund_gid == refund_gid]
        if owner is not None:
            where.append(refund_stage.c.lease_owner == owner)
        with self.engine.begin() as conn:
            return conn.execute(update(refund_stage).where(*where).values(**values)).rowcount == 1

    def take_refund_lease(self, refund_gid: str, *, owner: str, ttl: timedelta) -> StagedRefund | None:
        """Take the refund's write lease (status ``exporting``) when it is open and no live lease is held."""
        now = utcnow()
        with self.engine.begin() as conn:
            taken = conn.execute(update(refund_stage).where(
                refund_stage.c.refund_gid == refund_gid,
                refund_stage.c.status.in_(OPEN_REFUND_STATUSES),
                or_(refund_stage.c.lease_owner.is_(None), refund_stage.c.lease_owner == owner,
                    refund_stage.c.lease_expires_at < now))
                .values(status=RefundStatus.EXPORTING, lease_owner=owner, lease_expires_at=now + ttl,
                        updated_at=now)).rowcount == 1
            if not taken:
                return None
            return _staged(conn.execute(select(refund_stage).where(refund_stage.c.refund_gid == refund_gid)).one())

    def renew_refund_lease(self, refund_gid: str, *, owner: str, ttl: timedelta) -> bool:
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(update(refund_stage).where(and_(
                refund_stage.c.refund_gid == refund_gid, refund_stage.c.lease_owner == owner,
                refund_stage.c.lease_expires_at >= now)).values(lease_expires_at=now + ttl)).rowcount == 1

    def release_refund_lease(self, refund_gid: str, *, owner: str, status: RefundStatus = RefundStatus.WAITING) -> None:
        """Give the lease back without an outcome (the writer stops before sending): the refund is open again."""
        with self.engine.begin() as conn:
            conn.execute(update(refund_stage).where(refund_stage.c.refund_gid == refund_gid,
                                                    refund_stage.c.lease_owner == owner)
                         .values(status=status, lease_owner=None, lease_expires_at=None, updated_at=utcnow()))

    def reopen_refund(self, refund_gid: str, *, run_id: str | None = None) -> bool:
        """A person fixed the cause (a replay): the next run takes the refund up again."""
        with self.engine.begin() as conn:
            return conn.execute(update(refund_stage).where(refund_stage.c.refund_gid == refund_gid,
                                                           refund_stage.c.status == RefundStatus.FAILED)
                                .values(status=RefundStatus.CAPTURED, run_id=run_id, updated_at=utcnow())).rowcount == 1

    def refund_outcomes(self, run_id: str) -> list[StagedRefund]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(refund_stage).where(refund_stage.c.run_id == run_id)
                                .order_by(refund_stage.c.captured_at)).all()
        return [_staged(r) for r in rows]
