"""``summarise_orders_run``: every order a run read ends exported, skipped or failed, or the task fails.

The summary is folded from the run's append-only run-outcome entries (``sync_store.run_outcome_log``), not from
``order_stage`` (which holds only the latest run per order), so it stays true after the run is cleared and run
again, and an order a later run took over stays in this run's summary as ``handed_over``. Per order, in the order
written, a later entry replaces an earlier one, except that a skip which only says the work was done before
(``ALREADY_DONE_CODES``: a cleared run reading its own export again) never replaces an exported or failed outcome
of the same run. Orders still pending in ``order_stage`` for the run fail the summary.

Skips and failures are grouped by their kind (``RunOutcomeCode``), with a few examples each; failures list their
error-queue items. The kind is never read out of the reason text, which is for a person.
"""

from __future__ import annotations

from typing import Any

from shopify_max.run_summary import RunSummary, SummaryDoesNotAddUp, example_text
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.run_outcome_log import ALREADY_DONE_CODES, RunOutcomeEntry
from shopify_max.sync_store.states import RunOutcome

UNSPECIFIED = "unspecified"  # an outcome recorded without a kind (written before the kinds existed, or erased)


def fold_run_outcomes(entries: list[RunOutcomeEntry]) -> dict[str, RunOutcomeEntry]:
    """Each order's outcome in the run, from its entries oldest first (rule in the module docstring)."""
    final: dict[str, RunOutcomeEntry] = {}
    for entry in entries:
        earlier = final.get(entry.order_key)
        if (earlier is not None and entry.outcome == RunOutcome.SKIPPED and entry.code in ALREADY_DONE_CODES
                and earlier.outcome in (RunOutcome.EXPORTED, RunOutcome.FAILED)):
            continue
        final[entry.order_key] = entry
    return final


def summarise_orders_run(store: SyncStore, *, run_id: str) -> dict[str, Any]:
    """The run's summary: every order read ends exported, skipped or failed, or the task fails. Capture's
    unreadable payloads are run-outcome entries too, so the capture step's XCom is not needed."""
    final = fold_run_outcomes(store.run_outcome_entries(run_id))
    staged = store.run_outcomes(run_id)
    named = {entry.order_name for entry in final.values()}
    for outcome, orders in staged.items():
        # An outcome with no entry (written before the run-outcome log, or set by a privacy erasure) counts as
        # the row says.
        for order in orders:
            if outcome != RunOutcome.PENDING and order.order_name not in named:
                final[f"staged/{order.order_name}"] = RunOutcomeEntry(
                    run_id=run_id, order_name=order.order_name, outcome=outcome, code=order.code, reason=order.reason,
                    error_queue_id=order.error_queue_id, entry_id=2**62)
    failure_reasons = store.error_reasons(entry.error_queue_id for entry in final.values()
                                          if entry.outcome == RunOutcome.FAILED and entry.error_queue_id)
    summary = RunSummary(flow="orders_to_max")
    for entry in sorted(final.values(), key=lambda e: e.entry_id):
        summary.read += 1
        kind = entry.code or UNSPECIFIED
        if entry.outcome == RunOutcome.EXPORTED:
            summary.exported += 1
        elif entry.outcome == RunOutcome.SKIPPED:
            summary.skip(kind, example_text(entry.order_name, entry.reason))
        else:
            reason = failure_reasons.get(entry.error_queue_id or 0) or entry.reason
            summary.fail(entry.error_queue_id, kind=kind, example=example_text(entry.order_name, reason))
    pending = staged.get(RunOutcome.PENDING, [])
    if pending:
        summary.notes.append(f"{len(pending)} order(s) still pending: "
                             + ", ".join(order.order_name for order in pending[:10]))
        raise SummaryDoesNotAddUp(f"orders_to_max run {run_id}: {summary.notes[-1]}")
    return summary.as_xcom()
