"""
### Inventory: Exact MAX stock → Shopify available quantities, per SKU × location

Exact MAX owns stock; Shopify quantities are only ever set from MAX.

1. `choose_sync_mode`: `delta`, or `full` reconcile when the nightly one is due (Variable
   `inventory_full_reconcile_hour_utc`, default 2) or none has completed yet. Param `mode` overrides.
2. In parallel:
   - `compute_available_quantities`: MAX stock per part × stockroom → stockrooms summed per Shopify location,
     formula, UOM (rounded down), safety stock, floor at 0, by the rules in `include/mappings/`;
   - `read_shopify_inventory`: which inventory item carries each SKU, and what Shopify holds. A full
     reconcile reads every level with one bulk operation and rebuilds the shadow from it; a delta reads only
     what the shadow lacks.
3. `push_changed_quantities`: only what differs from the shadow, with `inventorySetQuantities` in batches of
   ≤ 250, `changeFromQuantity` and content-derived `@idempotent` keys, paced to Shopify's cost budget. A stale
   compare is re-read and retried once; a second goes to the error queue.
4. `summarise_run`: counts, the pacing figures, and every problem by kind (unmapped SKUs and locations,
   duplicate SKUs, items not stocked at a location) with error-queue ids.

**Retry** a failed push task alone: it pushes what its run computed, and what landed before is in the shadow.
**Reconcile now:** trigger with `mode` = `full`.
**Dry run** (`dry_run` on): `compute_available_quantities` compares MAX with Shopify's levels as a full reconcile
does; nothing is sent or stored (shadow, watermark); `summarise_run` shows what would be set and what would fail.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import (
    DEFAULT_ARGS,
    EXACTMAX_POOL,
    SHOPIFY_POOL,
    START_DATE,
    dry_run_param,
    tags,
)
from shopify_max.dry_run import is_dry_run
from shopify_max.shopify.limits import MAX_INPUT_ARRAY_ITEMS


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
                      description="auto: full when the nightly reconcile is due, else delta; delta: push changes "
                                  "since the shadow; full: read Shopify in bulk and correct every drift."),
        "batch_size": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_INPUT_ARRAY_ITEMS,
                            description="Quantities per mutation for this run (default: inventory_rules.yaml)."),
        "dry_run": dry_run_param(),
    },
)
def inventory_to_shopify():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    @task
    def choose_sync_mode(params=None, run_id=None) -> dict:
        from shopify_max.airflow_glue import inventory_tasks

        return inventory_tasks.choose_sync_mode(params["mode"], inventory_tasks.reconcile_hour_utc(), run_id)

    @task(pool=EXACTMAX_POOL)
    def compute_available_quantities(params=None, run_id=None) -> dict:
        from shopify_max.airflow_glue import inventory_tasks

        return inventory_tasks.compute_available_quantities(run_id, dry_run=is_dry_run(params))

    @task(pool=SHOPIFY_POOL)
    def read_shopify_inventory(decision: dict, params=None, run_id=None) -> dict:
        from shopify_max.airflow_glue import inventory_tasks

        return inventory_tasks.read_shopify_inventory(decision["mode"], run_id, dry_run=is_dry_run(params))

    @task(pool=SHOPIFY_POOL)
    def push_changed_quantities(decision: dict, params=None, run_id=None, ti=None) -> dict:
        from shopify_max.airflow_glue import inventory_tasks

        return inventory_tasks.push_changed_quantities(decision["mode"], run_id, ti.task_id, params["batch_size"],
                                                       dry_run=is_dry_run(params))

    @task
    def summarise_run(decision: dict, targets: dict, shopify: dict, pushed: dict) -> dict:
        from shopify_max.airflow_glue import inventory_tasks

        return inventory_tasks.summarise(decision, targets, shopify, pushed)

    decision = choose_sync_mode()
    targets = compute_available_quantities()
    shopify = read_shopify_inventory(decision)
    pushed = push_changed_quantities(decision)
    prepare_sync_store() >> decision >> targets
    [targets, shopify] >> pushed
    summarise_run(decision, targets, shopify, pushed)


inventory_to_shopify()
