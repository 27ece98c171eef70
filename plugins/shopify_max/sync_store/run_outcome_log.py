"""Run outcomes as an append-only record: one ``audit_log`` entry (direction ``run_outcome``) per decision.

``order_stage`` holds only the latest run per order, so a run's summary cannot be read back from it once the run
is cleared and run again, or once a later run took one of its orders over. Every time an order's run outcome
becomes exported, skipped or failed, the same transaction appends an entry here (``append_run_outcome``); when a
run takes over an order another run still had pending, the earlier run gets a ``skipped``/``handed_over`` entry
naming the new run. The run summary folds a run's entries (``orders/summary.py``).

An entry: entity ``order``, record key the order's name, outcome exported / skipped / failed, the run's id, and a
JSON ``response`` with ``order_gid``, ``code`` (``RunOutcomeCode``), ``reason``, ``error_queue_id``,
``max_ordnum`` (and ``handed_over_to`` for a hand-over). It holds no personal data (``contains_pii`` False), so it
outlives the retention purge: the reason of a failure (which may quote names and addresses) stays on its
error-queue item, where a privacy request scrubs it, and the entry names that item instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from shopify_max.sync_store.audit_log import AuditEntry, audit_row
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.states import RunOutcome, RunOutcomeCode
from shopify_max.sync_store.tables import audit_log, error_queue

ENTITY = "order"
DIRECTION = "run_outcome"
# Skips that only say the work was done before: they never replace an exported or failed outcome of the same run.
ALREADY_DONE_CODES = frozenset({RunOutcomeCode.UNCHANGED, RunOutcomeCode.EXPORTED_EARLIER,
                                RunOutcomeCode.ALREADY_EXPORTED, RunOutcomeCode.FOUND_IN_MAX})


def _code(value: Any) -> RunOutcomeCode | None:
    try:
        return RunOutcomeCode(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RunOutcomeEntry:
    """What one run decided for one order (or for one unreadable delivery), as recorded."""

    run_id: str
    order_name: str
    outcome: RunOutcome
    code: RunOutcomeCode | None = None
    reason: str | None = None
    order_gid: str | None = None
    error_queue_id: int | None = None
    max_ordnum: str | None = None
    handed_over_to: str | None = None
    entry_id: int = 0  # the audit_log id, when read back

    @property
    def order_key(self) -> str:
        """Which order the entry is about: a later entry with the same key replaces it. Each unreadable delivery
        counts on its own, as the capture counted it."""
        if self.code == RunOutcomeCode.CAPTURE_FAILED:
            return f"capture_failed/{self.error_queue_id or self.entry_id}"
        return self.order_gid or self.order_name

    def stored_reason(self) -> str | None:
        """The reason as the entry keeps it: a failure's own text may quote personal data, so the entry points at
        the error-queue item that holds it."""
        if self.outcome != RunOutcome.FAILED:
            return self.reason
        kind = (self.code or "failed").replace("_", " ")
        return f"{kind}: the reason is on error queue item {self.error_queue_id}" if self.error_queue_id else kind

    def audit_entry(self, task_id: str | None = None) -> AuditEntry:
        response = {"order_gid": self.order_gid, "code": self.code, "reason": self.stored_reason(),
                    "error_queue_id": self.error_queue_id, "max_ordnum": self.max_ordnum}
        if self.handed_over_to:
            response["handed_over_to"] = self.handed_over_to
        return AuditEntry(entity=ENTITY, record_key=self.order_name, direction=DIRECTION, outcome=self.outcome,
                          response=response, run_id=self.run_id, task_id=task_id, contains_pii=False)


def append_run_outcome(conn: Connection, entry: RunOutcomeEntry) -> None:
    """Append ``entry`` on ``conn``: inside the transaction that changed the order's outcome."""
    if entry.outcome == RunOutcome.PENDING:
        return
    conn.execute(audit_log.insert(), [audit_row(entry.audit_entry())])


def handed_over(previous_run_id: str, new_run_id: str, order_name: str, order_gid: str) -> RunOutcomeEntry:
    """The entry of a run whose pending order another run took over."""
    return RunOutcomeEntry(run_id=previous_run_id, order_name=order_name, outcome=RunOutcome.SKIPPED,
                           code=RunOutcomeCode.HANDED_OVER, reason=f"handed over to run {new_run_id}",
                           order_gid=order_gid, handed_over_to=new_run_id)


def _entry(row: Any) -> RunOutcomeEntry:
    try:
        data = json.loads(row["response"] or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}  # blanked by a purge or an erasure: the columns remain
    error_queue_id = data.get("error_queue_id")
    return RunOutcomeEntry(
        run_id=row["run_id"], order_name=row["record_key"] or "", outcome=RunOutcome(row["outcome"]),
        code=_code(data.get("code")), reason=data.get("reason"), order_gid=data.get("order_gid"),
        error_queue_id=int(error_queue_id) if isinstance(error_queue_id, int) else None,
        max_ordnum=data.get("max_ordnum"), handed_over_to=data.get("handed_over_to"), entry_id=row["id"])


class RunOutcomeLog(TableAccess):
    def record_run_outcomes(self, entries: Iterable[RunOutcomeEntry], *, task_id: str | None = None) -> int:
        """Append entries that change no staged order (capture's unreadable deliveries); one transaction."""
        rows = [audit_row(entry.audit_entry(task_id)) for entry in entries if entry.outcome != RunOutcome.PENDING]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(audit_log.insert(), rows)
        return len(rows)

    def run_outcome_entries(self, run_id: str) -> list[RunOutcomeEntry]:
        """Every outcome recorded for ``run_id``, oldest first."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(audit_log.c.id, audit_log.c.run_id, audit_log.c.record_key,
                                       audit_log.c.outcome, audit_log.c.response)
                                .where(audit_log.c.run_id == run_id, audit_log.c.direction == DIRECTION,
                                       audit_log.c.entity == ENTITY)
                                .order_by(audit_log.c.id))
            return [_entry(row) for row in rows.mappings()]

    def error_reasons(self, item_ids: Iterable[int]) -> dict[int, str]:
        """The current reason of each error-queue item (a failure's text for a person)."""
        ids = sorted(set(item_ids))
        found: dict[int, str] = {}
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(select(error_queue.c.id, error_queue.c.reason)
                                    .where(error_queue.c.id.in_(ids[start:start + 500])))
                found.update({item_id: reason for item_id, reason in rows if reason})
        return found
