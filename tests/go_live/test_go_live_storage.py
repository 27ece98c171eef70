"""Where go-live reports are written, and that only the newest 20 are kept (they hold customer names)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from shopify_max.go_live.report import publish_go_live_report
from shopify_max.go_live.storage import (
    KEEP_REPORTS,
    go_live_reports_dir,
    list_reports,
    prune_reports,
    report_folder_name,
    run_report_dir,
)
from tests.go_live.dry_run_reports import GENERATED_AT, WINDOW, all_reports


def test_reports_go_under_the_airflow_home_unless_a_folder_is_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("SHOPIFY_MAX_GO_LIVE_REPORTS_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    assert go_live_reports_dir() == tmp_path / "airflow" / "go_live_reports"
    monkeypatch.setenv("SHOPIFY_MAX_GO_LIVE_REPORTS_DIR", str(tmp_path / "mounted"))
    assert go_live_reports_dir() == tmp_path / "mounted"


def test_a_run_id_becomes_one_plain_folder_name():
    assert report_folder_name("manual__2026-11-29T16:40:00+00:00") == "manual__2026-11-29T16-40-00+00-00"
    for hostile in ("../../etc", "/etc/passwd", "..", ".hidden", "a\\b/c"):
        name = report_folder_name(hostile)
        assert "/" not in name and "\\" not in name and not name.startswith(".") and name not in ("", ".", "..")


def test_a_report_is_published_in_its_run_folder_and_a_rerun_replaces_it(tmp_path):
    files = publish_go_live_report(all_reports(), run_id="manual__1", generated_at=GENERATED_AT, window=WINDOW,
                                   base=tmp_path)
    assert files.html == tmp_path / "manual__1" / "index.html"
    (tmp_path / "manual__1" / "stale.csv").write_text("from an earlier try")
    publish_go_live_report(all_reports(), run_id="manual__1", generated_at=GENERATED_AT, window=WINDOW, base=tmp_path)
    assert not (tmp_path / "manual__1" / "stale.csv").exists()
    [stored] = list_reports(tmp_path)
    assert (stored.run_id, stored.verdict) == ("manual__1", files.summary["verdict"])
    assert stored.files()[0] == "index.html" and "failures.csv" in stored.files()
    assert "summary.json" not in stored.files()  # the page serves the report and its CSVs only


def test_only_the_newest_twenty_reports_are_kept(tmp_path):
    for day in range(KEEP_REPORTS + 3):
        publish_go_live_report(all_reports()[:1], run_id=f"manual__{day:02d}",
                               generated_at=GENERATED_AT + timedelta(days=day), window=WINDOW, base=tmp_path)
    kept = [report.name for report in list_reports(tmp_path)]
    assert kept == [f"manual__{day:02d}" for day in reversed(range(3, KEEP_REPORTS + 3))]
    assert not (tmp_path / "manual__00").exists()


def test_pruning_leaves_folders_that_are_not_reports_alone(tmp_path):
    work = tmp_path / ".dry_runs" / "manual__1"  # the DAG's work files between its tasks
    work.mkdir(parents=True)
    (tmp_path / "notes").mkdir()
    run_report_dir("manual__2", tmp_path)  # a report being written: no index.html yet
    assert prune_reports(tmp_path, keep=0) == []
    assert work.is_dir() and (tmp_path / "notes").is_dir() and (tmp_path / "manual__2").is_dir()
    assert list_reports(Path(tmp_path / "absent")) == []


def test_reports_older_than_the_retention_period_and_orphaned_work_files_go(tmp_path):
    """A report lists customers: it follows the PII retention period, not only the count."""
    for name in ("manual__old", "manual__new"):
        publish_go_live_report(all_reports()[:1], run_id=name, generated_at=GENERATED_AT, window=WINDOW, base=tmp_path)
    old_time = time.time() - 40 * 86400
    os.utime(tmp_path / "manual__old", (old_time, old_time))
    orphan, fresh = tmp_path / ".dry_runs" / "manual__crashed", tmp_path / ".dry_runs" / "manual__running"
    orphan.mkdir(parents=True)
    fresh.mkdir()
    os.utime(orphan, (time.time() - 2 * 86400,) * 2)
    deleted = prune_reports(tmp_path, max_age=timedelta(days=30))
    assert sorted(deleted) == [".dry_runs/manual__crashed", "manual__old"]
    assert [report.name for report in list_reports(tmp_path)] == ["manual__new"] and fresh.is_dir()
