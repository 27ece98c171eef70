"""
### Master data: customers, items and code tables kept in step

**Skeleton.** This run prepares the sync store. The flow arrives with the master-data issue and will:

1. `sync_customers`: MAX terms, price lists, tax exemptions and VAT ids → Shopify customers; Shopify
   customers → MAX cross-reference in `id_map`;
2. `check_sku_part_mapping`: SKU ⇄ part coverage, duplicate and unmapped SKUs, UOM factors;
3. `sync_code_tables`: tax codes, ship-via and terms against `include/mappings/`;
4. `summarise_run`.

**Schedule:** daily at 03:00 UTC, and on demand.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="master_data_sync",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("master-data"),
    doc_md=__doc__,
)
def master_data_sync():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    prepare_sync_store()


master_data_sync()
