"""Bodies of the ``master_data_sync`` tasks, and the master-data dry run the go-live check runs.

Business rules live in ``shopify_max.master_data``. Each task returns a small JSON-safe dict for XCom; with
``dry_run`` on, it reads and decides for real and writes nothing (Shopify, MAX, sync store).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import fails_at_once_when_retrying_cannot_help
from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunReport, DryRunWriteRefused, dry_run_guard, is_dry_run
from shopify_max.redaction import redact_text

log = logging.getLogger(__name__)
FLOW = "master_data"


def _settings() -> tuple[Any, Any, Any]:
    from shopify_max.mappings import load_mappings
    from shopify_max.master_data.rules import load_master_data_rules
    from shopify_max.master_data.tax_exemptions import load_tax_exemptions

    return load_master_data_rules(), load_mappings(), load_tax_exemptions()


def _hooks() -> tuple[Any, Any]:
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.shopify.hook import ShopifyHook

    return ShopifyHook(), ExactMaxHook()


def _run(step: str, run_id: str, params: dict[str, Any], report: DryRunReport | None = None,
         since: datetime | None = None) -> tuple[dict[str, Any], DryRunReport]:
    from shopify_max.master_data import pipeline

    dry_run = is_dry_run(params)
    report = report or DryRunReport(flow=FLOW)
    rules, mappings, exemptions = _settings()
    shopify, max_hook = _hooks()
    with open_sync_store() as store:
        if dry_run:
            with dry_run_guard():
                summary = _step(pipeline, step, store, shopify, max_hook, rules, mappings, exemptions, run_id, True,
                                report, params, since)
        else:
            summary = _step(pipeline, step, store, shopify, max_hook, rules, mappings, exemptions, run_id, False,
                            report, params, since)
    return {"dry_run": dry_run, **summary, **({"would_write": dict(report.would_write)} if dry_run else {})}, report


def _step(pipeline: Any, step: str, store: Any, shopify: Any, max_hook: Any, rules: Any, mappings: Any,
          exemptions: Any, run_id: str, dry_run: bool, report: DryRunReport, params: dict[str, Any],
          since: datetime | None) -> dict[str, Any]:
    if step == "customers":
        return pipeline.customers_step(store, shopify, max_hook, rules, mappings, exemptions, run_id=run_id,
                                       dry_run=dry_run, report=report)
    if step == "items":
        return pipeline.items_step(store, shopify, max_hook, rules, mappings, run_id=run_id, dry_run=dry_run,
                                   report=report)
    days = int(params.get("codes_seen_days") or rules.codes_seen_days)
    return pipeline.codes_step(store, shopify, max_hook, rules, mappings, exemptions,
                               since=since or utcnow() - timedelta(days=days), run_id=run_id, dry_run=dry_run,
                               report=report)


@fails_at_once_when_retrying_cannot_help
def sync_customers(run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _run("customers", run_id, params)[0]


@fails_at_once_when_retrying_cannot_help
def check_items_and_prices(run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _run("items", run_id, params)[0]


@fails_at_once_when_retrying_cannot_help
def check_code_tables(run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _run("codes", run_id, params)[0]


def summarise(run_id: str, params: dict[str, Any], customers: dict[str, Any], items: dict[str, Any],
              codes: dict[str, Any]) -> dict[str, Any]:
    summary = {"dry_run": is_dry_run(params), "customers": customers, "items": items, "codes": codes}
    if summary["dry_run"]:
        would: dict[str, int] = {}
        for part in (customers, items, codes):
            for kind, count in (part or {}).get("would_write", {}).items():
                would[kind] = would.get(kind, 0) + count
        summary["would_write"] = would
    log.info("master data: customers %s; item findings %s; code findings %s%s",
             {k: customers.get(k) for k in ("matched", "pushed", "unchanged", "ambiguous", "unmatched")},
             items.get("findings"), codes.get("findings"),
             f"; dry run, would write {summary['would_write']}" if summary["dry_run"] else "")
    return summary


def master_data_dry_run(window_start: datetime, window_end: datetime) -> DryRunReport:
    """The whole master-data pass as a dry run, into one report (the go-live check's master-data section)."""
    report = DryRunReport(flow=FLOW)
    params = {"dry_run": True}
    for step, since in (("customers", None), ("items", None), ("codes", window_start)):
        try:
            _run(step, "go_live_check", params, report, since=since)
        except DryRunWriteRefused:
            raise  # a bug: never hidden in a report
        except Exception as exc:  # noqa: BLE001 - one failed step must not hide the others' findings
            log.exception("master data dry run: the %s step failed", step)
            report.fail(f"master data: {step}", "dry run", "step_failed", f"the {step} step failed: "
                        f"{type(exc).__name__}: {redact_text(str(exc))[:300]} (the task log has the traceback)")
    return report
