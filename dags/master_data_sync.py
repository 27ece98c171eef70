"""
### Master data: customers, items and prices, and code tables kept in step

1. `sync_customers`: every MAX account is matched to its Shopify customer by the rules in
   `include/mappings/master_data_rules.yaml` (the `id_map` cross-reference, then by default the `max.custid`
   metafield, e-mail, phone, company + postal code). MAX's account data (terms, price list, tax exemptions
   through `tax_exemptions.csv`, VAT id, credit hold) is pushed with `customerSet` where it differs: a re-run
   writes nothing. Two candidates are never guessed: error queue (`customer`/`match`), with both. Web customers
   with orders but no MAX account are reported, or created in MAX, as configured.
2. `check_items_and_prices`: the coverage report: MAX parts with no variant, variants with no part, duplicate
   SKUs, UOM factors, prices on the shop's MAX price list, taxable flags. Each finding is on the error queue
   (entity `item`) until a run no longer finds it. Price push (`productVariantsBulkUpdate`) is a setting, off.
3. `check_code_tables`: every code the mapping files name exists in MAX, and every tax title, payment gateway
   and shipping title Shopify used in the last `codes_seen_days` days is mapped (entity `code`).
4. `summarise_run`: the figures, to XCom; the same report as the go-live check, in **Go-live report**.

**`dry_run`**: every read and check is real, nothing is written to Shopify, MAX or the sync store; the summary
says what would have been written. **Schedule:** daily at 03:00 UTC, and on demand. Details: `docs/master-data.md`.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, SHOPIFY_POOL, START_DATE, dry_run_param, tags


@dag(
    dag_id="master_data_sync",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("master-data"),
    doc_md=__doc__,
    params={"dry_run": dry_run_param(),
            "codes_seen_days": Param(None, type=["null", "integer"], minimum=1, maximum=365,
                                     description="Check Shopify values seen in this many days (default: the "
                                                 "rules file's codes_seen_days).")},
)
def master_data_sync():
    @task
    def prepare_sync_store() -> dict:
        from shopify_max.airflow_glue.store_tasks import prepare_sync_store as prepare

        return prepare()

    @task(pool=SHOPIFY_POOL)
    def sync_customers(run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import master_data_tasks

        return master_data_tasks.sync_customers(run_id, params or {})

    @task(pool=SHOPIFY_POOL)
    def check_items_and_prices(run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import master_data_tasks

        return master_data_tasks.check_items_and_prices(run_id, params or {})

    @task(pool=SHOPIFY_POOL)
    def check_code_tables(run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import master_data_tasks

        return master_data_tasks.check_code_tables(run_id, params or {})

    @task
    def summarise_run(customers: dict, items: dict, codes: dict, run_id=None, params=None) -> dict:
        from shopify_max.airflow_glue import master_data_tasks

        return master_data_tasks.summarise(run_id, params or {}, customers, items, codes)

    customers = sync_customers()
    items = check_items_and_prices()
    codes = check_code_tables()
    prepare_sync_store() >> customers >> items >> codes
    summarise_run(customers, items, codes)


master_data_sync()
