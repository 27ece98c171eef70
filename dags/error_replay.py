"""
### Error replay: work the error queue

Bad records never stop a batch: they wait on the sync store's error queue with a reason a person can
act on (which record, which field, which rule).

1. `replay_order_errors`: claims the order items selected by the params below (status, stage `map`,
   `validate` or `export`, text in the reason, order names), maps them again with the current
   `include/mappings/`, validates and exports them exactly once, and resolves the items that now succeed.
   An on-call engineer fixes a mapping, then triggers this DAG. Two workers never claim the same item.
2. `summarise_error_queue`: what is still waiting, by status, entity and stage.

Capture errors (unreadable webhooks) and changes after export need a person: resolve or ignore them by hand.

**Schedule:** hourly, and on demand with params.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, EXACTMAX_POOL, START_DATE, tags


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
        "stage": Param(None, type=["null", "string"], enum=[None, "map", "validate", "export"],
                       description="Only this stage: map, validate or export (default: all three)."),
        "reason_contains": Param(None, type=["null", "string"], description="Only items whose reason contains this."),
        "record_keys": Param([], type="array", description="Only these record keys, e.g. Shopify order names."),
    },
)
def error_replay():
    @task(pool=EXACTMAX_POOL)
    def replay_order_errors(run_id=None, ti=None, params=None) -> dict:
        from shopify_max.airflow_glue import order_tasks

        return order_tasks.replay_errors(run_id, ti.task_id, dict(params or {}))

    @task
    def summarise_error_queue() -> dict:
        from shopify_max.airflow_glue.store_tasks import summarise_error_queue as summarise

        return summarise()

    replay_order_errors() >> summarise_error_queue()


error_replay()
