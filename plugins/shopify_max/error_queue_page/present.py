"""Error-queue items as the page shows them: JSON-safe, every text redacted again at display (the store holds
them redacted already; a secret registered since, or a pattern added since, is caught here too), and links to
the DAG runs and task logs that touched the item.

The audit log keeps ``run_id`` and ``task_id`` but no ``dag_id``: the DAG of a run is looked up in Airflow's
metadata DB (its task instances), read in the API server where this page runs, never by a task.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from shopify_max.error_queue_page.actions import run_path
from shopify_max.redaction import redact, redact_text
from shopify_max.sync_store.states import ERROR_STAGES, ErrorStatus

# The task of orders_to_max that records an order item at each stage, and those of error_replay that act on items.
ORDER_STAGE_TASKS = {"capture": "capture_orders", "map": "map_orders_to_sales_orders",
                     "validate": "validate_sales_orders", "export": "export_sales_orders_to_max",
                     "cancel": "cancel_orders_cancelled_after_export", "update_after_export": "capture_orders"}
REPLAY_TASKS = ("act_on_error_queue", "replay_order_errors")  # error_replay's task, now and before issue 12

# run_id → {dag_id: task ids of that run}
RunIndex = dict[str, dict[str, set[str]]]
RunResolver = Callable[[Iterable[str]], RunIndex]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: Any) -> str | None:
    return None if value is None else redact_text(str(value))


def shown_payload(value: str | None) -> str | None:
    """A stored payload, redacted again: JSON pretty-printed value by value, anything else as text."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return redact_text(value)
    return json.dumps(redact(parsed), indent=2, sort_keys=True, default=str, ensure_ascii=False)


def registry() -> dict[str, Any]:
    """The entities, their stages and the statuses: the page's filter choices."""
    return {"entities": {str(entity): [str(stage) for stage in stages] for entity, stages in ERROR_STAGES.items()},
            "statuses": [str(status) for status in ErrorStatus]}


def item_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "entity": row["entity"], "record_key": _text(row["record_key"]),
            "stage": row["stage"], "status": str(row["status"]), "reason": _text(row["reason"]),
            "attempts": row["attempts"], "first_seen": _time(row["first_seen"]),
            "last_seen": _time(row["last_seen"]), "note": _text(row.get("note")),
            "acted_by": _text(row.get("acted_by")), "acted_at": _time(row.get("acted_at"))}


def _link(runs: RunIndex, run_id: str | None, task_id: str | None,
          dag_hints: Iterable[str | None] = ()) -> dict[str, Any] | None:
    """The UI paths of one run, and of its task's log when ``task_id`` is known. Run ids repeat across DAGs
    (``scheduled__<time>``): the DAG is the one whose run has ``task_id``, else one whose run has a task of
    ``dag_hints`` (the tasks that record such items), else the only one."""
    if not run_id:
        return None
    dags = runs.get(run_id, {})
    for hints, with_task in (([task_id], True), (list(dag_hints), False)):
        for hint in filter(None, hints):
            for dag_id, tasks in sorted(dags.items()):
                if hint in tasks:
                    return _paths(run_id, dag_id, task_id if with_task else None)
    if len(dags) == 1:
        [dag_id] = dags
        return _paths(run_id, dag_id, task_id if task_id in dags[dag_id] else None)
    return {"run_id": run_id, "dag_id": None, "task_id": task_id, "run_path": None, "task_path": None}


def _paths(run_id: str, dag_id: str, task_id: str | None) -> dict[str, Any]:
    return {"run_id": run_id, "dag_id": dag_id, "task_id": task_id, "run_path": run_path(dag_id, run_id),
            "task_path": run_path(dag_id, run_id, task_id) if task_id else None}


def item_detail(item: dict[str, Any], trail: list[dict[str, Any]], resolve_runs: RunResolver) -> dict[str, Any]:
    """One item with its payload, detail, audit trail and run links, redacted."""
    stage_runs = item.get("order_stage") or []
    run_ids = {entry["run_id"] for entry in trail if entry.get("run_id")}
    run_ids |= {run["run_id"] for run in stage_runs if run.get("run_id")}
    acted_by = item.get("acted_by") or ""
    runs = resolve_runs(sorted(run_ids)) if run_ids else {}
    hints = [ORDER_STAGE_TASKS.get(item["stage"]) if item["entity"] == "order" else None, *REPLAY_TASKS]
    detail_text = item.get("detail")
    try:
        detail = redact(json.loads(detail_text)) if detail_text else {}
    except ValueError:
        detail = redact_text(detail_text)
    return {
        **item_summary(item),
        "detail": detail,
        "payload": shown_payload(item.get("payload")),
        "payload_purged_at": _time(item.get("payload_purged_at")),
        "resolved_at": _time(item.get("resolved_at")),
        "claimed_by": _text(item.get("claimed_by")),
        "acted_by": _text(acted_by) if acted_by else None,
        "produced_by": [
            {**(_link(runs, run["run_id"], None, hints) or {}), "outcome": run.get("run_outcome"),
             "outcome_code": run.get("run_outcome_code"), "max_ordnum": run.get("max_ordnum")}
            for run in stage_runs if run.get("run_id")],
        "audit_trail": [
            {"id": entry["id"], "time": _time(entry["created_at"]), "direction": entry["direction"],
             "outcome": entry["outcome"], "run_id": entry.get("run_id"), "task_id": entry.get("task_id"),
             "duration_ms": entry.get("duration_ms"), "request": shown_payload(entry.get("request")),
             "response": shown_payload(entry.get("response")), "pii_purged_at": _time(entry.get("pii_purged_at")),
             "link": _link(runs, entry.get("run_id"), entry.get("task_id"), hints)}
            for entry in trail],
    }


def airflow_run_index(run_ids: Iterable[str]) -> RunIndex:
    """For each run id, the DAGs that have a run with that id and the tasks of each (Airflow's metadata DB)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    wanted = list(run_ids)
    index: RunIndex = {}
    if not wanted:
        return index
    with create_session() as session:
        rows = session.execute(select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id)
                               .where(TaskInstance.run_id.in_(wanted)).distinct())
        for dag_id, run_id, task_id in rows:
            index.setdefault(run_id, {}).setdefault(dag_id, set()).add(task_id)
    return index


def airflow_dag_paused(dag_id: str) -> bool | None:
    """Whether ``dag_id`` is paused in Airflow's metadata DB (None when Airflow does not know it): a run
    triggered for a paused DAG waits, queued, until someone unpauses it."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.execute(select(DagModel.is_paused).where(DagModel.dag_id == dag_id)).scalar_one_or_none()
