"""``summarise_orders_run``: every order a run read ends exported, skipped or failed, or the task fails."""

from __future__ import annotations

from typing import Any

from shopify_max.run_summary import RunSummary, SummaryDoesNotAddUp
from shopify_max.sync_store import SyncStore


def summarise_orders_run(store: SyncStore, *, run_id: str, capture: dict[str, Any]) -> dict[str, Any]:
    """The run's summary: every order read ends exported, skipped or failed, or the task fails."""
    outcomes = store.run_outcomes(run_id)
    summary = RunSummary(flow="orders_to_max")
    for outcome, orders in outcomes.items():
        summary.read += len(orders)
        if outcome == "exported":
            summary.exported += len(orders)
        elif outcome == "skipped":
            for _name, reason in orders:
                summary.skip((reason or "unspecified").split(":")[0].split(" (")[0][:80])
        elif outcome == "failed":
            summary.failed += len(orders)
    bad = int(capture.get("bad_payloads", 0))
    summary.read += bad
    summary.failed += bad
    summary.error_queue_ids = list(capture.get("bad_payload_error_ids", []))
    for outcome in ("failed",):
        for _name, reason in outcomes.get(outcome, []):
            if reason and reason.startswith("error queue item "):
                summary.error_queue_ids.append(int(reason.split()[3].rstrip(":")))
    pending = outcomes.get("pending", [])
    if pending:
        summary.notes.append(f"{len(pending)} order(s) still pending: " + ", ".join(name for name, _ in pending[:10]))
        raise SummaryDoesNotAddUp(f"orders_to_max run {run_id}: {summary.notes[-1]}")
    return summary.as_xcom()


