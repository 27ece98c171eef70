"""The error-queue page's FastAPI app, mounted by Airflow's API server under ``/error-queue``.

Routes (all under the mount prefix):

- ``GET /``: the page;
- ``GET /api/items``: items under filters (``entity``, ``stage``, ``status`` (repeatable), ``text``,
  ``older_than_hours``, ``seen_within_hours``), a page of them (``offset``, ``limit``), counts by entity, stage
  and status;
- ``GET /api/items/{item_id}``: one item: reason, redacted payload and detail, audit trail, run links;
- ``POST /api/actions``: ``{"action", "item_ids", "note"}`` → ``error_replay`` run(s) through Airflow's REST API.

**Security.** Airflow does not protect a plugin's app; this one does, on the app itself, so no route can be
added without it: every request needs an Airflow user (JWT in the ``Authorization`` header or Airflow's
``_token`` cookie, read by Airflow's own ``get_user``) who may read the ``error_replay`` DAG and trigger runs of
it (``requires_access_dag``). Anonymous: 401; a user without trigger rights: 403. The OpenAPI and docs routes
are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from shopify_max.error_queue_page import actions, present
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.error_queue_search import MAX_PAGE_SIZE, ErrorQueueFilter

PAGE = Path(__file__).with_name("page.html")
StoreOpener = Callable[[], AbstractContextManager[SyncStore]]
Trigger = Callable[[list[dict[str, Any]], str], list[dict[str, Any]]]


def _default_store() -> AbstractContextManager[SyncStore]:
    from shopify_max.airflow_glue.store_tasks import open_sync_store

    return open_sync_store()


def airflow_access() -> list[Any]:
    """Airflow's own checks: a user who may read ``error_replay`` and trigger (POST) runs of it."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return [Depends(requires_access_dag("GET", param_dag_id=actions.DAG_ID)),
            Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=actions.DAG_ID))]


def user_token(request: Request) -> str | None:
    """The credential Airflow's ``get_user`` accepted for this request: the bearer token, else the cookie."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def open_store(request: Request) -> Iterator[SyncStore]:
    """The sync store for one request (the app's opener: by default ``open_sync_store``), closed after it."""
    with request.app.state.open_store() as store:
        yield store


StoreDep = Annotated[SyncStore, Depends(open_store)]


def _hours(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(hours=value)


def create_app(*, store: StoreOpener = _default_store, resolve_runs: present.RunResolver = present.airflow_run_index,
               trigger: Trigger | None = None, dependencies: list[Any] | None = None,
               dag_paused: Callable[[str], bool | None] = present.airflow_dag_paused) -> FastAPI:
    """The app; the keyword arguments exist for tests (the plugin uses the defaults: Airflow's auth, the
    ``sync_store_default`` connection, Airflow's metadata DB and REST API)."""
    app = FastAPI(title="Error queue", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=airflow_access() if dependencies is None else dependencies)
    run_trigger: Trigger = trigger or (lambda confs, token: actions.trigger_runs(confs, token))

    app.state.open_store = store
    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        from airflow.api_fastapi.app import API_ROOT_PATH

        html = (PAGE.read_text(encoding="utf-8")
                .replace("__APP_ROOT__", request.scope.get("root_path", "").rstrip("/") + "/")
                .replace("__AIRFLOW_ROOT__", API_ROOT_PATH or "/"))
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/api/items")
    def items(
        store: StoreDep,
        entity: str | None = None,
        stage: str | None = None,
        status: Annotated[list[str] | None, Query()] = None,
        text: Annotated[str | None, Query(max_length=200)] = None,
        older_than_hours: Annotated[float | None, Query(ge=0)] = None,
        seen_within_hours: Annotated[float | None, Query(ge=0)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        try:
            filters = ErrorQueueFilter(entity=entity or None, stage=stage or None,
                                       statuses=tuple(s for s in status or () if s), text=text or None,
                                       older_than=_hours(older_than_hours), seen_within=_hours(seen_within_hours))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        found = store.search_errors(filters, offset=offset, limit=limit)
        return {"items": [present.item_summary(row) for row in found.items], "total": found.total,
                "offset": found.offset, "limit": found.limit, "counts": found.counts, "registry": present.registry(),
                # The actions are error_replay runs: while it is paused they wait, queued. The page says so.
                "actions_dag": {"dag_id": actions.DAG_ID, "paused": dag_paused(actions.DAG_ID)}}

    @app.get("/api/items/{item_id}")
    def item(item_id: int, store: StoreDep) -> dict[str, Any]:
        found = store.error_item(item_id)
        if found is None:
            raise HTTPException(404, f"no error-queue item {item_id}")
        trail = store.audit_trail(found["entity"], found["record_key"])
        return present.item_detail(found, trail, resolve_runs)

    @app.post("/api/actions")
    async def act(request: Request) -> JSONResponse:
        # JSON only: a cross-site form cannot send it without a CORS preflight (and Airflow's cookie is SameSite=Lax).
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise HTTPException(415, "send application/json")
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        try:
            wanted = actions.parse_action(body)
        except actions.ActionRefused as exc:
            raise HTTPException(400, str(exc)) from None
        token = user_token(request)
        if not token:
            raise HTTPException(401, "Not authenticated")
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_trigger, wanted, token)

    def _trigger(wanted: actions.ActionRequest, token: str) -> JSONResponse:
        with store() as opened:
            items = opened.error_keys(wanted.item_ids)
        try:
            confs = actions.run_confs(wanted, items)
            runs = run_trigger(confs, token)
        except actions.ActionRefused as exc:
            raise HTTPException(400, str(exc)) from None
        except actions.AirflowRefused as exc:
            status = exc.status_code if exc.status_code in (400, 401, 403, 404, 409, 422) else 502
            raise HTTPException(status, f"Airflow refused the run: {exc.detail}") from None
        return JSONResponse({"runs": runs}, status_code=201)

    return app


class LazyApp:
    """The app, built on its first request: every Airflow process loads plugins, only the API server serves
    them, and building the app imports Airflow's API security modules."""

    def __init__(self, factory: Callable[[], FastAPI] = create_app) -> None:
        self._factory = factory
        self._app: FastAPI | None = None

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            self._app = self._factory()
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop
            return
        await self.app(scope, receive, send)
