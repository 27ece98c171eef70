"""SQLAlchemy engines for the sync store, with the settings each backend needs."""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def create_sync_store_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit transactions for locking."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL is a property of the file: switch once. Switching needs a moment with no other writer,
            # and the busy handler does not cover it, so a second process that loses the race retries.
            for attempt in range(50):
                if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    break
                try:
                    cursor.execute("PRAGMA journal_mode=WAL")
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # BEGIN IMMEDIATE: take the write lock up front, the SQLite equivalent of row locks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, future=True)
