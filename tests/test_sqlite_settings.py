"""The SQLite metadata DB's connect arguments (``shopify_max.airflow_glue.sqlite_settings``): a write that starts
with a SAVEPOINT, as ``airflow backfill create`` does for each run, waits for the lock instead of failing with
``database is locked`` when another process committed meanwhile; transactions still commit and roll back."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shopify_max.airflow_glue.sqlite_settings import connect_args


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "airflow.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")  # as Airflow sets it
    setup.execute("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, run_id TEXT)")
    setup.commit()
    setup.close()
    return path


def _scheduler_commits_a_write(path) -> None:
    other = sqlite3.connect(path, timeout=10)
    other.execute("INSERT INTO dag_run (run_id) VALUES ('scheduled')")
    other.commit()
    other.close()


def test_without_them_a_savepoint_read_then_write_fails_at_once_after_another_commit(db):
    cli = sqlite3.connect(db, timeout=60)  # even a long busy timeout does not help: the snapshot is stale
    cli.execute("SAVEPOINT sa_savepoint_1")
    cli.execute("SELECT count(*) FROM dag_run").fetchone()
    _scheduler_commits_a_write(db)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        cli.execute("INSERT INTO dag_run (run_id) VALUES ('backfill')")
    assert time.monotonic() - started < 5
    cli.close()


def test_with_them_the_savepoint_takes_the_write_lock_first_and_the_other_writer_waits(db):
    cli = sqlite3.connect(db, **connect_args("sqlite:///airflow.db"))
    cursor = cli.cursor()
    cursor.execute("SAVEPOINT sa_savepoint_1")
    cursor.execute("SELECT count(*) FROM dag_run").fetchone()
    other = threading.Thread(target=_scheduler_commits_a_write, args=(db,))
    other.start()
    time.sleep(0.3)
    assert other.is_alive()  # waiting for the lock, not failing
    cursor.execute("INSERT INTO dag_run (run_id) VALUES ('backfill')")
    cursor.execute("RELEASE SAVEPOINT sa_savepoint_1")
    cli.commit()
    other.join(timeout=10)
    assert not other.is_alive()
    cli.close()
    check = sqlite3.connect(db)
    assert sorted(row[0] for row in check.execute("SELECT run_id FROM dag_run")) == ["backfill", "scheduled"]
    check.close()


def test_sqlalchemy_sessions_with_nested_transactions_commit_and_roll_back_as_before(db):
    engine = sa.create_engine(f"sqlite:///{db}", connect_args={**connect_args("sqlite://"), "check_same_thread": False})
    with Session(engine) as session:
        with session.begin_nested():
            session.execute(sa.text("INSERT INTO dag_run (run_id) VALUES ('kept')"))
        nested = session.begin_nested()
        session.execute(sa.text("INSERT INTO dag_run (run_id) VALUES ('rolled back')"))
        nested.rollback()
        session.commit()
        with session.begin_nested():
            session.execute(sa.text("INSERT INTO dag_run (run_id) VALUES ('not committed')"))
        session.rollback()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT run_id FROM dag_run")).scalars().all() == ["kept"]
    engine.dispose()


def test_other_databases_get_no_sqlite_arguments():
    assert connect_args("postgresql+psycopg2://airflow@db/airflow") == {}
