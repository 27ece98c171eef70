"""``watermarks``: where each flow's last read ended (e.g. the orders poll's ``updated_at``)."""

from __future__ import annotations

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
