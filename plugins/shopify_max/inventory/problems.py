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

# stage -> what it means; the stage names the check in the error queue.
STAGES = {
    "unmapped_location": "a Shopify location with no MAX stockroom (or not in locations.csv)",
    "unmapped_sku": "a SKU in Shopify with no MAX part in sku_to_part.csv",
    "sku_not_in_shopify": "a mapped SKU that no Shopify variant carries",
    "duplicate_sku": "a mapped SKU that several Shopify variants carry",
    "part_without_stock": "a mapped part with no Part_Stock row in the mapped stockrooms",
    "not_stocked": "an item not stocked at a Shopify location that MAX has stock for",
    "push": "a quantity Shopify refused, or found stale twice",
}
LISTED = 20  # how many record keys a run summary names per kind (the error queue has them all)


@dataclass
class Problems:
    """The problems of one kind found by one complete pass."""

    stage: str
    found: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # record key -> (reason, detail)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown inventory problem stage {self.stage!r}; known: {sorted(STAGES)}")

    def add(self, record_key: str, reason: str, **detail: Any) -> None:
        self.found[record_key] = (reason, detail)

    def record(self, store: SyncStore) -> dict[str, Any]:
        """Queue (or bump) each problem, resolve the ones no longer found; return the run-summary entry."""
        ids, resolved = store.sync_errors(entity=ENTITY, stage=self.stage, found=self.found)
        listed = sorted(self.found)[:LISTED]
        return {"count": len(self.found), "first": listed, "error_queue_ids": [ids[key] for key in listed],
                "resolved_since_last_run": resolved}
