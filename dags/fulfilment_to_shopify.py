"""
### Fulfilment: Exact MAX shipments, tracking, status and invoices → Shopify

1. `read_max_shipments`: shipments since the stored cursor (param `since_shipment` re-reads from an older one;
   the cursor never moves back) and tracking numbers changed since theirs, each staged before its cursor moves.
2. `create_shopify_fulfilments`: order by order under a write lease, each shipment's lines in Shopify units
   (line map and UOM factor), from the location its stockroom maps to, with the carrier from `carriers.csv` and
   every tracking number; partial by line and quantity. A fulfilment whose answer was lost, or one made by hand,
   is found and recorded, never sent twice. On hold / another location / over-shipment: by the rules in
   `fulfilment_rules.yaml`, to the error queue with the figures.
3. `update_changed_tracking`: `fulfillmentTrackingInfoUpdate` for tracking numbers changed in MAX.
4. `sync_order_status_and_invoices`: MAX status, order number and invoices → metafields and a status tag; each
   invoice checked against Shopify's figures; capture on invoice, mark paid and close, when switched on.
5. `summarise_run`: shipments = fulfilled + skipped + failed, with the error-queue items.

**Schedule:** every 5 minutes. **Retry** any task alone: what landed is recorded, and a send whose answer was
lost is settled by re-reading Shopify first. Rules and settings: `docs/fulfilment.md`.
**Dry run** (`dry_run` on): `read_max_shipments` reads and decides everything as a run would and reports what it
would send (fulfilments, moves, tracking, status, captures) and what would fail; steps 2-4 send and store nothing,
no cursor moves; `summarise_run` shows the report.
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


@dag(
    dag_id="fulfilment_to_shopify",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("fulfilment"),
    doc_md=__doc__,
    params={
        "since_shipment": Param(None, type=["null", "string"],
                                description="Backfill: re-read MAX shipments after this shipment id (staging is "
                                            "idempotent; nothing is sent twice). Empty: the stored cursor."),
        "dry_run": dry_run_param(),
    },
)
def fulfilment_to_shopify():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    @task(pool=EXACTMAX_POOL)
    def read_max_shipments(params=None, run_id=None) -> dict:
        from shopify_max.airflow_glue import fulfilment_tasks

        return fulfilment_tasks.read_max_shipments(run_id, params["since_shipment"], is_dry_run(params))

    @task(pool=SHOPIFY_POOL)
    def create_shopify_fulfilments(params=None, run_id=None, ti=None) -> dict:
        from shopify_max.airflow_glue import fulfilment_tasks

        return fulfilment_tasks.create_shopify_fulfilments(run_id, ti.task_id, is_dry_run(params))

    @task(pool=SHOPIFY_POOL)
    def update_changed_tracking(params=None, run_id=None, ti=None) -> dict:
        from shopify_max.airflow_glue import fulfilment_tasks

        return fulfilment_tasks.update_changed_tracking(run_id, ti.task_id, is_dry_run(params))

    @task(pool=SHOPIFY_POOL)
    def sync_order_status_and_invoices(params=None, run_id=None, ti=None) -> dict:
        from shopify_max.airflow_glue import fulfilment_tasks

        return fulfilment_tasks.sync_order_status_and_invoices(run_id, ti.task_id, is_dry_run(params))

    @task
    def summarise_run(read: dict, fulfil: dict, tracking: dict, status: dict, run_id=None) -> dict:
        from shopify_max.airflow_glue import fulfilment_tasks

        return fulfilment_tasks.summarise(run_id, read, fulfil, tracking, status)

    read = read_max_shipments()
    fulfil = create_shopify_fulfilments()
    tracking = update_changed_tracking()
    status = sync_order_status_and_invoices()
    prepare_sync_store() >> read >> fulfil >> tracking >> status
    summarise_run(read, fulfil, tracking, status)


fulfilment_to_shopify()
