"""``shipment_sync`` and ``fulfilment_lease``: MAX shipments on their way to Shopify, and one writer per order.

Rules (docs/fulfilment.md):

- a shipment is staged before the shipments cursor moves past it; staging it again is a no-op, so a crash
  between the read and the send, or a read repeated by a retry, loses nothing and doubles nothing;
- every Shopify fulfilment made for a shipment is recorded the moment it is learned ({location gid: fulfillment
  gid}); before a send the row says so (``sending_since``), so a lost answer is settled by re-reading Shopify;
- one attempt of one task writes to Shopify for a MAX order at a time (``fulfilment_lease``), whatever the number
  of workers, retries or zombie attempts; a writer renews its lease before each send and stops when it lost it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.states import ShipmentOutcomeCode, ShipmentStatus
from shopify_max.sync_store.tables import fulfilment_lease, shipment_sync

# Statuses every run takes up again by itself (failed ones wait for a replay).
OPEN_SHIPMENT_STATUSES = (ShipmentStatus.PENDING, ShipmentStatus.WAITING)


@dataclass(frozen=True)
class ShipmentRow:
    shipment_id: str
    ordnum: str
    order_gid: str | None
    shipment: dict[str, Any]
    status: ShipmentStatus
    outcome_code: ShipmentOutcomeCode | None
    reason: str | None
    fulfillments: dict[str, str]  # Shopify location gid -> fulfillment gid
    tracking: list[str]
    tracking_pending: list[dict[str, str]] | None
    sending_since: datetime | None
    error_queue_id: int | None
    attempts: int
    run_id: str | None


def _loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _row(r: Any) -> ShipmentRow:
    return ShipmentRow(
        shipment_id=r.shipment_id, ordnum=r.ordnum, order_gid=r.order_gid, shipment=json.loads(r.shipment_json),
        status=ShipmentStatus(r.status), outcome_code=ShipmentOutcomeCode(r.outcome_code) if r.outcome_code else None,
        reason=r.reason, fulfillments=_loads(r.fulfillments_json, {}), tracking=_loads(r.tracking_json, []),
        tracking_pending=_loads(r.tracking_pending_json, None), sending_since=r.sending_since,
        error_queue_id=r.error_queue_id, attempts=r.attempts, run_id=r.run_id)


class ShipmentSync(TableAccess):
    def stage_shipments(self, shipments: Sequence[dict[str, Any]], *, run_id: str | None = None) -> int:
        """Record shipments read from MAX (the gateway's JSON, keyed by ``shipment_id``); returns how many were
        new. A shipment staged before keeps its row: its state is the flow's, not the read's."""
        if not shipments:
            return 0
        now = utcnow()
        with self.engine.begin() as conn:
            before = set(conn.execute(select(shipment_sync.c.shipment_id).where(
                shipment_sync.c.shipment_id.in_([str(s["shipment_id"]) for s in shipments]))).scalars())
            insert = insert_for(conn)(shipment_sync)
            for shipment in shipments:
                conn.execute(insert.values(
                    shipment_id=str(shipment["shipment_id"]), ordnum=str(shipment["ORDNUM"]).strip(),
                    shipment_json=json.dumps(shipment, sort_keys=True, default=str), status=ShipmentStatus.PENDING,
                    tracking_json=None, run_id=run_id, first_seen=now, updated_at=now,
                ).on_conflict_do_nothing(index_elements=[shipment_sync.c.shipment_id]))
        return len({str(s["shipment_id"]) for s in shipments} - before)

    def note_tracking_change(self, shipment_id: str, tracking: list[dict[str, str]]) -> bool:
        """A shipment's tracking numbers changed in MAX: keep them for the tracking step (the newest wins) and
        refresh the staged shipment (its run and outcome stay: a tracking change is not a shipment read again).
        False when the shipment was never staged (the shipments read brings it, with the new numbers)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(shipment_sync.c.shipment_json).where(
                shipment_sync.c.shipment_id == str(shipment_id))).first()
            if row is None:
                return False
            shipment = json.loads(row.shipment_json)
            shipment["tracking"] = tracking
            first = tracking[0] if tracking else {}
            shipment["tracking_number"], shipment["carrier"] = first.get("tracking_number", ""), first.get("carrier", "")
            return conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == str(shipment_id)).values(
                tracking_pending_json=json.dumps(tracking, sort_keys=True),
                shipment_json=json.dumps(shipment, sort_keys=True, default=str), updated_at=utcnow())).rowcount == 1

    def shipments(self, shipment_ids: Iterable[str]) -> dict[str, ShipmentRow]:
        ids = [str(i) for i in shipment_ids]
        with self.engine.begin() as conn:
            rows = conn.execute(select(shipment_sync).where(shipment_sync.c.shipment_id.in_(ids))).all() if ids else []
        return {r.shipment_id: _row(r) for r in rows}

    def open_shipments(self, *, limit: int = 5000) -> list[ShipmentRow]:
        """Shipments a run takes up: pending and waiting ones, order by order, oldest first."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(shipment_sync).where(shipment_sync.c.status.in_(OPEN_SHIPMENT_STATUSES))
                                .order_by(shipment_sync.c.ordnum, shipment_sync.c.shipment_id).limit(limit)).all()
        return [_row(r) for r in rows]

    def shipments_with_tracking_changes(self, *, limit: int = 5000) -> list[ShipmentRow]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(shipment_sync).where(shipment_sync.c.tracking_pending_json.is_not(None))
                                .order_by(shipment_sync.c.ordnum, shipment_sync.c.shipment_id).limit(limit)).all()
        return [_row(r) for r in rows]

    def shipments_of_order(self, ordnum: str) -> list[ShipmentRow]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(shipment_sync).where(shipment_sync.c.ordnum == ordnum)
                                .order_by(shipment_sync.c.shipment_id)).all()
        return [_row(r) for r in rows]

    def mark_shipment_sending(self, shipment_id: str, *, run_id: str) -> None:
        """Written before a ``fulfillmentCreate``: until its answer is recorded, the send may have committed."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == shipment_id).values(
                sending_since=now, attempts=shipment_sync.c.attempts + 1, run_id=run_id, updated_at=now))

    def record_shipment_fulfilment(self, shipment_id: str, location_gid: str, fulfillment_gid: str,
                                   tracking: list[str], *, order_gid: str | None = None,
                                   by_hand: dict[str, int] | None = None) -> None:
        """One Shopify fulfilment made (or found) for a shipment's part at a location, recorded at once, with the
        units of that part a person had fulfilled by hand (``by_hand:<line item gid>``: units)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(shipment_sync.c.fulfillments_json).where(
                shipment_sync.c.shipment_id == shipment_id)).one()
            parts = _loads(row.fulfillments_json, {})
            parts[location_gid] = fulfillment_gid
            for line_item_gid, units in (by_hand or {}).items():
                key = f"by_hand:{line_item_gid}"
                parts[key] = str(int(parts.get(key, 0)) + int(units))
            values: dict[str, Any] = {"fulfillments_json": json.dumps(parts, sort_keys=True), "sending_since": None,
                                      "tracking_json": json.dumps(sorted(set(tracking))), "updated_at": utcnow()}
            if order_gid:
                values["order_gid"] = order_gid
            conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == shipment_id).values(**values))

    def settle_shipment(self, shipment_id: str, status: ShipmentStatus, code: ShipmentOutcomeCode, reason: str, *,
                        run_id: str, error_queue_id: int | None = None, order_gid: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "outcome_code": code, "reason": reason, "run_id": run_id,
                                  "error_queue_id": error_queue_id, "updated_at": utcnow()}
        if status != ShipmentStatus.PENDING:
            values["sending_since"] = None
        if order_gid:
            values["order_gid"] = order_gid
        with self.engine.begin() as conn:
            conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == shipment_id).values(**values))

    def record_tracking_sent(self, shipment_id: str, numbers: list[str], sent_pending: list[dict[str, str]]) -> None:
        """Shopify holds ``numbers`` now; the pending change is done unless a newer one arrived meanwhile."""
        with self.engine.begin() as conn:
            conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == shipment_id).values(
                tracking_json=json.dumps(sorted(set(numbers))), updated_at=utcnow()))
            conn.execute(update(shipment_sync).where(
                shipment_sync.c.shipment_id == shipment_id,
                shipment_sync.c.tracking_pending_json == json.dumps(sent_pending, sort_keys=True))
                .values(tracking_pending_json=None))

    def clear_tracking_change(self, shipment_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == shipment_id)
                         .values(tracking_pending_json=None, updated_at=utcnow()))

    def reopen_shipment(self, shipment_id: str, *, run_id: str | None = None) -> bool:
        """A person fixed the cause (a replay): the next run takes the shipment up again; a fulfilled one whose
        tracking change Shopify refused gets that change sent again."""
        with self.engine.begin() as conn:
            if conn.execute(update(shipment_sync).where(
                    shipment_sync.c.shipment_id == str(shipment_id),
                    shipment_sync.c.status.in_((ShipmentStatus.FAILED, ShipmentStatus.WAITING)))
                    .values(status=ShipmentStatus.PENDING, run_id=run_id, updated_at=utcnow())).rowcount == 1:
                return True
            row = conn.execute(select(shipment_sync.c.shipment_json).where(
                shipment_sync.c.shipment_id == str(shipment_id), shipment_sync.c.status == ShipmentStatus.FULFILLED)
            ).first()
            if row is None:
                return False
            tracking = json.loads(row.shipment_json).get("tracking") or []
            return conn.execute(update(shipment_sync).where(shipment_sync.c.shipment_id == str(shipment_id)).values(
                tracking_pending_json=json.dumps(tracking, sort_keys=True), updated_at=utcnow())).rowcount == 1

    def shipment_outcomes(self, run_id: str) -> list[ShipmentRow]:
        """Every shipment this run took up, as it now stands."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(shipment_sync).where(shipment_sync.c.run_id == run_id)
                                .order_by(shipment_sync.c.ordnum, shipment_sync.c.shipment_id)).all()
        return [_row(r) for r in rows]

    # ----- the per-order write lease -----
    def take_fulfilment_lease(self, ordnum: str, *, owner: str, ttl: timedelta) -> bool:
        """Take (or renew) the order's lease; False while another owner holds a live one."""
        now = utcnow()
        for _attempt in range(3):
            with self.engine.begin() as conn:
                taken = conn.execute(update(fulfilment_lease).where(
                    fulfilment_lease.c.ordnum == ordnum,
                    or_(fulfilment_lease.c.owner == owner, fulfilment_lease.c.expires_at < now))
                    .values(owner=owner, expires_at=now + ttl)).rowcount == 1
                if taken:
                    return True
                if conn.execute(select(fulfilment_lease.c.ordnum).where(fulfilment_lease.c.ordnum == ordnum)).first():
                    return False
            try:
                with self.engine.begin() as conn:
                    conn.execute(fulfilment_lease.insert().values(ordnum=ordnum, owner=owner, expires_at=now + ttl))
                return True
            except IntegrityError:
                continue  # another writer inserted it meanwhile: is it live?
        return False

    def renew_fulfilment_lease(self, ordnum: str, *, owner: str, ttl: timedelta) -> bool:
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(update(fulfilment_lease).where(
                and_(fulfilment_lease.c.ordnum == ordnum, fulfilment_lease.c.owner == owner,
                     fulfilment_lease.c.expires_at >= now)).values(expires_at=now + ttl)).rowcount == 1

    def release_fulfilment_lease(self, ordnum: str, *, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(fulfilment_lease).where(fulfilment_lease.c.ordnum == ordnum,
                                                        fulfilment_lease.c.owner == owner))
