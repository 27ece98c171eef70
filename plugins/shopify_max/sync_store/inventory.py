"""The inventory flow's tables: ``inventory_shadow`` (the last quantity pushed per item × location),
``inventory_item`` (Shopify's items by SKU) and ``inventory_target`` (what MAX says Shopify should show)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from shopify_max.clock import utcnow
from shopify_max.sync_store.audit_log import AuditEntry, audit_row
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.tables import audit_log, inventory_item, inventory_shadow, inventory_target


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


def _upsert_shadow(conn: Connection, quantities: dict[tuple[str, str], int], run_id: str | None) -> int:
    if not quantities:
        return 0
    now = utcnow()
    rows = [
        {"inventory_item_gid": item, "location_gid": location, "quantity": int(qty), "pushed_at": now, "run_id": run_id}
        for (item, location), qty in quantities.items()
    ]
    insert = insert_for(conn)(inventory_shadow)
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


class InventoryState(TableAccess):
    # -- shadow ---------------------------------------------------------------------------------
    def shadow_quantities(self) -> dict[tuple[str, str], int]:
        """Last quantity pushed per (inventory item gid, location gid)."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(inventory_shadow.c.inventory_item_gid, inventory_shadow.c.location_gid, inventory_shadow.c.quantity)
            )
            return {(item, location): quantity for item, location, quantity in rows}

    def upsert_shadow(self, quantities: dict[tuple[str, str], int], *, run_id: str | None = None) -> int:
        with self.engine.begin() as conn:
            return _upsert_shadow(conn, quantities, run_id)

    def record_pushed_quantities(self, quantities: dict[tuple[str, str], int], audit: Iterable[AuditEntry], *,
                                 run_id: str | None = None) -> None:
        """What one push batch set, with its audit entries, in one transaction."""
        with self.engine.begin() as conn:
            _upsert_shadow(conn, quantities, run_id)
            rows = [audit_row(entry) for entry in audit]
            if rows:
                conn.execute(audit_log.insert(), rows)

    def replace_shadow(self, quantities: dict[tuple[str, str], int], *, run_id: str | None = None) -> int:
        """A full reconcile rebuilds the shadow: drop what is there and write what Shopify now holds."""
        with self.engine.begin() as conn:  # one transaction: a reader never sees the shadow half rebuilt
            conn.execute(inventory_shadow.delete())
            return _upsert_shadow(conn, quantities, run_id)

    # -- items by SKU and targets -----------------------------------------------------------------
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
            insert = insert_for(conn)(inventory_item)
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
