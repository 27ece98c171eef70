"""
### Error replay: work the error queue

Bad records never stop a batch: they wait on the sync store's error queue with a reason a person can
act on (which record, which field, which rule).

**Now:** `summarise_error_queue` counts items by status, entity and stage, so the run's XCom shows what
is waiting.

**Next** (with the orders issue): `replay_error_items` claims items selected by the params below, re-maps
them with the current mappings and resolves those that now succeed, so an on-call engineer can fix a
mapping and replay. Two workers never claim the same item.

**Schedule:** hourly, and on demand with params.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, START_DATE, tags


@dag(
    dag_id="error_replay",
    schedule=CronTriggerTimetable("17 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("error-queue"),
    doc_md=__doc__,
    params={
        "status": Param("open", enum=["open", "retrying", "resolved", "ignored"],
                        description="Replay items in this status."),
        "entity": Param(None, type=["null", "string"], description="Only this entity, e.g. order."),
        "stage": Param(None, type=["null", "string"], description="Only this stage, e.g. map or export."),
        "reason_contains": Param(None, type=["null", "string"], description="Only items whose reason contains this."),
        "record_keys": Param([], type="array", description="Only these record keys, e.g. Shopify order names."),
    },
)
def error_replay():
    @task
    def summarise_error_queue() -> dict:
        from shopify_max.airflow_glue.store_tasks import summarise_error_queue as summarise

        return summarise()

    summarise_error_queue()


error_replay()
