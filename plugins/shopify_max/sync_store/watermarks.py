"""``watermarks``: where each flow's last read ended (e.g. the orders poll's ``updated_at``).

A time watermark only moves forward (:meth:`Watermarks.advance_time_watermark`): a run whose window ends earlier
than one already read (an Airflow backfill run, a scheduled run queued behind a later one) leaves it where it is,
so the next poll does not stretch back over what was read. The comparison is made by the database, in the one
statement that writes, so two runs finishing together cannot move it back either.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.tables import watermarks


class Watermarks(TableAccess):
    def get_watermark(self, flow: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(select(watermarks.c.value).where(watermarks.c.flow == flow)).scalar_one_or_none()

    def set_watermark(self, flow: str, value: str, *, run_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            insert = insert_for(conn)(watermarks).values(flow=flow, value=value, updated_at=utcnow(), run_id=run_id)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[watermarks.c.flow],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at, "run_id": run_id},
                )
            )

    def advance_time_watermark(self, flow: str, moment: datetime, *, run_id: str | None = None) -> str:
        """Move ``flow``'s time watermark to ``moment`` unless it is already there or later; return where it is.
        Stored as fixed-width UTC (``2026-11-30T07:00:00.000000Z``), which orders as text as it does as time
        (earlier values written by ``isoformat()`` compare correctly against it)."""
        value = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.engine.begin() as conn:
            insert = insert_for(conn)(watermarks).values(flow=flow, value=value, updated_at=utcnow(), run_id=run_id)
            conn.execute(insert.on_conflict_do_update(
                index_elements=[watermarks.c.flow],
                set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at, "run_id": run_id},
                where=watermarks.c.value < insert.excluded.value))
            return conn.execute(select(watermarks.c.value).where(watermarks.c.flow == flow)).scalar_one()
