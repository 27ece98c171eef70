"""
### Sync store maintenance: privacy requests and PII retention

Payloads in the sync store can hold personal data (names, addresses, e-mails, phones).

**`act_on_privacy_requests`**: Shopify's compliance webhooks, stored in the inbox by the receiver:
- `customers/data_request`: reports what is held about the customer (order names, and how many staged
  orders, webhook deliveries, error items and audit entries), never the values: see the task's XCom and the
  `privacy` audit entry. Send the customer what they asked for from there;
- `customers/redact`: erases the customer's data (found by customer id, e-mail, phone and
  `orders_to_redact`): staged order copies, their webhook payloads, error-item payloads (names and addresses
  in reasons are replaced), audit payloads. Orders not yet exported are skipped, no longer exported;
- `shop/redact`: the same for every customer of the shop.
Each action is an audit entry (entity `privacy`, record key `<topic> (inbox <id>)`) with the counts per
table; the delivery is marked processed. A delivery that cannot be read is marked failed, with an
error-queue item (entity `privacy`): act on it by hand, then resolve the item. Rows are never deleted.

**`purge_expired_pii`**: once older than the retention period (Airflow Variable `pii_retention_days`,
default 30, or the `retention_days` param), blanks:
- request and response of audit-log entries flagged as holding PII;
- payloads of inbox deliveries processed, ignored or failed;
- payloads of error-queue items not seen for the retention period, open ones too (replay reads the staged
  order); the item itself, its status and reason stay;
- staged copies of orders already exported or skipped.

**Schedule:** daily at 04:00 UTC. Shopify expects a redaction within 30 days; trigger a run to act sooner.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

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
    def act_on_privacy_requests(run_id=None, ti=None) -> dict:
        from shopify_max.airflow_glue.store_tasks import act_on_privacy_requests as act

        return act(run_id=run_id, task_id=ti.task_id)

    @task
    def purge_expired_pii(params: dict | None = None) -> dict:
        from shopify_max.airflow_glue.store_tasks import purge_expired_pii as purge

        return purge((params or {}).get("retention_days"))  # None: the pii_retention_days Variable

    act_on_privacy_requests() >> purge_expired_pii()


sync_store_maintenance()
