"""Inventory problems to the error queue, one item per record and kind, kept current.

Each check below runs in full on every run, so an item a run no longer reports is resolved: the queue shows
what is wrong now (an unmapped SKU that was mapped since disappears), and a problem still there is bumped
(``attempts``, ``last_seen``) instead of queued twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopify_max.inventory import ENTITY
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.states import InventoryErrorStage, parse_state

# stage -> what it means; the stage names the check in the error queue.
STAGES = {
    InventoryErrorStage.UNMAPPED_LOCATION: "a Shopify location with no MAX stockroom (or not in locations.csv)",
    InventoryErrorStage.UNMAPPED_SKU: "a SKU in Shopify with no MAX part in sku_to_part.csv",
    InventoryErrorStage.SKU_NOT_IN_SHOPIFY: "a mapped SKU that no Shopify variant carries",
    InventoryErrorStage.DUPLICATE_SKU: "a mapped SKU that several Shopify variants carry",
    InventoryErrorStage.PART_WITHOUT_STOCK: "a mapped part with no Part_Stock row in the mapped stockrooms",
    InventoryErrorStage.NOT_STOCKED: "an item not stocked at a Shopify location that MAX has stock for",
    InventoryErrorStage.PUSH: "a quantity Shopify refused, or found stale twice",
}
LISTED = 20  # how many record keys a run summary names per kind (the error queue has them all)


@dataclass
class Problems:
    """The problems of one kind found by one complete pass."""

    stage: InventoryErrorStage
    found: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # record key -> (reason, detail)

    def __post_init__(self) -> None:
        self.stage = parse_state(InventoryErrorStage, self.stage, "inventory problem stage")

    def add(self, record_key: str, reason: str, **detail: Any) -> None:
        self.found[record_key] = (reason, detail)

    def record(self, store: SyncStore) -> dict[str, Any]:
        """Queue (or bump) each problem, resolve the ones no longer found; return the run-summary entry."""
        ids, resolved = store.sync_errors(entity=ENTITY, stage=self.stage, found=self.found)
        listed = sorted(self.found)[:LISTED]
        return {"count": len(self.found), "first": listed, "error_queue_ids": [ids[key] for key in listed],
                "resolved_since_last_run": resolved}
