"""``order_stage``: orders on their way to MAX, one row per Shopify order (docs/orders.md).

The row holds the newest version of the order, where it is (``OrderStageStatus``), the run that owns it and
what that run decided (``RunOutcome``, the kind ``RunOutcomeCode``, a reason for a person and, when it failed,
the ``error_queue_id`` of its error-queue item). Every change is conditional and bumps ``row_version``; the
write lease (``lease_owner`` until ``lease_expires_at``) names the one writer that may send it to MAX.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, or_, select, update

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.run_outcome_log import RunOutcomeEntry, append_run_outcome, handed_over
from shopify_max.sync_store.states import (
    IN_FLIGHT_STATUSES,
    WRITING_STATUSES,
    OrderStageStatus,
    RunOutcome,
    RunOutcomeCode,
    parse_state,
)
from shopify_max.sync_store.tables import order_stage

# What a run that takes an order over writes: nothing decided yet.
_PENDING = {"run_outcome": RunOutcome.PENDING, "run_outcome_reason": None, "run_outcome_code": None,
            "error_queue_id": None}
# Values whose change is a run outcome: each such change appends a run-outcome entry (``run_outcome_log``).
_OUTCOME_COLUMNS = frozenset({"run_outcome", "run_outcome_code", "run_outcome_reason", "error_queue_id"})


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
    status: OrderStageStatus
    mapped_json: str | None = None
    detail: str | None = None
    exported_material_digest: str | None = None
    max_ordnum: str | None = None
    run_id: str | None = None
    run_outcome: RunOutcome | None = None
    run_outcome_reason: str | None = None  # for a person
    run_outcome_code: RunOutcomeCode | None = None  # the kind of outcome, for counting
    error_queue_id: int | None = None  # the error-queue item of a failed outcome
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    deferred_json: str | None = None  # a newer version that arrived while a write to MAX was under way
    deferred_updated_at: datetime | None = None
    row_version: int = 0

    def lease_is_live(self, now: datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at >= now


class OrderOutcome(NamedTuple):
    """What a run decided for one order it read."""

    order_name: str
    reason: str | None
    code: RunOutcomeCode | None = None
    error_queue_id: int | None = None


def _staged(row: Any) -> StagedOrder:
    values = {name: row[name] for name in StagedOrder.__dataclass_fields__}
    values["status"] = OrderStageStatus(values["status"])
    for name, kind in (("run_outcome", RunOutcome), ("run_outcome_code", RunOutcomeCode)):
        values[name] = kind(values[name]) if values[name] else None
    return StagedOrder(**values)


def _lease_free(now: datetime):  # noqa: ANN202 - a SQL condition
    return or_(order_stage.c.lease_expires_at.is_(None), order_stage.c.lease_expires_at < now)


def _outcome_entry(row: Any) -> RunOutcomeEntry | None:
    """The run-outcome entry of a row as it now stands; None while its outcome is pending (or it has no run)."""
    if not row["run_id"] or not row["run_outcome"] or row["run_outcome"] == RunOutcome.PENDING:
        return None
    return RunOutcomeEntry(run_id=row["run_id"], order_name=row["order_name"], outcome=RunOutcome(row["run_outcome"]),
                           code=RunOutcomeCode(row["run_outcome_code"]) if row["run_outcome_code"] else None,
                           reason=row["run_outcome_reason"], order_gid=row["order_gid"],
                           error_queue_id=row["error_queue_id"], max_ordnum=row["max_ordnum"])


def _previous_owner(conn: Connection, *conditions: Any) -> Any:
    """The row about to be changed (locked on PostgreSQL until the transaction ends): who had it, and how."""
    return conn.execute(select(order_stage.c.run_id, order_stage.c.run_outcome, order_stage.c.order_name,
                               order_stage.c.order_gid).where(*conditions).with_for_update()).mappings().first()


def _hand_over(conn: Connection, previous: Any, new_run_id: str | None) -> None:
    """When ``new_run_id`` took over an order another run still had pending, that run records the hand-over."""
    if (previous is None or not previous["run_id"] or not new_run_id or previous["run_id"] == new_run_id
            or (previous["run_outcome"] or RunOutcome.PENDING) != RunOutcome.PENDING):
        return
    append_run_outcome(conn, handed_over(previous["run_id"], new_run_id, previous["order_name"],
                                         previous["order_gid"]))


def _record_outcome_now(conn: Connection, order_gid: str) -> None:
    """Append the run-outcome entry of the row as it stands after a change of its outcome."""
    row = conn.execute(select(order_stage).where(order_stage.c.order_gid == order_gid)).mappings().first()
    entry = _outcome_entry(row) if row is not None else None
    if entry is not None:
        append_run_outcome(conn, entry)


class OrderStage(TableAccess):
    def staged_orders(self, order_gids: Iterable[str]) -> dict[str, StagedOrder]:
        gids = list(order_gids)
        found: dict[str, StagedOrder] = {}
        with self.engine.begin() as conn:
            for start in range(0, len(gids), 500):
                rows = conn.execute(select(order_stage).where(order_stage.c.order_gid.in_(gids[start:start + 500])))
                found.update({row["order_gid"]: _staged(row) for row in rows.mappings()})
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
            "material_digest": order.material_digest, "order_json": order.order_json,
            "status": parse_state(OrderStageStatus, order.status, "order stage status"),
            "mapped_json": order.mapped_json, "detail": order.detail, "run_id": order.run_id,
            "run_outcome": order.run_outcome, "run_outcome_reason": order.run_outcome_reason,
            "run_outcome_code": order.run_outcome_code, "error_queue_id": order.error_queue_id,
            "claimed_at": None, "updated_at": now, "lease_owner": None, "lease_expires_at": None,
            "deferred_json": None, "deferred_updated_at": None,
        }
        with self.engine.begin() as conn:
            if expected_version is None:
                insert = insert_for(conn)(order_stage).values(**values, captured_at=now, row_version=1)
                written = conn.execute(
                    insert.on_conflict_do_nothing(index_elements=[order_stage.c.order_gid])).rowcount == 1
                previous = None
            else:
                conditions = (order_stage.c.order_gid == order.order_gid,
                              order_stage.c.row_version == expected_version, _lease_free(now))
                previous = _previous_owner(conn, *conditions)
                written = previous is not None and conn.execute(
                    update(order_stage).where(*conditions)
                    .values(**{k: v for k, v in values.items() if k != "order_gid"}, captured_at=now,
                            row_version=order_stage.c.row_version + 1)
                ).rowcount == 1
            if written:
                _hand_over(conn, previous, order.run_id)
                _record_outcome_now(conn, order.order_gid)
            return written

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
        adopting = adopt_run_id is not None and staged.run_id != adopt_run_id and not staged.lease_is_live(now)
        if adopting:
            values.update(run_id=adopt_run_id, **_PENDING)
            conditions.append(_lease_free(now))
        with self.engine.begin() as conn:
            previous = _previous_owner(conn, *conditions) if adopting else None
            written = conn.execute(update(order_stage).where(*conditions).values(**values)).rowcount == 1
            if written and adopting:
                _hand_over(conn, previous, adopt_run_id)
            return written

    def orders_with_settled_deferred_versions(self, limit: int = 5000) -> list[StagedOrder]:
        """Orders holding a newer version that waited for a MAX write which has since settled."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage).where(order_stage.c.deferred_json.is_not(None),
                                                          order_stage.c.status.not_in(WRITING_STATUSES))
                                .order_by(order_stage.c.id).limit(limit))
            return [_staged(row) for row in rows.mappings()]

    def orders_in_stage(self, *, run_id: str, statuses: Sequence[OrderStageStatus | str]) -> list[StagedOrder]:
        wanted = [parse_state(OrderStageStatus, status, "order stage status") for status in statuses]
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage).where(order_stage.c.run_id == run_id,
                                                          order_stage.c.status.in_(wanted))
                                .order_by(order_stage.c.id))
            return [_staged(row) for row in rows.mappings()]

    def adopt_unfinished_orders(self, run_id: str) -> int:
        """Orders another run left half-way are taken over by ``run_id``: any not yet being written to MAX, and
        those being written whose write lease has expired (the writer died or hung). A live lease is left alone."""
        now = utcnow()
        unfinished = (order_stage.c.status.in_(IN_FLIGHT_STATUSES),
                      or_(order_stage.c.run_id.is_(None), order_stage.c.run_id != run_id),
                      or_(order_stage.c.status.not_in(WRITING_STATUSES), _lease_free(now)))
        adopted = 0
        with self.engine.begin() as conn:
            candidates = conn.execute(select(order_stage.c.id, order_stage.c.row_version, order_stage.c.run_id,
                                             order_stage.c.run_outcome, order_stage.c.order_name,
                                             order_stage.c.order_gid)
                                      .where(*unfinished).order_by(order_stage.c.id)).mappings().all()
            for row in candidates:  # one by one, each on the version read: the hand-over matches what moved
                moved = conn.execute(
                    update(order_stage)
                    .where(order_stage.c.id == row["id"], order_stage.c.row_version == row["row_version"], *unfinished)
                    .values(run_id=run_id, **_PENDING, updated_at=now, row_version=order_stage.c.row_version + 1)
                ).rowcount == 1
                if moved:
                    adopted += 1
                    _hand_over(conn, row, run_id)
        return adopted

    def set_stage_status(self, order_gid: str, status: OrderStageStatus | str, *,
                         expected: Sequence[OrderStageStatus | str] | None = None, owned_by: str | None = None,
                         expected_digest: str | None = None, lease_owner: str | None = None, **values: Any) -> bool:
        """Move one order to ``status`` (with ``values``), under conditions; returns whether this call moved it.

        - ``expected``: only from those statuses;
        - ``owned_by``: only while that run owns the order (another run may have taken it over);
        - ``expected_digest``: only while the row still holds that version of the order (a newer one may have
          been captured meanwhile: work done on the older one is not written over it);
        - ``lease_owner``: only while that writer holds the write lease (it is released by this move).
        """
        status = parse_state(OrderStageStatus, status, "order stage status")
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
            previous = _previous_owner(conn, *conditions) if "run_id" in values else None
            moved = conn.execute(update(order_stage).where(*conditions).values(
                status=status, updated_at=utcnow(), row_version=order_stage.c.row_version + 1, **values)).rowcount == 1
            if moved:
                _hand_over(conn, previous, values.get("run_id"))
                if _OUTCOME_COLUMNS & values.keys():
                    _record_outcome_now(conn, order_gid)
            return moved

    def take_write_lease(self, order_gid: str, *, run_id: str, owner: str, ttl: timedelta,
                         from_status: OrderStageStatus, to_status: OrderStageStatus) -> StagedOrder | None:
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
                                or_(_lease_free(now), order_stage.c.lease_owner == owner))))
                .values(status=to_status, lease_owner=owner, lease_expires_at=now + ttl, claimed_at=now,
                        updated_at=now, row_version=order_stage.c.row_version + 1)
            ).rowcount == 1
            if not taken:
                return None
            row = conn.execute(select(order_stage).where(order_stage.c.order_gid == order_gid)).mappings().one()
            return _staged(row)

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

    def run_outcomes(self, run_id: str) -> dict[RunOutcome, list[OrderOutcome]]:
        """Per outcome (pending, exported, skipped, failed): what was decided for each order the run read."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_stage.c.run_outcome, order_stage.c.order_name,
                                       order_stage.c.run_outcome_reason, order_stage.c.run_outcome_code,
                                       order_stage.c.error_queue_id)
                                .where(order_stage.c.run_id == run_id).order_by(order_stage.c.id))
            outcomes: dict[RunOutcome, list[OrderOutcome]] = {}
            for outcome, name, reason, code, error_queue_id in rows:
                outcomes.setdefault(RunOutcome(outcome or RunOutcome.PENDING), []).append(OrderOutcome(
                    name, reason, RunOutcomeCode(code) if code else None, error_queue_id))
            return outcomes
