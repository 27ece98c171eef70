"""Engine, schema creation and upgrade, and the gateway's number ranges (counter rows locked inside the writing
transaction).

A database created by an earlier version is upgraded in place by :func:`prepare_database`: missing tables are
created, and a missing column is added when it is nullable or has a server default (``Part_Sales.TAXABL_29``
gains ``Y``). Nothing is dropped or changed. A missing column that is neither cannot be added to rows that exist:
that raises :class:`SchemaUpgradeError`, and the database has to be recreated.
"""

from __future__ import annotations

import warnings

from sqlalchemy import Connection, Engine, create_engine, event, exc, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateColumn

from max_gateway.sql.tables import metadata, x_gateway_counter

# SQLite keeps Numeric as REAL; values are quantised to the column scale on read, which is enough here.
warnings.filterwarnings("ignore", category=exc.SAWarning, message=".*Decimal objects natively.*")


class SchemaUpgradeError(Exception):
    """An existing database lacks a column that cannot be added in place (NOT NULL without a server default)."""


class NumberRangeExhausted(Exception):
    """The configured range for a counter (ORDNUM, INVCE, SHIPID) has no numbers left."""


def create_gateway_engine(url: str) -> Engine:
    """SQLite: WAL, busy timeout and BEGIN IMMEDIATE (one writer at a time); PostgreSQL: a plain pool."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns an existing database lacks (``ALTER TABLE ... ADD COLUMN``); return them as ``table.column``."""
    added = []
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in metadata.sorted_tables:
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    continue
                if not column.nullable and column.server_default is None:
                    raise SchemaUpgradeError(f"{table.name}.{column.name} is missing and cannot be added in place "
                                             "(NOT NULL without a server default): recreate the database")
                spec = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {conn.dialect.identifier_preparer.quote(table.name)} ADD COLUMN {spec}")
                added.append(f"{table.name}.{column.name}")
    return added


def prepare_database(engine: Engine, *, ordnum_first: int = 100001, ordnum_last: int = 99999999) -> None:
    """Create the tables (an existing database gains the missing ones and their missing columns) and the number
    ranges (ORDNUM, invoice and shipment numbers) once."""
    create_schema(engine)
    add_missing_columns(engine)
    with engine.begin() as conn:
        ensure_counter(conn, "ORDNUM", ordnum_first, ordnum_last)
        ensure_counter(conn, "INVCE", 500001, 99999999)
        ensure_counter(conn, "SHIPID", 1, 2_000_000_000)


def ensure_counter(conn: Connection, name: str, first: int, last: int) -> None:
    """Create the counter row once; an existing row keeps its position."""
    exists = conn.execute(select(x_gateway_counter.c.COUNTER_X).where(x_gateway_counter.c.COUNTER_X == name)).first()
    if exists is None:
        conn.execute(x_gateway_counter.insert().values(COUNTER_X=name, NEXTVAL_X=first, LASTVAL_X=last))


def take_next_number(conn: Connection, name: str, width: int = 8) -> str:
    """Take the next number of a range, zero-padded to ``width``.

    The counter row is updated inside the caller's transaction, so the row lock (PostgreSQL) or the
    database write lock (SQLite, BEGIN IMMEDIATE) serialises concurrent writers, and a rolled-back
    transaction gives its number back: numbers are unique and gap-free.
    """
    counter = x_gateway_counter
    row = conn.execute(
        update(counter)
        .where(counter.c.COUNTER_X == name)
        .values(NEXTVAL_X=counter.c.NEXTVAL_X + 1)
        .returning(counter.c.NEXTVAL_X, counter.c.LASTVAL_X)
    ).one()
    taken = row.NEXTVAL_X - 1
    if taken > row.LASTVAL_X:
        raise NumberRangeExhausted(f"{name} range is exhausted (last number {row.LASTVAL_X})")
    return str(taken).zfill(width)


def serialise_appends(conn: Connection, table: str) -> None:
    """Make writers that append to ``table`` commit in key order, for the rest of the caller's transaction.

    An autoincrement key is a ``since`` watermark only if no lower key commits after a higher one was read: two
    writers interleaving would let a reader pass a row that is still uncommitted, and never see it. PostgreSQL:
    a transaction advisory lock on the table name; SQLite: every write transaction already holds the database
    write lock (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"append/{table}"})
