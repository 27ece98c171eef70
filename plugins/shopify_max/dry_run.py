"""Dry runs: every read, mapping and Great Expectations check is real; no write reaches Shopify or MAX.

Each flow (orders, inventory, fulfilment, refunds, master data) takes the ``dry_run`` param. A dry run builds a
:class:`DryRunReport`: what the flow read, what it *would* write (the same figures a real run on the same data
then writes), and what would fail, by reason, with the record and field. The go-live check runs every flow this
way over a wide window and renders the reports for a person to read before switching the sync on.

Two guarantees, each enforced in one place:

- **No write leaves the process.** :func:`dry_run_guard` marks the current context; the Shopify client refuses
  any mutation but ``BulkOperationRunQuery`` (a bulk read), and the MAX hook refuses any request but ``GET``, with
  :class:`DryRunWriteRefused`. A flow's dry-run code never calls a writer; the guard makes a slip loud, not a write.
- **The sync store is left as it was.** A dry run reads the store (what was exported, id maps, shadows,
  watermarks) and changes nothing in it: no stage rows, no error-queue items, no cursor moves. Its report goes to
  XCom and, for the go-live check, to files.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

DRY_RUN_PARAM = "dry_run"
EXAMPLES_PER_REASON = 5

_active: contextvars.ContextVar[bool] = contextvars.ContextVar("shopify_max_dry_run", default=False)


class DryRunWriteRefused(RuntimeError):
    """A write was attempted during a dry run. Always a bug in the flow's dry-run path: it names the write."""


@contextmanager
def dry_run_guard() -> Iterator[None]:
    """Inside this block no Shopify mutation (but bulk reads) and no MAX request but GET is sent."""
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)


def dry_run_active() -> bool:
    return _active.get()


def refuse_write_in_dry_run(what: str) -> None:
    """Raise :class:`DryRunWriteRefused` naming ``what`` when a dry run is active; otherwise do nothing."""
    if _active.get():
        raise DryRunWriteRefused(f"dry run: {what} would have been sent; a dry run writes nothing")


def is_dry_run(params: dict[str, Any] | None) -> bool:
    """The ``dry_run`` param as a bool (Airflow may hand a string from a trigger form or the CLI)."""
    value = (params or {}).get(DRY_RUN_PARAM, False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class WouldFail:
    """One record that a real run would send to the error queue (or refuse), and why."""

    record: str  # what a person searches for: "order #1001 (gid://shopify/Order/…)", "SKU-00007 @ Main Warehouse"
    field: str  # the field or rule at fault: "line_items[2].sku", "customer.email"
    reason: str  # a stable code, the group key of the report: "unmapped_sku", "ambiguous_match"
    message: str  # the sentence a person reads


@dataclass
class DryRunReport:
    """What one flow would do. ``would_write`` counts the writes by kind (``sales_orders``, ``customers``,
    ``inventory_levels``…); ``tables`` holds the rows the go-live report prints and writes as CSV, by name."""

    flow: str
    read: dict[str, int] = field(default_factory=dict)
    would_write: dict[str, int] = field(default_factory=dict)
    would_fail: list[WouldFail] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_write(self, kind: str, count: int = 1) -> None:
        self.would_write[kind] = self.would_write.get(kind, 0) + count

    def fail(self, record: str, field_name: str, reason: str, message: str) -> None:
        self.would_fail.append(WouldFail(record, field_name, reason, message))

    def failures_by_reason(self, examples: int = EXAMPLES_PER_REASON, *,
                           with_messages: bool = True) -> dict[str, dict[str, Any]]:
        grouped: dict[str, dict[str, Any]] = {}
        for failure in self.would_fail:
            group = grouped.setdefault(failure.reason, {"count": 0, "examples": []})
            group["count"] += 1
            if len(group["examples"]) < examples:
                example = asdict(failure)
                if not with_messages:
                    del example["message"]
                group["examples"].append(example)
        return dict(sorted(grouped.items(), key=lambda item: (-item[1]["count"], item[0])))

    def as_xcom(self) -> dict[str, Any]:
        """Small and JSON-safe: counts, and a few examples per failure reason (record, field, reason), never the
        tables nor the messages: a message may quote a name or an address, and XCom keeps no personal data. The
        task log and the go-live report (kept for the PII retention period) have the sentences."""
        return {"dry_run": True, "flow": self.flow, "read": dict(self.read), "would_write": dict(self.would_write),
                "would_fail": len(self.would_fail),
                "would_fail_by_reason": self.failures_by_reason(with_messages=False), "notes": list(self.notes)}

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DryRunReport:
        data = json.loads(text)
        return cls(flow=data["flow"], read=data.get("read", {}), would_write=data.get("would_write", {}),
                   would_fail=[WouldFail(**item) for item in data.get("would_fail", [])],
                   tables=data.get("tables", {}), notes=data.get("notes", []))
