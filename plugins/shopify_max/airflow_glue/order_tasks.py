"""Bodies of the ``orders_to_max`` tasks: connections in, the library's pipeline step, a summary out.

Each returns a small JSON-safe dict for XCom. Business rules live in ``shopify_max.orders``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import InvalidParamsError, fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import seconds_variable
from shopify_max.clock import as_utc, utcnow
from shopify_max.dry_run import DryRunReport, is_dry_run

log = logging.getLogger(__name__)

POLL_OVERLAP = timedelta(minutes=10)  # webhooks get lost and clocks differ: re-read the edge of each window
FIRST_RUN_LOOKBACK = timedelta(days=1)
BULK_WINDOW = timedelta(hours=6)  # wider windows (backfills) are read with one bulk operation, not page by page
# Airflow Variables (optional): how long one attempt may hold an order's MAX write before another may take it over,
# and how long a claimed webhook delivery may stay unfinished before it returns to the inbox.
WRITE_LEASE_VARIABLE = "orders_write_lease_seconds"
INBOX_CLAIM_TIMEOUT_VARIABLE = "orders_inbox_claim_timeout_seconds"


def write_lease() -> timedelta:
    from shopify_max.orders.pipeline import DEFAULT_WRITE_LEASE

    return seconds_variable(WRITE_LEASE_VARIABLE, DEFAULT_WRITE_LEASE)


class BulkOrderSource:
    """Reads a window of orders through a Shopify bulk operation (SHOPIFY.md §2: bulk operations)."""

    def __init__(self, hook) -> None:  # noqa: ANN001 - ShopifyHook, imported lazily
        self.hook = hook

    def iter_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None):  # noqa: ANN201
        return self.hook.bulk_orders_updated(updated_at_min, updated_at_max)


def _parse(value: str | datetime | None) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def is_backfill_window(params: dict[str, Any]) -> bool:
    """The run reads a window given by params (a backfill), not its data interval."""
    return bool(params.get("window_start") or params.get("window_end"))


def poll_window(params: dict[str, Any], data_interval_start: datetime | None, data_interval_end: datetime | None,
                watermark: str | None) -> tuple[datetime, datetime]:
    """The window of ``updated_at`` to poll.

    - Backfill params (``window_start``/``window_end``) win. A window that ends at or before its start (or a
      value that is not a date) is refused with ``InvalidParamsError``: the task fails at once, naming both.
    - Otherwise the run's data interval, stretched back to where the last poll ended, so a paused DAG or a
      failed run leaves no gap; the very first poll reaches back one day (older backlogs: backfill params).
    """
    if is_backfill_window(params):
        try:
            end = _parse(params.get("window_end")) or utcnow()
            start = _parse(params.get("window_start")) or end - FIRST_RUN_LOOKBACK
        except ValueError as exc:
            raise InvalidParamsError(f"window_start {params.get('window_start')!r} / window_end "
                                     f"{params.get('window_end')!r}: not an ISO 8601 date and time ({exc})") from None
        if start >= end:
            raise InvalidParamsError(
                f"the backfill window is {'empty' if start == end else 'reversed'}: window_start "
                f"{start.isoformat()} is not before window_end {end.isoformat()} (params window_start="
                f"{params.get('window_start')!r}, window_end={params.get('window_end')!r}); trigger the run again "
                "with window_start before window_end")
        return start, end
    end = _parse(data_interval_end) or utcnow()
    start = _parse(data_interval_start) or end
    last_poll_end = _parse(watermark)
    start = min(start, last_poll_end) if last_poll_end else min(start, end - FIRST_RUN_LOOKBACK)
    return start, max(end, start)


def skipped_in_dry_run(params: dict[str, Any] | None, step: str, report_task: str) -> dict[str, Any] | None:
    """A write step's XCom in a dry run (it does nothing; ``report_task`` computed the report), else None."""
    if not is_dry_run(params):
        return None
    log.info("dry run: %s writes nothing; what a real run would write is %s's report", step, report_task)
    return {"dry_run": True, "step": step, "written": 0, "note": f"dry run: nothing done; see {report_task}"}


