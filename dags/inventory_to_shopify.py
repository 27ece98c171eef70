"""
### Inventory: Exact MAX stock → Shopify available quantities

Exact MAX owns stock; Shopify quantities are only ever set from MAX.

**Skeleton.** This run prepares the sync store. The push arrives with the inventory issue and will:

1. `read_max_stock`: on hand and open demand per part × stockroom from the MAX gateway;
2. `compute_available_quantities`: stockrooms → Shopify location, formula, safety stock, UOM (round down),
   floor at 0, from `include/mappings/`;
3. `push_changed_quantities`: only what differs from the shadow, with `inventorySetQuantities` in batches
   of ≤ 250, `changeFromQuantity` and content-derived `@idempotent` keys, paced to the cost budget;
4. `summarise_run`.

**Modes** (param `mode`): `delta` every 15 minutes; `full` reconcile reads Shopify's levels in bulk, corrects
every drift and rebuilds the shadow. `auto` runs `full` for the run that covers the nightly reconcile hour.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="inventory_to_shopify",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("inventory"),
    doc_md=__doc__,
    params={
        "mode": Param("auto", enum=["auto", "delta", "full"],
                      description="delta: push changes since the shadow; full: reconcile everything."),
    },
)
def inventory_to_shopify():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    prepare_sync_store()


inventory_to_shopify()
