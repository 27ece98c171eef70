"""Connect arguments for Airflow's SQLite metadata database (the local, embedded default).

With ``make ui`` running, the scheduler, DAG processor, API server and triggerer all write to one SQLite file
(in WAL mode, which Airflow sets). ``airflow backfill create`` failed with ``sqlite3.OperationalError: database is
locked`` at ``INSERT INTO dag_run`` within 2 s, for two reasons:

- Python's busy timeout is 5 s: a writer that waits longer for the lock gives up.
- Worse, the backfill creates each run inside ``session.begin_nested()``. Outside a transaction, SQLite's
  ``SAVEPOINT`` starts a *deferred* one: the ``SELECT`` that follows takes a read snapshot, and when the
  ``INSERT`` then needs the write lock after the scheduler has committed, SQLite answers ``SQLITE_BUSY`` at once,
  without waiting at all (a stale snapshot cannot become a writer).

So connections made with these arguments wait up to ``BUSY_TIMEOUT_S`` for the lock, and start every write
transaction with ``BEGIN IMMEDIATE``, which takes the write lock first (waiting its turn) instead of failing
later: ``isolation_level="IMMEDIATE"`` for the driver's own implicit ``BEGIN`` before a write, and
``ImmediateWriteConnection`` for a ``SAVEPOINT`` outside a transaction. Reads outside a transaction are as
before. The Makefile points Airflow here (read with ``conf.getimport`` in ``airflow/settings.py``)::

    AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=shopify_max.airflow_glue.sqlite_settings.CONNECT_ARGS
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC=shopify_max.airflow_glue.sqlite_settings.ASYNC_CONNECT_ARGS

With another metadata database (PostgreSQL in docker-compose.yaml) both are empty.
"""

from __future__ import annotations

import sqlite3

BUSY_TIMEOUT_S = 60


class _ImmediateSavepointCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):  # noqa: ANN001, ANN201 - sqlite3.Cursor's signature
        if not self.connection.in_transaction and sql.lstrip()[:9].upper() == "SAVEPOINT":
            super().execute("BEGIN IMMEDIATE")
        return super().execute(sql, parameters)


class ImmediateWriteConnection(sqlite3.Connection):
    """A SAVEPOINT outside a transaction first opens one with ``BEGIN IMMEDIATE`` (its RELEASE then leaves the
    commit to ``commit()``, which SQLAlchemy always calls)."""

    def cursor(self, factory=_ImmediateSavepointCursor):  # noqa: ANN001, ANN201 - sqlite3.Connection's signature
        return super().cursor(factory)


def connect_args(sql_alchemy_conn: str, *, savepoints: bool = True) -> dict[str, object]:
    """For SQLite; nothing for any other database (psycopg2 would refuse these arguments)."""
    if not sql_alchemy_conn.startswith("sqlite"):
        return {}
    args: dict[str, object] = {"timeout": BUSY_TIMEOUT_S, "isolation_level": "IMMEDIATE"}
    if savepoints:
        args["factory"] = ImmediateWriteConnection
    return args


def _metadata_db_url() -> str:
    from airflow.configuration import conf  # loaded already: Airflow imports this module while it configures

    return conf.get("database", "sql_alchemy_conn")


# Airflow adds check_same_thread=False to the sync dict itself. The async engine (aiosqlite, a few API server
# reads) gets the timeout and IMMEDIATE only.
CONNECT_ARGS: dict[str, object] = connect_args(_metadata_db_url())
ASYNC_CONNECT_ARGS: dict[str, object] = connect_args(_metadata_db_url(), savepoints=False)