def log_dry_run(report: dict[str, Any]) -> None:
    """The figures a person reads first: what was read, what would be written, what would fail and why."""
    log.info("dry run of %s: read %s", report["flow"], report["read"])
    log.info("dry run of %s: would write %s", report["flow"], report["would_write"])
    log.info("dry run of %s: would fail %d: %s", report["flow"], report["would_fail"],
             ", ".join(f"{reason} {group['count']}" for reason, group in report["would_fail_by_reason"].items())
             or "none")
    for note in report["notes"]:
        log.info("dry run of %s: %s", report["flow"], note)


@fails_at_once_when_retrying_cannot_help
def orders_dry_run(window_start: datetime, window_end: datetime) -> DryRunReport:
    """What an ``orders_to_max`` run reading orders updated from ``window_start`` to ``window_end`` (as its
    ``window_start``/``window_end`` params; read with the 10-minute overlap, in bulk past 6 hours) would write,
    skip and send to the error queue, given the sync store as it is now. Every read, mapping and the Great
    Expectations suite are real; nothing is written to Shopify, MAX or the sync store (``dry_run_guard``)."""
    return _orders_dry_run(poll_window({"window_start": window_start, "window_end": window_end}, None, None, None))


def _orders_dry_run(window: tuple[datetime, datetime]) -> DryRunReport:
    """The dry run over a window already decided by :func:`poll_window` (the go-live check's, or a DAG run's)."""
    from shopify_max.dry_run import dry_run_guard
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.orders.dry_run import dry_run_orders
    from shopify_max.shopify.hook import ShopifyHook

    mappings = load_mappings()
    with dry_run_guard(), open_sync_store() as store:
        hook = ShopifyHook()
        bulk = window[1] - window[0] > BULK_WINDOW
        report = dry_run_orders(store, BulkOrderSource(hook) if bulk else hook, ExactMaxHook(), mappings,
                                reference_codes_from_max, window=window, overlap=POLL_OVERLAP)
    report.notes.append("read with a bulk operation" if bulk else "read page by page")
    log_dry_run({**report.as_xcom(), "would_fail_by_reason": report.failures_by_reason()})  # with messages
    return report


@fails_at_once_when_retrying_cannot_help
def capture_orders(run_id: str, params: dict[str, Any], data_interval_start: datetime | None,
                   data_interval_end: datetime | None, task_id: str | None = None) -> dict[str, Any]:
    """Capture the run's orders; in a dry run, the dry-run report over the same window (nothing staged, the
    watermark left where it is)."""
    from shopify_max.orders.pipeline import DEFAULT_INBOX_CLAIM_TIMEOUT, POLL_WATERMARK
    from shopify_max.orders.pipeline import capture_orders as capture
    from shopify_max.shopify.hook import ShopifyHook

    if is_dry_run(params):
        with open_sync_store() as store:
            watermark = store.get_watermark(POLL_WATERMARK)
        return _orders_dry_run(poll_window(params, data_interval_start, data_interval_end, watermark)).as_xcom()
    with open_sync_store() as store:
        window = poll_window(params, data_interval_start, data_interval_end, store.get_watermark(POLL_WATERMARK))
        hook = ShopifyHook()
        source = BulkOrderSource(hook) if window[1] - window[0] > BULK_WINDOW else hook
        log.info("reading orders updated from %s to %s (with %s overlap) %s", *window, POLL_OVERLAP,
                 "with a bulk operation" if isinstance(source, BulkOrderSource) else "page by page")
        report = capture(store, source, run_id=run_id, window=window, overlap=POLL_OVERLAP, task_id=task_id,
                         inbox_claim_timeout=seconds_variable(INBOX_CLAIM_TIMEOUT_VARIABLE,
                                                              DEFAULT_INBOX_CLAIM_TIMEOUT),
                         advance_watermark=not is_backfill_window(params)).as_xcom()
        return {**report, "read_by": "bulk_operation" if isinstance(source, BulkOrderSource) else "pages"}


