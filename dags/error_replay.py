"""
### Error replay: act on the error queue

Bad records never stop a batch: they wait on the sync store's error queue with a reason a person can
act on (which record, which field, which rule). This DAG is how on-call acts on them, so every action is a
DAG run with its log, and an `audit_log` entry (direction `error_queue_action`) on each record's audit trail.

1. `act_on_error_queue` applies the param `action` to the items selected by the other params (item ids,
   entity, stage, status, text in the reason, record keys: every filter given applies). It claims them first,
   so a running replay and a person's resolve never act on the same item; an item another run has claimed
   is left to it, and reported. Its XCom lists each item id with what was done, or why it was left (more than
   10 items left for one same reason, e.g. every open inventory item in the hourly replay, as one entry with
   their ids under `left_in_bulk`).
2. `summarise_error_queue`: what is still waiting, by status, entity and stage.

| action | what it does | who uses it |
| --- | --- | --- |
| `replay` (default; the hourly run) | **order** items at `map`, `validate`, `export`: mapped with the current `include/mappings/`, validated and exported exactly once; items whose order now exports (or is skipped by a rule) are resolved. **privacy** items: the compliance webhook is read again; once readable it goes back to the inbox for `sync_store_maintenance`. **inventory** items are re-checked by every `inventory_to_shopify` run (resolved when no longer found): replay leaves them, saying so. **shipment** and **invoice** items go back to the next `fulfilment_to_shopify` run (the shipment pending again; the invoice checked, and captured when that is on); **refund** items to the next `refunds_to_max` run | on-call, after fixing a mapping row or a MAX code; the hourly schedule |
| `refetch` | **order** items at `capture` (a webhook that could not be read), `map`, `validate`, `export`: the order's id is recovered (the item, or the webhook body even when cut short), the order is re-read from Shopify by id, staged through the normal capture rules, then exported in this run like a replay. A capture item is resolved once its order is exported or skipped by a rule; without a recoverable id it stays open, saying so | on-call, for unreadable webhooks |
| `resolve` (needs `note`) | marks the items fixed by hand: any entity, any stage | on-call, after changing MAX by hand (`update_after_export`, `cancel`), answering a compliance request, or fixing an inventory cause without waiting for the next run |
| `ignore` (needs `note`) | marks the items as needing nothing; they stay ignored when the problem is seen again | on-call |

`note` is stored on each item with who acted (`acted_by`: the run id and the triggering user) and when;
`resolve` or `ignore` without a note fails the run at once, changing nothing. Typical confs:
`{"action": "resolve", "item_ids": [42], "note": "MAX order 00100024 changed by hand"}`,
`{"action": "refetch", "entity": "order", "stage": "capture"}`,
`{"entity": "order", "stage": "map", "reason_contains": "SKU-UNKNOWN-404"}`.

**Schedule:** hourly (`replay` of open items), and on demand with params.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from shopify_max.airflow_glue.dag_defaults import DEFAULT_ARGS, EXACTMAX_POOL, START_DATE, tags

ACTIONS = {"replay": "replay: do the work again now", "refetch": "refetch: re-read orders from Shopify by id",
           "resolve": "resolve: fixed by hand (note required)", "ignore": "ignore: needs nothing (note required)"}
ENTITIES = {"null": "every entity", "order": "order", "inventory": "inventory", "privacy": "privacy",
            "shipment": "shipment", "invoice": "invoice", "refund": "refund", "customer": "customer", "item": "item",
            "code": "code"}
# The stages of states.ERROR_STAGES (tests/dags/test_error_replay_params.py keeps them in step).
STAGES = {
    "order": ["capture", "map", "validate", "export", "cancel", "update_after_export", "status_to_shopify"],
    "inventory": ["unmapped_location", "unmapped_sku", "sku_not_in_shopify", "duplicate_sku", "part_without_stock",
                  "not_stocked", "push"],
    "privacy": ["read_request"],
    "shipment": ["map", "fulfillment_order", "over_shipment", "create", "tracking"],
    "invoice": ["amount", "capture", "mark_paid"],
    "refund": ["capture", "map", "totals", "excess", "validate", "export"],
    "customer": ["match", "conflict", "push", "create"],
    "item": ["part_without_variant", "variant_without_part", "variant_without_sku", "duplicate_sku",
             "uom_factor_mismatch", "price_mismatch", "price_missing", "taxable_mismatch"],
    "code": ["unknown_max_code", "unmapped_shopify_value"],
}
ALL_STAGES = list(dict.fromkeys(stage for stages in STAGES.values() for stage in stages))  # "map" is two entities'
STAGE_LABELS = {"null": "every stage", **{
    stage: f"{' / '.join(entity for entity, stages in STAGES.items() if stage in stages)}: {stage}"
    for stage in ALL_STAGES}}
STATUSES = ["open", "retrying", "resolved", "ignored"]


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
        "action": Param("replay", type="string", enum=list(ACTIONS), values_display=ACTIONS,
                        description="What to do with the selected items (see the DAG docs)."),
        "item_ids": Param([], type=["null", "array"], items={"type": "integer"},
                          description="Only these error-queue item ids (the other filters still apply)."),
        "entity": Param(None, type=["null", "string"], enum=[None, *STAGES], values_display=ENTITIES,
                        description="Only this entity's items."),
        "stage": Param(None, type=["null", "string"], enum=[None, *ALL_STAGES],
                       values_display=STAGE_LABELS, description="Only items at this stage."),
        "status": Param("open", type="string", enum=STATUSES,
                        description="Only items in this status (items another run claimed are left to it)."),
        "reason_contains": Param(None, type=["null", "string"], description="Only items whose reason contains this."),
        "record_keys": Param([], type=["null", "array"], items={"type": "string"},
                             description="Only these record keys, e.g. Shopify order names (#1008)."),
        "note": Param(None, type=["null", "string"],
                      description="Why: required for resolve and ignore, stored on each item and its audit entry."),
    },
)
def error_replay():
    @task(pool=EXACTMAX_POOL)
    def act_on_error_queue(run_id=None, ti=None, params=None, dag_run=None) -> dict:
        from shopify_max.airflow_glue import error_queue_tasks

        user = getattr(dag_run, "triggering_user_name", None)
        return error_queue_tasks.act_on_error_queue(run_id, ti.task_id, dict(params or {}), user)

    @task
    def summarise_error_queue() -> dict:
        from shopify_max.airflow_glue.store_tasks import summarise_error_queue as summarise

        return summarise()

    act_on_error_queue() >> summarise_error_queue()


error_replay()
