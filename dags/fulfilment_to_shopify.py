"""
### Fulfilment: Exact MAX shipments, status and invoices → Shopify

**Skeleton.** This run prepares the sync store. The flow arrives with the fulfilment issue and will:

1. `read_max_shipments`: shipments since the stored cursor (lines, quantities, ship-via, tracking);
2. `create_shopify_fulfilments`: partial by line, carrier names mapped from ship-via, tracking numbers;
3. `sync_order_status_and_invoices`: MAX status and invoices → Shopify tags/metafields;
4. `export_refunds_as_credit_memos`: Shopify refunds → MAX credit memos (`STYPE` `CR`), exactly once;
5. `summarise_run`.

**Schedule:** every 5 minutes; each read resumes from its watermark in the sync store.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="fulfilment_to_shopify",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("fulfilment"),
    doc_md=__doc__,
)
def fulfilment_to_shopify():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    prepare_sync_store()


fulfilment_to_shopify()
