"""The write lease: only one attempt of one task writes an order to MAX at a time (docs/orders.md).

An attempt takes the order's lease before writing and renews it right before each send; a lost lease stops the
send. Another attempt or run takes the order over only once the lease has expired, and then settles it by
lookup before sending anything.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from shopify_max.clock import utcnow
from shopify_max.sync_store import StagedOrder, SyncStore
from shopify_max.sync_store.states import OrderStageStatus

log = logging.getLogger(__name__)

# How long a writer may hold an order before another attempt or run may take it over (it renews before each send,
# and one send is bounded by the gateway connection's timeout, far below this).
DEFAULT_WRITE_LEASE = timedelta(minutes=5)


class WriteLeaseHeld(RuntimeError):
    """Another attempt still holds the write lease of an order this run must finish: retry the task later."""


class WriteLeaseLost(RuntimeError):
    """The lease expired before a send (the writer was too slow or paused): nothing was sent."""


@dataclass(frozen=True)
class Writer:
    """One attempt writing orders to MAX: its lease token and lease length."""

    run_id: str
    owner: str
    lease: timedelta
    lease_wait: timedelta
    task_id: str | None = None

    @classmethod
    def new(cls, run_id: str, task_id: str | None, lease: timedelta, lease_wait: timedelta | None) -> Writer:
        owner = f"{run_id}/{task_id or 'task'}/{uuid.uuid4().hex[:12]}"
        return cls(run_id, owner, lease, lease_wait if lease_wait is not None else lease + timedelta(seconds=30),
                   task_id)

    def guard(self, store: SyncStore, order_gid: str, order_name: str) -> Callable[[], None]:
        """Called right before each send: renews the lease, or stops the send when it was lost."""
        def before_send() -> None:
            if not store.renew_write_lease(order_gid, owner=self.owner, ttl=self.lease):
                raise WriteLeaseLost(f"order {order_name}: the write lease expired before sending; nothing was sent")
        return before_send


def leased_order(store: SyncStore, staged: StagedOrder, writer: Writer, from_status: OrderStageStatus,
                 to_status: OrderStageStatus) -> StagedOrder | None:
    """Take the order's write lease, waiting while another attempt of this run holds a live one.

    None when the order no longer needs this run: another run owns it, or the other attempt settled it.
    Raises :class:`WriteLeaseHeld` when the other attempt still holds it after ``lease_wait``.
    """
    deadline = time.monotonic() + writer.lease_wait.total_seconds()
    while True:
        leased = store.take_write_lease(staged.order_gid, run_id=writer.run_id, owner=writer.owner,
                                        ttl=writer.lease, from_status=from_status, to_status=to_status)
        if leased is not None:
            return leased
        now_row = store.staged_orders([staged.order_gid]).get(staged.order_gid)
        if now_row is None or now_row.run_id != writer.run_id or now_row.status not in (from_status, to_status):
            log.info("order %s: settled or taken over elsewhere (%s, run %s); nothing to do here", staged.order_name,
                     now_row.status if now_row else "gone", now_row.run_id if now_row else "-")
            return None
        if time.monotonic() >= deadline:
            raise WriteLeaseHeld(f"order {staged.order_name}: another attempt ({now_row.lease_owner}) still holds the "
                                 f"write lease until {now_row.lease_expires_at}; retry after it ends or expires")
        remaining = (now_row.lease_expires_at - utcnow()).total_seconds() if now_row.lease_expires_at else 0
        log.info("order %s: write lease held by %s until %s; waiting", staged.order_name, now_row.lease_owner,
                 now_row.lease_expires_at)
        time.sleep(min(max(remaining, 0.05) + 0.05, 2.0))


def with_write_lease(store: SyncStore, staged: StagedOrder, writer: Writer, from_status: OrderStageStatus,
                     to_status: OrderStageStatus, work: Callable[[StagedOrder], str]) -> str | None:
    """Run ``work`` on the leased row; when the lease was lost before a send, take it again and settle again."""
    for _attempt in range(3):
        leased = leased_order(store, staged, writer, from_status, to_status)
        if leased is None:
            return None
        try:
            return work(leased)
        except WriteLeaseLost as lost:
            log.warning("%s; taking it again, and settling by lookup first", lost)
        except BaseException:
            # This attempt stops here (an outage, a bug): give the lease back so that the retry or the next run
            # can settle the order at once. A send still in flight is caught by the gateway's CUSTPO rule.
            store.release_write_lease(staged.order_gid, owner=writer.owner)
            raise
    raise WriteLeaseHeld(f"order {staged.order_name}: the write lease was lost three times in a row")


