"""
### Sync store maintenance: PII retention

Payloads in the sync store can hold personal data (names, addresses, e-mails). Once older than the
retention period (Airflow Variable `pii_retention_days`, default 30, or the `retention_days` param), this
DAG blanks:
- request and response of audit-log entries flagged as holding PII;
- payloads of inbox deliveries already processed or ignored;
- payloads of error-queue items resolved or ignored (open items keep theirs: replay needs it);
- staged copies of orders already exported or skipped.

**Schedule:** daily at 04:00 UTC.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, Variable, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="sync_store_maintenance",
    schedule=CronTriggerTimetable("0 4 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("maintenance"),
    doc_md=__doc__,
    params={
        "retention_days": Param(None, type=["null", "integer"], minimum=1,
                                description="Override the pii_retention_days Variable for this run."),
    },
)
def sync_store_maintenance():
    @task
    def purge_expired_pii(params: dict | None = None) -> dict:
        from shopify_max.airflow_glue.store_tasks import DEFAULT_PII_RETENTION_DAYS
        from shopify_max.airflow_glue.store_tasks import purge_expired_pii as purge

        retention_days = (params or {}).get("retention_days") or int(
            Variable.get("pii_retention_days", default=DEFAULT_PII_RETENTION_DAYS)
        )
        return purge(int(retention_days))

    purge_expired_pii()


sync_store_maintenance()
