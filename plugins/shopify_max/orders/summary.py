"""``summarise_orders_run``: every order a run read ends exported, skipped or failed, or the task fails.

Skips are counted by their kind (``order_stage.run_outcome_code``); failures list their error-queue items
(``order_stage.error_queue_id``). Neither is read out of the reason text, which is for a person.
"""

from __future__ import annotations

from typing import Any

from shopify_max.run_summary import RunSummary, SummaryDoesNotAddUp
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.states import RunOutcome

UNSPECIFIED = "unspecified"  # a skip recorded without a kind (written before the kinds existed)


def summarise_orders_run(store: SyncStore, *, run_id: str, capture: dict[str, Any]) -> dict[str, Any]:
    """The run's summary: every order read ends exported, skipped or failed, or the task fails."""
    outcomes = store.run_outcomes(run_id)
    summary = RunSummary(flow="orders_to_max")
    for outcome, orders in outcomes.items():
        summary.read += len(orders)
        if outcome == RunOutcome.EXPORTED:
            summary.exported += len(orders)
        elif outcome == RunOutcome.SKIPPED:
            for order in orders:
                summary.skip(order.code or UNSPECIFIED)
        elif outcome == RunOutcome.FAILED:
            summary.failed += len(orders)
    bad = int(capture.get("bad_payloads", 0))
    summary.read += bad
    summary.failed += bad
    summary.error_queue_ids = list(capture.get("bad_payload_error_ids", []))
    summary.error_queue_ids += [order.error_queue_id for order in outcomes.get(RunOutcome.FAILED, [])
                                if order.error_queue_id is not None]
    pending = outcomes.get(RunOutcome.PENDING, [])
    if pending:
        summary.notes.append(f"{len(pending)} order(s) still pending: "
                             + ", ".join(order.order_name for order in pending[:10]))
        raise SummaryDoesNotAddUp(f"orders_to_max run {run_id}: {summary.notes[-1]}")
    return summary.as_xcom()


