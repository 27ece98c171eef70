"""``make demo`` leaves a task log for every task it ran, where the UI reads it: one DAG run the way the demo runs
them (``sandboxes.demo.run_dags``: ``dag.test(use_executor=True)`` with the LocalExecutor), then the log file at
Airflow's path template, read back through Airflow's own log reader (what the UI and the REST API call)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

DAG_ID = "sync_store_maintenance"  # no sandbox needed: the cheapest full DAG run


@pytest.mark.e2e
def test_a_demo_run_writes_each_task_log_where_the_ui_reads_it(airflow_metadata_db, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'store.sqlite'}"}}))
    from airflow.configuration import conf
    from airflow.models.dagrun import DagRun
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session

    from sandboxes.demo import run_dags

    # Quiet, as `make demo` runs without --verbose: the task logs must be whole all the same.
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    logging.disable(logging.WARNING)
    try:
        [(dag_id, state, _elapsed, values)] = run_dags((DAG_ID,))
    finally:
        logging.disable(logging.NOTSET)

    assert (dag_id, state) == (DAG_ID, "success")
    assert set(values) == {"act_on_privacy_requests", "purge_expired_pii"}
    with create_session() as session:
        [dag_run] = session.query(DagRun).filter(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc()).limit(1).all()
        [ti] = [t for t in dag_run.get_task_instances(session=session) if t.task_id == "purge_expired_pii"]
        path = (Path(conf.get("logging", "base_log_folder")) / f"dag_id={DAG_ID}" / f"run_id={dag_run.run_id}"
                / "task_id=purge_expired_pii" / f"attempt={ti.try_number}.log")
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert any(line["event"].startswith("purged PII older than") for line in lines)

        chunks, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
        events = [getattr(message, "event", "") for message in chunks]
    assert any(str(event).startswith("purged PII older than") for event in events)
    assert not any("Log file not found" in str(event) for event in events)
