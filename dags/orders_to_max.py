"""
### Orders: Shopify orders → Exact MAX sales orders, exactly once

**Skeleton.** This run prepares the sync store. The export itself arrives with the orders issue and will:

1. `capture_orders`: claim new `orders/*` deliveries from the webhook inbox and poll Shopify for orders
   updated in this run's data interval (with an overlap, because webhooks get lost);
2. `map_orders_to_sales_orders`: customer, bill-to/ship-to, lines, discounts, shipping, tax and payment,
   by the rules in `include/mappings/`;
3. `validate_sales_orders`: a Great Expectations suite; bad rows go to the error queue;
4. `export_sales_orders_to_max`: `id_map`, then a MAX lookup by `CUSTPO`, then the write, so a retry,
   a duplicate webhook or a backfill never creates a second MAX order;
5. `summarise_run`: counts that add up (read = exported + skipped + failed) to XCom.

**Schedule:** every 5 minutes with real data intervals. **Backfill:** `airflow dags backfill orders_to_max`
or the `window_start`/`window_end` params re-read a window and export only what is missing.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="orders_to_max",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
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
    },
)
def orders_to_max():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    prepare_sync_store()


orders_to_max()
