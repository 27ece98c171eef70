"""The "Go-live report" page in the Airflow UI: Airflow's API server mounts this app under ``/go-live``.

Routes (all under the mount prefix):

- ``GET /``: the reports, newest first: run id, generated at, verdict;
- ``GET /reports/{name}/``: one report's ``index.html``;
- ``GET /reports/{name}/{file}``: one of its CSV files (a download).

**Only names from a listing are served.** ``name`` must be a report folder that :func:`list_reports` lists and
``file`` one of that report's files; anything else (``..``, an absolute path, an encoded slash) is a 404 before
any path is built from it. Reports are served with a CSP that allows no script and no network.

**Security.** As on the error-queue page, the app itself requires, on every route, an Airflow user who may read
the ``go_live_check`` DAG and trigger runs of it (Airflow's ``requires_access_dag``): a report holds customer
names and e-mail addresses, so a read-only viewer gets 403 and an anonymous caller 401.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from shopify_max.go_live import DAG_ID
from shopify_max.go_live import markup as m
from shopify_max.go_live.storage import KEEP_REPORTS, REPORT_FILE, StoredReport, go_live_reports_dir, list_reports

# No script, no fetch, no form: the report is a document. Framing only by the Airflow UI (same origin).
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # customer names: not kept in a browser cache
}


def airflow_access() -> list[Any]:
    """Airflow's own checks: a user who may read ``go_live_check`` and trigger (POST) runs of it."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return [Depends(requires_access_dag("GET", param_dag_id=DAG_ID)),
            Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=DAG_ID))]


def index_page(reports: list[StoredReport], folder: Path) -> str:
    rows = "".join(
        f'<tr><td>{m.link(f"reports/{report.name}/", report.run_id)}</td><td>{m.esc(report.generated_at)}</td>'
        f'<td class="{"ready" if report.summary.get("ready") else "not-ready"}">{m.esc(report.verdict)}</td>'
        f'<td class="num">{len(report.files()) - 1}</td></tr>'
        for report in reports)
    listing = ("<table id=\"reports\"><thead><tr><th>run</th><th>generated at (UTC)</th><th>verdict</th>"
               f"<th>CSV files</th></tr></thead><tbody>{rows}</tbody></table>" if reports else
               m.paragraph("No go-live report yet: trigger the go_live_check DAG (docs/go-live.md).", "empty"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Go-live reports</title>"
            f"<style>{m.STYLE} td.ready {{ color: #1d5e1d; }} td.not-ready {{ color: #8a1c12; }}</style></head>"
            "<body><h1>Go-live reports</h1>"
            + m.paragraph("What every flow would do, from the go_live_check DAG's dry runs. Read the newest before "
                          "switching a DAG on (docs/go-live.md).")
            + listing
            + m.paragraph(f"Kept: the newest {KEEP_REPORTS} reports, in {folder}. They hold customer names and "
                          "e-mail addresses; older ones are deleted when a new one is written.", "more")
            + "</body></html>\n")


def create_app(*, reports_dir: Callable[[], Path] = go_live_reports_dir,
               dependencies: list[Any] | None = None) -> FastAPI:
    """The app; the keyword arguments exist for tests (the plugin uses Airflow's auth and the configured folder)."""
    app = FastAPI(title="Go-live report", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=airflow_access() if dependencies is None else dependencies)

    def find(name: str) -> StoredReport:
        for report in list_reports(reports_dir()):
            if report.name == name:
                return report
        raise HTTPException(404, "no such report")

    @app.get("/", response_class=HTMLResponse)
    def reports() -> HTMLResponse:
        folder = reports_dir()
        return HTMLResponse(index_page(list_reports(folder), folder), headers=REPORT_HEADERS)

    @app.get("/reports/{name}")
    def report_without_slash(name: str) -> RedirectResponse:
        find(name)
        return RedirectResponse(f"{name}/", status_code=307)  # the report's CSV links are relative to its folder

    @app.get("/reports/{name}/")
    def report(name: str) -> FileResponse:
        return FileResponse(find(name).path / REPORT_FILE, media_type="text/html; charset=utf-8",
                            headers=REPORT_HEADERS)

    @app.get("/reports/{name}/{file_name}")
    def report_file(name: str, file_name: str) -> FileResponse:
        found = find(name)
        if file_name not in found.files():
            raise HTTPException(404, "no such file in this report")
        if file_name == REPORT_FILE:
            return FileResponse(found.path / file_name, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)
        return FileResponse(found.path / file_name, media_type="text/csv; charset=utf-8", filename=file_name,
                            headers=REPORT_HEADERS)

    return app
