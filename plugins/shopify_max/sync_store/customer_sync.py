"""``customer_sync``: which Shopify customer each MAX account is, by which rule, and what was last pushed to it.

Written in one transaction per run (:meth:`CustomerSync.record_customer_decisions`), so a run killed half way
leaves the previous run's decisions, never a mix. The digest lets a push be skipped when nothing changed even if
Shopify's copy cannot be read back (the comparison with Shopify's own values comes first: ``master_data.customers``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.tables import customer_sync


@dataclass(frozen=True)
class CustomerDecisionRow:
    custid: str
    shopify_customer_gid: str | None
    decision: str
    matched_by: str | None
    candidates: tuple[str, ...]
    pushed_digest: str | None
    pushed_at: datetime | None


class CustomerSync(TableAccess):
    def customer_decisions(self) -> dict[str, CustomerDecisionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(customer_sync)).all()
        return {r.custid: CustomerDecisionRow(r.custid, r.shopify_customer_gid, r.decision, r.matched_by,
                                              tuple(json.loads(r.candidates or "[]")), r.pushed_digest, r.pushed_at)
                for r in rows}

    def record_customer_decisions(self, rows: Iterable[CustomerDecisionRow], *, run_id: str | None) -> int:
        """Replace every decision with ``rows`` (one complete matching pass), in one transaction: an upsert per
        account, then the accounts the pass no longer has go. Two attempts of one run (a retry beside its zombie)
        may do this at the same time: each upsert waits for the other's row, neither fails on the key."""
        now = utcnow()
        values = [{"custid": r.custid, "shopify_customer_gid": r.shopify_customer_gid, "decision": r.decision,
                   "matched_by": r.matched_by, "candidates": json.dumps(list(r.candidates)),
                   "pushed_digest": r.pushed_digest, "pushed_at": r.pushed_at, "checked_at": now, "run_id": run_id}
                  for r in rows]
        with self.engine.begin() as conn:
            insert = insert_for(conn)
            for chunk in (values[start:start + 500] for start in range(0, len(values), 500)):
                statement = insert(customer_sync).values(chunk)
                conn.execute(statement.on_conflict_do_update(
                    index_elements=[customer_sync.c.custid],
                    set_={column: statement.excluded[column] for column in values[0] if column != "custid"}))
            conn.execute(delete(customer_sync).where(customer_sync.c.checked_at < now))  # not in this pass
        return len(values)
