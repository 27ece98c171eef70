"""The page's buttons: each one is an ``error_replay`` DAG run, triggered through Airflow's REST API as the
person who pressed it (their own token is forwarded, so the run shows them and Airflow checks their rights).

The conf of a run (what ``dags/error_replay.py`` takes)::

    {"action": "replay" | "resolve" | "ignore" | "refetch", "item_ids": [1, 2], "note": "why" | None,
     "entity": "order", "status": "open"}

``resolve`` and ``ignore`` need a note (the page asks for one; :func:`parse_action` refuses without).
Selected items of different entities or statuses become one run per (entity, status).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

DAG_ID = "error_replay"
ACTIONS = ("replay", "resolve", "ignore", "refetch")
NOTE_REQUIRED = frozenset({"resolve", "ignore"})
MAX_ITEMS = 500
MAX_NOTE = 2000
# Where the API server reaches its own REST API; default: loopback on Airflow's [api] port.
API_URL_VARIABLE = "SHOPIFY_MAX_AIRFLOW_API_URL"


class ActionRefused(ValueError):
    """The request cannot become a run: the page shows the message (HTTP 400)."""


@dataclass(frozen=True)
class ActionRequest:
    action: str
    item_ids: tuple[int, ...]
    note: str | None


def parse_action(body: Any) -> ActionRequest:
    """A button's request, checked: a known action, 1–500 item ids, and a note where one is required."""
    if not isinstance(body, dict):
        raise ActionRefused("send a JSON object with action, item_ids and note")
    action = body.get("action")
    if action not in ACTIONS:
        raise ActionRefused(f"action must be one of {', '.join(ACTIONS)}")
    ids = body.get("item_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ActionRefused("item_ids must be a non-empty list of item ids")
    if len(ids) > MAX_ITEMS:
        raise ActionRefused(f"at most {MAX_ITEMS} items per action")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise ActionRefused("note must be text")
    note = (note or "").strip() or None
    if action in NOTE_REQUIRED and note is None:
        raise ActionRefused(f"a note is required to {action} items: say why")
    if note is not None and len(note) > MAX_NOTE:
        raise ActionRefused(f"the note is longer than {MAX_NOTE} characters")
    return ActionRequest(action=action, item_ids=tuple(sorted(set(ids))), note=note)


def run_confs(request: ActionRequest, items: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """The ``error_replay`` conf of each run: one per (entity, status) of the selected items.

    ``items`` maps item id → (entity, status) as stored now; an id not there is refused.
    """
    missing = [item_id for item_id in request.item_ids if item_id not in items]
    if missing:
        raise ActionRefused(f"no error-queue item with id {', '.join(map(str, missing))}")
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item_id in request.item_ids:
        groups[items[item_id]].append(item_id)
    return [{"action": request.action, "item_ids": ids, "note": request.note, "entity": entity, "status": status}
            for (entity, status), ids in sorted(groups.items())]


def airflow_api_url() -> str:
    """The base URL of Airflow's REST API as the API server reaches it (no trailing slash)."""
    if configured := os.environ.get(API_URL_VARIABLE):
        return configured.rstrip("/")
    from airflow.api_fastapi.app import API_ROOT_PATH
    from airflow.configuration import conf

    port = conf.getint("api", "port", fallback=8080)
    return f"http://127.0.0.1:{port}{API_ROOT_PATH.rstrip('/')}"


def run_path(dag_id: str, run_id: str, task_id: str | None = None) -> str:
    """The UI path of a DAG run (and of a task's log in it), relative to Airflow's base URL."""
    path = f"dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return f"{path}/tasks/{quote(task_id, safe='')}" if task_id else path


class AirflowRefused(RuntimeError):
    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"Airflow answered {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


def trigger_runs(confs: list[dict[str, Any]], token: str, *, base_url: str | None = None,
                 client: httpx.Client | None = None) -> list[dict[str, Any]]:
    """POST each conf to ``/api/v2/dags/error_replay/dagRuns`` with the user's token; the runs started."""
    base_url = base_url or airflow_api_url()
    own_client = client is None
    client = client or httpx.Client(timeout=30)
    started = []
    try:
        for conf in confs:
            note = f"{conf['action']} from the error-queue page: items {conf['item_ids']}"
            if conf.get("note"):
                note += f"; note: {conf['note']}"
            response = client.post(f"{base_url}/api/v2/dags/{DAG_ID}/dagRuns",
                                   headers={"Authorization": f"Bearer {token}"},
                                   json={"logical_date": None, "conf": conf, "note": note[:1000]})
            if response.status_code >= 400:
                try:
                    detail = response.json().get("detail", response.text)
                except ValueError:
                    detail = response.text
                raise AirflowRefused(response.status_code, detail)
            run = response.json()
            started.append({"dag_id": DAG_ID, "dag_run_id": run["dag_run_id"], "state": run.get("state"),
                            "conf": conf, "path": run_path(DAG_ID, run["dag_run_id"])})
    finally:
        if own_client:
            client.close()
    return started
