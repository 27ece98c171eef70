"""The sandbox's write log: every mutation whose resolver ran, with its target ids and time.

Tests and the go-live dry run read it (``GET /_sandbox/writes``) to prove what a run did or did not write. It
counts calls, not changes: a customerSet that changes nothing is still a call that reached Shopify. A request
refused before execution (auth, throttling, an invalid document or variables) never reaches a resolver and is not
counted. ``bulkOperationRunQuery`` starts a read, so it is not a write.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from shopify_max.clock import utcnow

NOT_WRITES = frozenset({"bulkOperationRunQuery"})
ENTRIES_KEPT = 500
TARGETS_PER_ENTRY = 50


def _gids(value: Any, found: list[str]) -> None:
    """Every ``gid://`` string in ``value`` (arguments), depth first."""
    if isinstance(value, str):
        if value.startswith("gid://") and value not in found:
            found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _gids(item, found)
    elif isinstance(value, list):
        for item in value:
            _gids(item, found)


def write_targets(args: dict[str, Any], payload: Any) -> list[str]:
    """The ids a mutation named (its arguments) and the objects its payload returned (top level)."""
    found: list[str] = []
    _gids(args, found)
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "userErrors":
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] not in found:
                    found.append(item["id"])
    return found


class WriteLog:
    """Counts per mutation field, and the last :data:`ENTRIES_KEPT` entries. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.total = 0
            self.counts: Counter[str] = Counter()
            self.entries: deque[dict[str, Any]] = deque(maxlen=ENTRIES_KEPT)

    def record(self, mutation: str, args: dict[str, Any], payload: Any, replayed: bool = False) -> None:
        if mutation in NOT_WRITES:
            return
        targets = write_targets(args, payload)
        errors = payload.get("userErrors") if isinstance(payload, dict) else None
        entry = {"mutation": mutation, "targets": targets[:TARGETS_PER_ENTRY],
                 "at": utcnow().isoformat().replace("+00:00", "Z"), "user_errors": len(errors or []),
                 "replayed": replayed}
        with self._lock:
            self.total += 1
            self.counts[mutation] += 1
            self.entries.append(entry)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self.total, "counts": dict(self.counts), "entries": list(self.entries)}
