"""The short summary every run pushes to XCom: counts that add up, and error-queue ids.

Rule (DESIGN.md, "Nothing lost"): every record read ends exported, skipped (with a reason) or failed
(on the error queue with a reason), so ``read == exported + skipped + failed``.

Skips and failures are grouped by their kind (a code, never a reason's text): ``skip_reasons`` and
``failure_kinds`` count them, ``skip_examples`` and ``failure_examples`` keep the first few as
``"<record>: <reason>"``, the reason whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXAMPLES_PER_KIND = 3
EXAMPLE_CHARS = 1_000  # an example longer than this is cut, the cut marked


class SummaryDoesNotAddUp(AssertionError):
    """A run lost track of a record: its counts do not add up."""


def example_text(record: str, reason: str | None) -> str:
    text = f"{record}: {reason}" if reason else record
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


@dataclass
class RunSummary:
    flow: str
    read: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    error_queue_ids: list[int] = field(default_factory=list)
    skip_reasons: dict[str, int] = field(default_factory=dict)  # kind -> count
    skip_examples: dict[str, list[str]] = field(default_factory=dict)  # kind -> the first few, "#1001: reason"
    failure_kinds: dict[str, int] = field(default_factory=dict)
    failure_examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, kind: str, example: str | None = None) -> None:
        self.skipped += 1
        self.skip_reasons[kind] = self.skip_reasons.get(kind, 0) + 1
        _keep_example(self.skip_examples, kind, example)

    def fail(self, error_queue_id: int | None = None, *, kind: str | None = None, example: str | None = None) -> None:
        self.failed += 1
        if error_queue_id is not None:
            self.error_queue_ids.append(error_queue_id)
        if kind is not None:
            self.failure_kinds[kind] = self.failure_kinds.get(kind, 0) + 1
            _keep_example(self.failure_examples, kind, example)

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


def _keep_example(examples: dict[str, list[str]], kind: str, example: str | None) -> None:
    if example is None:
        return
    kept = examples.setdefault(kind, [])
    if len(kept) < EXAMPLES_PER_KIND:
        kept.append(example)
