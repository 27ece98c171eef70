"""
### Go-live check: every flow in dry run, one report to read before switching the sync on

Runs orders, refunds, inventory, fulfilment and master data in **dry run** over a window (default the last
60 days of orders and refunds, the whole catalogue and customer list, every MAX shipment after the cursor).
All reads, mappings and Great Expectations checks are real; **nothing is written** to Shopify, MAX or the sync
store (the Shopify client and the MAX hook refuse writes during a dry run).

`render_go_live_report` writes one report: **Go-live report** in the navigation bar (HTML, with CSV files per
table), and its summary to XCom: orders that would export and would fail (by reason, with examples), customers
created / matched / ambiguous, the largest inventory swings, unmapped SKUs, locations and codes, duplicates,
fields that would be truncated or transliterated. A flow whose dry run failed is shown as failed, with its task
log, and the rest of the report still renders. The checklist: `docs/go-live.md`.

**Schedule:** none; trigger it by hand (params: `window_days`).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, EXACTMAX_POOL, SHOPIFY_POOL, START_DATE, tags

# A dry run read that fails is worth one retry (an outage), not the flows' usual three.
GO_LIVE_ARGS = {**DEFAULT_ARGS, "retries": 1}


@dag(
    dag_id="go_live_check",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=GO_LIVE_ARGS,
    tags=tags("go-live"),
    doc_md=__doc__,
    params={"window_days": Param(60, type="integer", minimum=1, maximum=365,
                                 description="Orders and refunds created or updated in this many days are checked.")},
)
def go_live_check():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    def dry_run_task(flow: str, pool: str):  # noqa: ANN202 - an Airflow task factory
        @task(task_id=f"dry_run_{flow}", pool=pool, trigger_rule="all_done")  # one failed flow stops no other
        def dry_run(run_id=None, params=None, logical_date=None) -> dict:
            from shopify_max.airflow_glue import go_live_tasks

            return go_live_tasks.run_flow_dry_run(flow, run_id, params or {}, logical_date)

        return dry_run()

    @task(trigger_rule="all_done")
    def render_go_live_report(run_id=None, params=None, logical_date=None) -> dict:
        from shopify_max.airflow_glue import go_live_tasks

        return go_live_tasks.render(run_id, params or {}, logical_date)

    runs = [dry_run_task("master_data", SHOPIFY_POOL), dry_run_task("orders", SHOPIFY_POOL),
            dry_run_task("refunds", SHOPIFY_POOL), dry_run_task("inventory", SHOPIFY_POOL),
            dry_run_task("fulfilment", EXACTMAX_POOL)]
    previous = prepare_sync_store()
    for run in runs:  # one after another: the flows share Shopify's cost budget, as they will when live
        previous >> run
        previous = run
    previous >> render_go_live_report()


go_live_check()
