"""How the inventory push sends: its defaults and allowed ranges, defined once.

``inventory_rules.yaml`` (``push``, read by :mod:`.rules`) and the DAG's ``batch_size`` param choose within
these; :mod:`.push` runs with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shopify_max.inventory.plan import MAX_BATCH


@dataclass(frozen=True)
class PushSettings:
    reason: str = "correction"  # Shopify's inventory reason code for a level the ERP sets (SHOPIFY.md §5)
    batch_size: int = MAX_BATCH  # quantities per inventorySetQuantities call
    senders: int = 4  # concurrent requests, sharing one cost pacer
    spare_points: int = 0  # left in the bucket for other flows (orders polling shares the same app and shop)

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "batch_size": (1, MAX_BATCH), "senders": (1, 16), "spare_points": (0, 5000)}

    def __post_init__(self) -> None:
        for name, (low, high) in self.RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be {low}..{high}, got {value}")


DEFAULT_PUSH = PushSettings()
