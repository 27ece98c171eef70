"""Bodies of the ``refunds_to_max`` tasks: connections in, the library's step, a small summary out.

Business rules live in ``shopify_max.refunds``. Each returns a JSON-safe dict for XCom.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import fails_at_once_when_retrying_cannot_help
from shopify_max.airflow_glue.variables import seconds_variable
from shopify_max.dry_run import DryRunReport, is_dry_run

log = logging.getLogger(__name__)

WRITE_LEASE_VARIABLE = "refunds_write_lease_seconds"


@fails_at_once_when_retrying_cannot_help
def refunds_dry_run(window_start: datetime, window_end: datetime) -> DryRunReport:
    """What a ``refunds_to_max`` run reading refunds of orders updated from ``window_start`` to ``window_end`` (as its
    ``window_start``/``window_end`` params, with the 10-minute overlap) would write, skip and send to the error
    queue, given the sync store as it is now: the refunds it would stage, and every open refund the sync store holds.
    Every read, mapping and the Great Expectations suite are real; nothing is written to Shopify, MAX or the sync
    store (``dry_run_guard``)."""
    from shopify_max.airflow_glue.order_tasks import poll_window

    return _refunds_dry_run(poll_window({"window_start": window_start, "window_end": window_end}, None, None, None))


def _refunds_dry_run(window: tuple[datetime, datetime]) -> DryRunReport:
    """The dry run over a window already decided by ``poll_window`` (the go-live check's, or a DAG run's)."""
    from shopify_max.airflow_glue.order_tasks import POLL_OVERLAP, log_dry_run, reference_codes_from_max
    from shopify_max.dry_run import dry_run_guard
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.refunds.dry_run import dry_run_refunds
    from shopify_max.refunds.rules import load_refund_rules
    from shopify_max.shopify.hook import ShopifyHook

    rules = load_refund_rules()
    with dry_run_guard(), open_sync_store() as store:
        report = dry_run_refunds(store, ShopifyHook(), ExactMaxHook(), rules, reference_codes_from_max,
                                 window=window, overlap=POLL_OVERLAP)
    log_dry_run({**report.as_xcom(), "would_fail_by_reason": report.failures_by_reason()})  # with messages
    return report


@fails_at_once_when_retrying_cannot_help
def capture_refunds(run_id: str, params: dict[str, Any], data_interval_start: datetime | None,
                    data_interval_end: datetime | None) -> dict[str, Any]:
    """Capture the run's refunds; in a dry run, the dry-run report over the same window (nothing staged, the
    watermark left where it is)."""
    from shopify_max.airflow_glue.order_tasks import POLL_OVERLAP, is_backfill_window, poll_window
    from shopify_max.refunds.pipeline import POLL_WATERMARK
    from shopify_max.refunds.pipeline import capture_refunds as capture
    from shopify_max.shopify.hook import ShopifyHook

    if is_dry_run(params):
        with open_sync_store() as store:
            watermark = store.get_watermark(POLL_WATERMARK)
        return _refunds_dry_run(poll_window(params, data_interval_start, data_interval_end, watermark)).as_xcom()
    with open_sync_store() as store:
        window = poll_window(params, data_interval_start, data_interval_end, store.get_watermark(POLL_WATERMARK))
        backfill = is_backfill_window(params)
        log.info("refunds: the inbox, then orders with refunds updated from %s to %s (with %s overlap)", *window,
                 POLL_OVERLAP)
        report = capture(store, ShopifyHook(), run_id=run_id, window=window, overlap=POLL_OVERLAP,
                         source="backfill" if backfill else "poll")
        return {**report, "window": [moment.isoformat() for moment in window]}


def credit_memo_validator():  # noqa: ANN201 - Callable[[list[CreditMemo]], list[str]]
    """The sales-order Great Expectations suite, with MAX's codes read from the gateway, for credit memos."""
    from shopify_max.airflow_glue.order_tasks import reference_codes_from_max
    from shopify_max.validation.sales_orders import validate_sales_orders

    codes = []  # read from MAX on first use: a run with no refund to export reads nothing

    def validate(memos: list) -> list[str]:
        if not codes:
            codes.append(reference_codes_from_max())
        report = validate_sales_orders(memos, codes[0])
        return [failure.message() for memo in memos for failure in report.failures_by_order.get(memo.CUSTPO, [])]

    return validate


@fails_at_once_when_retrying_cannot_help
def export_credit_memos(run_id: str, task_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from shopify_max.airflow_glue.order_tasks import skipped_in_dry_run
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.refunds.pipeline import DEFAULT_LEASE, RefundExport
    from shopify_max.refunds.rules import load_refund_rules

    if (skipped := skipped_in_dry_run(params, "export_credit_memos", "capture_refunds")) is not None:
        return skipped
    with open_sync_store() as store:
        return RefundExport(store, ExactMaxHook(), load_refund_rules(), credit_memo_validator(), run_id=run_id,
                            task_id=task_id, lease=seconds_variable(WRITE_LEASE_VARIABLE, DEFAULT_LEASE)).run()


@fails_at_once_when_retrying_cannot_help
def summarise(run_id: str, capture: dict[str, Any], export: dict[str, Any],
              params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary; in a dry run, the dry-run report ``capture_refunds`` returned, logged."""
    from shopify_max.airflow_glue.order_tasks import dry_run_summary
    from shopify_max.refunds.pipeline import summarise_refunds_run

    if is_dry_run(params):
        return dry_run_summary(capture, "capture_refunds")
    with open_sync_store() as store:
        summary = summarise_refunds_run(store, run_id=run_id, capture=capture, export=export)
    log.info("refunds: %(refunds)d = exported %(exported)d + skipped %(skipped)d (waiting %(waiting)d) + failed "
             "%(failed)d; error queue items %(error_queue_ids)s", summary)
    return summary
