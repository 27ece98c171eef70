"""The short summary every run pushes to XCom: counts that add up, and error-queue ids.

Rule (DESIGN.md, "Nothing lost"): every record read ends exported, skipped (with a reason) or failed
(on the error queue with a reason), so ``read == exported + skipped + failed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class SummaryDoesNotAddUp(AssertionError):
    """A run lost track of a record: its counts do not add up."""


@dataclass
class RunSummary:
    flow: str
    read: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    error_queue_ids: list[int] = field(default_factory=list)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1

    def fail(self, error_queue_id: int) -> None:
        self.failed += 1
        self.error_queue_ids.append(error_queue_id)

    def check_adds_up(self) -> RunSummary:
        if self.read != self.exported + self.skipped + self.failed:
            raise SummaryDoesNotAddUp(
                f"{self.flow}: read {self.read} != exported {self.exported} + skipped {self.skipped}"
                f" + failed {self.failed}"
            )
        return self

    def as_xcom(self) -> dict[str, Any]:
        """JSON-safe dict for XCom (ids as ints, no payloads, nothing secret)."""
        return asdict(self.check_adds_up())
