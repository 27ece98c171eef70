"""
### Orders: Shopify orders → Exact MAX sales orders, exactly once

1. `capture_orders`: claim new `orders/*` webhook deliveries from the inbox, and poll Shopify for orders
   updated in this run's data interval (with a 10-minute overlap, because webhooks get lost). Each order is
   staged once in the sync store; unchanged, stale (older than held) or exported orders are decided here.
2. `map_orders_to_sales_orders`: customer, bill-to/ship-to, lines, discounts, shipping, tax and payment, by
   the rules in `include/mappings/`. Each rule applied is recorded; problems go to the error queue.
3. `validate_sales_orders`: a Great Expectations suite (lengths, codes that exist in MAX, quantities, money
   scale); failing orders go to the error queue, the rest go on.
4. `export_sales_orders_to_max`: under the order's write lease (Variable `orders_write_lease_seconds`), `id_map`,
   then a MAX lookup by `CUSTPO`, then the write; the MAX order number is recorded at once. Retries, zombie
   attempts, duplicate or late webhooks and backfills never create a second MAX order (`docs/orders.md`).
5. `cancel_orders_cancelled_after_export`: cancelled in Shopify after export → cancelled in MAX if nothing
   shipped, else the error queue.
6. `summarise_run`: read = exported + skipped + failed, with error-queue ids, to XCom.

**Schedule:** every 5 minutes with real data intervals, and within a minute of new `orders/*` webhooks
landing in the inbox (the `shopify_order_webhooks` asset, watched by the triggerer). The DAG starts paused:
switch it on first, or backfill runs wait.

**Backfill** re-reads orders that were updated in a past period. Only what is missing is exported, and an order
never reaches MAX twice. There are two ways; use one of them, not both at once:

- **A date range, one run per 5-minute interval.** Use **Trigger**, then **Backfill**. Pick the date range,
  leave `window_start`/`window_end` **empty**, and click **Run Backfill**. Each run reads its own data
  interval, plus the 10-minute overlap. On the CLI (Airflow 3; `airflow dags backfill` is gone):
  `airflow backfill create --dag-id orders_to_max --max-active-runs 1 --from-date 2026-11-29T15:00:00+00:00 --to-date 2026-11-29T16:00:00+00:00`
- **One wide window, in one run.** Use **Trigger**, then **Single Run**, with `window_start` and `window_end`
  (UTC). `window_end` must come after `window_start`. A window over 6 hours is read in bulk, with one Shopify
  bulk operation. Use this for a one-off re-read of a day or a week, instead of hundreds of 5-minute runs.

**Dry run** (param `dry_run`, e.g. before going live): `capture_orders` reads the same window as a real run
(the same window rules and params) and decides every order as a real run would, against the sync store as it is:
mapping, the Great Expectations suite and MAX's CUSTPO lookups are real. Nothing is written to Shopify, MAX or the
sync store (no stage rows, error-queue items or watermark move); the other tasks do nothing and say so.
`summarise_run` returns the report: what was read, what would be written (`sales_orders`, `customers`,
`cancellations`) and what would fail, by reason, with examples (`docs/orders.md`, "Dry run").

**Replay** after fixing a mapping: the `error_replay` DAG.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import (
    DEFAULT_ARGS,
    EXACTMAX_POOL,
    SHOPIFY_POOL,
    START_DATE,
    dry_run_param,
    tags,
)
from shopify_max.webhooks.inbox_trigger import NEW_ORDER_WEBHOOKS


@dag(
    dag_id="orders_to_max",
    # Every 5 minutes, and whenever new order webhooks land in the inbox (the triggerer watches it).
    schedule=AssetOrTimeSchedule(timetable=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
                                 assets=[NEW_ORDER_WEBHOOKS]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("orders"),
    doc_md=__doc__,
    params={
        "window_start": Param(None, type=["null", "string"], format="date-time",
                              description="Backfill: re-read orders updated from this time (UTC)."),
        "window_end": Param(None, type=["null", "string"], format="date-time",
                            description="Backfill: … up to this time (UTC)."),
        "dry_run": dry_run_param(),
    },
)
def orders_to_max():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    @task(pool=SHOPIFY_POOL)
    def capture_orders(run_id=None, params=None, data_interval_start=None, data_interval_end=None, ti=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.capture_orders(run_id, params or {}, data_interval_start, data_interval_end, ti.task_id)

    @task
    def map_orders_to_sales_orders(run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.map_orders(run_id, params)

    @task(pool=EXACTMAX_POOL)
    def validate_sales_orders(run_id=None, params=None, ti=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.validate_orders(run_id, ti.task_id, params)

    @task(pool=EXACTMAX_POOL)
    def export_sales_orders_to_max(run_id=None, params=None, ti=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.export_orders(run_id, ti.task_id, params)

    @task(pool=EXACTMAX_POOL)
    def cancel_orders_cancelled_after_export(run_id=None, params=None, ti=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.cancel_orders(run_id, ti.task_id, params)

    @task
    def summarise_run(captured: dict, run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.summarise(run_id, params, captured)

    captured = capture_orders()
    mapped = map_orders_to_sales_orders()
    validated = validate_sales_orders()
    exported = export_sales_orders_to_max()
    cancelled = cancel_orders_cancelled_after_export()
    prepare_sync_store() >> captured >> mapped >> validated >> exported >> cancelled >> summarise_run(captured)


orders_to_max()
