"""Bodies of the ``go_live_check`` tasks: each flow's dry run, then one report (docs/go-live.md).

A flow's :class:`~shopify_max.dry_run.DryRunReport` can be large (a row per order, per inventory change), so it is
handed to the render task as a file beside the reports, not through XCom; XCom gets the small summary.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shopify_max.airflow_glue.task_failures import InvalidParamsError, fails_at_once_when_retrying_cannot_help
from shopify_max.clock import as_utc, utcnow
from shopify_max.dry_run import DryRunReport

log = logging.getLogger(__name__)

FLOWS = ("master_data", "orders", "refunds", "inventory", "fulfilment")
DEFAULT_WINDOW_DAYS = 60


def window(params: dict[str, Any], logical_date: datetime | None) -> tuple[datetime, datetime]:
    """The orders/refunds window: ``window_days`` (default 60) up to the run's logical date (its trigger time)."""
    days = params.get("window_days") or DEFAULT_WINDOW_DAYS
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidParamsError(f"window_days {params.get('window_days')!r}: a whole number of days") from None
    if not 1 <= days <= 365:
        raise InvalidParamsError(f"window_days {days}: between 1 and 365")
    end = as_utc(logical_date) if logical_date else utcnow()
    return end - timedelta(days=days), end


def _work_file(run_id: str, flow: str) -> Path:
    from shopify_max.go_live.storage import WORK_FOLDER, go_live_reports_dir, report_folder_name

    return go_live_reports_dir() / WORK_FOLDER / report_folder_name(run_id) / f"{flow}.json"


def flow_dry_run(flow: str, start: datetime, end: datetime) -> DryRunReport:
    """One flow's dry run (the same function its DAG runs with ``dry_run`` on)."""
    if flow == "orders":
        from shopify_max.airflow_glue.order_tasks import orders_dry_run

        return orders_dry_run(start, end)
    if flow == "refunds":
        from shopify_max.airflow_glue.refund_tasks import refunds_dry_run

        return refunds_dry_run(start, end)
    if flow == "inventory":
        from shopify_max.airflow_glue.inventory_tasks import inventory_dry_run

        return inventory_dry_run()
    if flow == "fulfilment":
        from shopify_max.airflow_glue.fulfilment_tasks import fulfilment_dry_run

        return fulfilment_dry_run()
    if flow == "master_data":
        from shopify_max.airflow_glue.master_data_tasks import master_data_dry_run

        return master_data_dry_run(start, end)
    raise ValueError(f"unknown flow {flow!r}; expected one of {FLOWS}")


@fails_at_once_when_retrying_cannot_help
def run_flow_dry_run(flow: str, run_id: str, params: dict[str, Any], logical_date: datetime | None) -> dict[str, Any]:
    start, end = window(params, logical_date)
    log.info("dry run of %s over %s → %s: nothing is written to Shopify, MAX or the sync store", flow, start, end)
    report = flow_dry_run(flow, start, end)
    path = _work_file(run_id, flow)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json(), encoding="utf-8")
    summary = report.as_xcom()
    log.info("%s would write %s; would fail %d", flow, summary["would_write"], summary["would_fail"])
    return summary


@fails_at_once_when_retrying_cannot_help
def render(run_id: str, params: dict[str, Any], logical_date: datetime | None) -> dict[str, Any]:
    """Render every flow's report; a flow whose dry run failed shows as failed (see its task log)."""
    from shopify_max.go_live.report import publish_go_live_report

    start, end = window(params, logical_date)
    reports = []
    for flow in FLOWS:
        path = _work_file(run_id, flow)
        if path.exists():
            reports.append(DryRunReport.from_json(path.read_text(encoding="utf-8")))
        else:
            failed = DryRunReport(flow=flow, notes=[f"the dry run of {flow} failed: read the log of task "
                                                    f"dry_run_{flow} in this DAG run, fix it, and clear that task"])
            failed.fail(f"the {flow} flow", "dry run", "dry_run_failed", failed.notes[0])
            reports.append(failed)
    from shopify_max.airflow_glue.store_tasks import DEFAULT_PII_RETENTION_DAYS, PII_RETENTION_VARIABLE
    from shopify_max.airflow_glue.variables import whole_number_variable

    retention = timedelta(days=whole_number_variable(PII_RETENTION_VARIABLE, DEFAULT_PII_RETENTION_DAYS, 1))
    files = publish_go_live_report(reports, run_id=run_id, generated_at=utcnow(), window=(start, end),
                                   max_age=retention)
    shutil.rmtree(_work_file(run_id, FLOWS[0]).parent, ignore_errors=True)
    log.info("go-live report: %s (%s)", files.html, files.summary.get("verdict"))
    return files.summary
