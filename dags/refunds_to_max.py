"""
### Refunds: Shopify refunds → Exact MAX credit memos, exactly once, to the cent

1. `capture_refunds`: `refunds/create` deliveries from the webhook inbox, then an overlapping poll of orders whose
   refunds changed (webhooks get lost); params `window_start`/`window_end` backfill a window. Each refund is
   staged once, whatever its deliveries.
2. `export_credit_memos`: under a write lease per refund: waits while its order is not in MAX or not invoiced
   (shown in the summary); no memo when MAX cancelled the order before shipping; otherwise lines (with restock),
   shipping and adjustments mapped, totals reconciled to the refund's transactions, the order's memos capped at
   what MAX holds, Great Expectations, then the credit memo (`STYPE` CR, `APPINV` the invoice), settled by its
   CUSTPO after a lost answer.
3. `summarise_run`: refunds = exported + skipped (waiting included) + failed, with the error-queue items.

**Dry run** (param `dry_run`, e.g. before going live): `capture_refunds` reads the same window as a real run and
takes every refund a real run would take up (new ones and those the sync store holds open) through the export's
decisions: the MAX order, the map, the cap and the Great Expectations suite. Nothing is written to Shopify, MAX or
the sync store (no stage rows, error-queue items or watermark move); `export_credit_memos` does nothing and says so.
`summarise_run` returns the report: `credit_memos` that would be written and what would fail, by reason
(`docs/refunds.md`, "Dry run").

**Schedule:** every 5 minutes. Its own DAG, not the fulfilment one: it runs Shopify → MAX as orders do, and shares
their capture (inbox + poll + backfill). Rules: `docs/refunds.md`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import (
    DEFAULT_ARGS,
    EXACTMAX_POOL,
    SHOPIFY_POOL,
    START_DATE,
    dry_run_param,
    tags,
)


@dag(
    dag_id="refunds_to_max",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("refunds"),
    doc_md=__doc__,
    params={
        "window_start": Param(None, type=["null", "string"], format="date-time",
                              description="Backfill: re-read refunds of orders updated from this time (UTC)."),
        "window_end": Param(None, type=["null", "string"], format="date-time",
                            description="Backfill: … up to this time (UTC)."),
        "dry_run": dry_run_param(),
    },
)
def refunds_to_max():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    @task(pool=SHOPIFY_POOL)
    def capture_refunds(run_id=None, params=None, data_interval_start=None, data_interval_end=None) -> dict:
        from shopify_max.airflow_glue import refund_tasks

        return refund_tasks.capture_refunds(run_id, params or {}, data_interval_start, data_interval_end)

    @task(pool=EXACTMAX_POOL)
    def export_credit_memos(run_id=None, params=None, ti=None) -> dict:
        from shopify_max.airflow_glue import refund_tasks

        return refund_tasks.export_credit_memos(run_id, ti.task_id, params)

    @task
    def summarise_run(capture: dict, export: dict, run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import refund_tasks

        return refund_tasks.summarise(run_id, capture, export, params)

    capture = capture_refunds()
    export = export_credit_memos()
    prepare_sync_store() >> capture >> export
    summarise_run(capture, export)


refunds_to_max()