@fails_at_once_when_retrying_cannot_help
def map_orders(run_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from shopify_max.mappings import load_mappings
    from shopify_max.orders.pipeline import map_staged_orders

    if (skipped := skipped_in_dry_run(params, "map_orders_to_sales_orders", "capture_orders")) is not None:
        return skipped
    with open_sync_store() as store:
        return map_staged_orders(store, load_mappings(), run_id=run_id)


def reference_codes_from_max():  # noqa: ANN201 - ReferenceCodes, imported lazily
    """Codes that exist in MAX, read from the gateway: the value sets of the validation suite."""
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.validation.sales_orders import ReferenceCodes

    hook = ExactMaxHook()
    tables = hook.code_tables()
    return ReferenceCodes(
        part_numbers=frozenset(part.PRTNUM for part in hook.iter_parts()),
        uoms=frozenset(code.code for code in tables.uom),
        terms=frozenset(code.code for code in tables.terms),
        ship_via=frozenset(code.code for code in tables.ship_via),
        tax_codes=frozenset(code.code for code in tables.tax_codes),
        currencies=frozenset(code.code for code in tables.currencies),
    )


@fails_at_once_when_retrying_cannot_help
def validate_orders(run_id: str, task_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from shopify_max.orders.pipeline import validate_staged_orders

    if (skipped := skipped_in_dry_run(params, "validate_sales_orders", "capture_orders")) is not None:
        return skipped
    with open_sync_store() as store:
        return validate_staged_orders(store, reference_codes_from_max(), run_id=run_id, task_id=task_id)


@fails_at_once_when_retrying_cannot_help
def export_orders(run_id: str, task_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.orders.pipeline import export_staged_orders

    if (skipped := skipped_in_dry_run(params, "export_sales_orders_to_max", "capture_orders")) is not None:
        return skipped
    with open_sync_store() as store:
        return export_staged_orders(store, ExactMaxHook(), run_id=run_id, task_id=task_id, write_lease=write_lease())


@fails_at_once_when_retrying_cannot_help
def cancel_orders(run_id: str, task_id: str | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.orders.pipeline import apply_cancellations

    if (skipped := skipped_in_dry_run(params, "cancel_orders_cancelled_after_export", "capture_orders")) is not None:
        return skipped
    with open_sync_store() as store:
        return apply_cancellations(store, ExactMaxHook(), run_id=run_id, task_id=task_id, write_lease=write_lease())


@fails_at_once_when_retrying_cannot_help
def summarise(run_id: str, params: dict[str, Any] | None = None,
              captured: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary; in a dry run, the dry-run report ``capture_orders`` returned (``captured``), logged."""
    from shopify_max.orders.pipeline import summarise_orders_run

    if is_dry_run(params):
        return dry_run_summary(captured, "capture_orders")
    with open_sync_store() as store:
        summary = summarise_orders_run(store, run_id=run_id)
    log.info("run summary: read %(read)d = exported %(exported)d + skipped %(skipped)d + failed %(failed)d", summary)
    return summary


def dry_run_summary(report: dict[str, Any] | None, report_task: str) -> dict[str, Any]:
    """A dry run's summary is its report, as ``report_task`` returned it, logged."""
    if not (report or {}).get("dry_run"):
        raise RuntimeError(f"a dry run's summary needs {report_task}'s dry-run report, got {report!r}")
    log_dry_run(report)
    return report


@fails_at_once_when_retrying_cannot_help
def replay_errors(run_id: str, task_id: str, params: dict[str, Any],
                  triggering_user: str | None = None) -> dict[str, Any]:
    """The error-replay DAG's action on the items its params select (every entity, every filter):
    ``shopify_max.airflow_glue.error_queue_tasks.act_on_error_queue``."""
    from shopify_max.airflow_glue.error_queue_tasks import act_on_error_queue

    return act_on_error_queue(run_id, task_id, params, triggering_user)
