"""Where go-live reports live, and how long.

One folder per ``go_live_check`` run under :func:`go_live_reports_dir`: ``$SHOPIFY_MAX_GO_LIVE_REPORTS_DIR``,
else ``$AIRFLOW_HOME/go_live_reports/``. The folder's name is the run id made safe for a file system. A report
holds customer names and e-mail addresses, so only the newest :data:`KEEP_REPORTS` are kept: each new report
deletes the older ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

REPORTS_DIR_ENV = "SHOPIFY_MAX_GO_LIVE_REPORTS_DIR"
KEEP_REPORTS = 20
SUMMARY_FILE = "summary.json"
REPORT_FILE = "index.html"
WORK_FOLDER = ".dry_runs"  # go_live_check's dry-run reports between its tasks: hidden from the listing
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def go_live_reports_dir() -> Path:
    """The folder that holds one sub-folder per report (not created here)."""
    configured = os.environ.get(REPORTS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    airflow_home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(airflow_home).expanduser() / "go_live_reports"


def report_folder_name(run_id: str) -> str:
    """``manual__2026-11-29T16:40:00+00:00`` → ``manual__2026-11-29T16-40-00+00-00``: never a path, never hidden."""
    name = _UNSAFE.sub("-", run_id).strip(".-")
    return name[:200] or "run"


def run_report_dir(run_id: str, base: Path | None = None) -> Path:
    """The folder of one run's report, created empty (a re-run of the same DAG run replaces its report)."""
    folder = (base or go_live_reports_dir()) / report_folder_name(run_id)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@dataclass(frozen=True)
class StoredReport:
    """One report on disk, as the page lists it."""

    name: str  # the folder's name: the only handle the page accepts
    path: Path
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or self.name)

    @property
    def generated_at(self) -> str:
        return str(self.summary.get("generated_at") or "")

    @property
    def verdict(self) -> str:
        return str(self.summary.get("verdict") or "incomplete: no summary")

    def files(self) -> list[str]:
        """The report's file names, report first, then the CSVs by name."""
        names = sorted(entry.name for entry in self.path.iterdir()
                       if entry.is_file() and entry.suffix in (".html", ".csv"))
        return sorted(names, key=lambda name: name != REPORT_FILE)


def _read_summary(folder: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def list_reports(base: Path | None = None) -> list[StoredReport]:
    """Every report folder holding an ``index.html``, newest first (by generation time, then folder time)."""
    root = base or go_live_reports_dir()
    if not root.is_dir():
        return []
    found = [StoredReport(entry.name, entry, _read_summary(entry)) for entry in root.iterdir()
             if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".")
             and (entry / REPORT_FILE).is_file()]
    return sorted(found, key=lambda report: (report.generated_at, report.path.stat().st_mtime), reverse=True)


def prune_reports(base: Path | None = None, keep: int = KEEP_REPORTS, max_age: timedelta | None = None) -> list[str]:
    """Delete all but the newest ``keep`` reports, and any older than ``max_age`` (the PII retention period: a
    report lists customers); also the work files of dry runs whose report was never rendered. Returns the names
    deleted."""
    root = base or go_live_reports_dir()
    cutoff = time.time() - max_age.total_seconds() if max_age else None
    deleted = []
    for index, report in enumerate(list_reports(base)):
        if index >= keep or (cutoff is not None and report.path.stat().st_mtime < cutoff):
            shutil.rmtree(report.path)
            deleted.append(report.name)
    work = root / WORK_FOLDER
    if work.is_dir():  # a render takes minutes after its dry runs: work files a day old belong to no render
        for entry in work.iterdir():
            if entry.is_dir() and not entry.is_symlink() and entry.stat().st_mtime < time.time() - 86400:
                shutil.rmtree(entry)
                deleted.append(f"{WORK_FOLDER}/{entry.name}")
    return deleted
