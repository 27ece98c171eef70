"""The ``max`` backend's connection to the MAX SQL Server database: read-only, snapshot reads, checked at startup.

Driver: Microsoft's ``mssql-python`` (SQLAlchemy dialect ``mssql+mssqlpython``), not ``pymssql``:
- it is Microsoft's own, supported driver, and it bundles what it needs: nothing to install on the MAX server
  beside the wheel (no ODBC driver manager, no FreeTDS build);
- it binds parameters on the server (prepared statements), where ``pymssql`` quotes them into the SQL text on the
  client side;
- it speaks Windows integrated and Entra authentication, which many MAX sites use for SQL logins;
- it binds text as ``NVARCHAR``; ``max_gateway.sql.types`` casts each bound value to ``VARCHAR`` so MAX's
  ``CHAR`` indexes are still used.

Isolation: every read runs under ``SNAPSHOT`` isolation (``read_isolation = "snapshot"``, the default). A snapshot
reader takes no shared locks, so it never blocks a MAX user's transaction and is never blocked by one, and it sees
only committed data. It needs ``ALLOW_SNAPSHOT_ISOLATION ON`` on the database, which changes nothing for MAX's own
sessions. A site that has turned on ``READ_COMMITTED_SNAPSHOT`` instead sets ``read_isolation =
"read_committed"``, which is then versioned too. ``NOLOCK`` is not offered: a dirty read could pass a shipment or
an invoice that MAX then rolls back to Shopify, and it can skip or repeat rows that move during a page split,
which breaks keyset paging. On PostgreSQL (the padded test database) ``snapshot`` is ``REPEATABLE READ`` and every
session is read-only.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from max_gateway.sql import tables as t

ReadIsolation = Literal["snapshot", "read_committed"]

# Tables the gateway writes only in the reference backend: the max backend neither reads nor needs them.
NOT_READ_BY_MAX_BACKEND = frozenset({t.x_gateway_counter.name, t.x_credit_restock.name})


class MaxSchemaMismatch(Exception):
    """The MAX database lacks tables or columns the reads use: the gateway refuses to start, naming each."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("the MAX database lacks what the gateway reads (see docs/max-gateway-deployment.md, "
                         "'Extension tables'): " + ", ".join(missing))
        self.missing = missing


def _isolation_level(dialect_name: str, read_isolation: ReadIsolation) -> str:
    if read_isolation == "read_committed":
        return "READ COMMITTED"
    return "SNAPSHOT" if dialect_name == "mssql" else "REPEATABLE READ"


def create_max_read_engine(url: str, read_isolation: ReadIsolation = "snapshot", *, read_schema: str | None = None,
                           lock_timeout_ms: int = 10_000) -> Engine:
    """A pooled, read-only engine on the MAX database; with ``read_schema``, every table the reads name is taken
    from that schema (the deployment guide's views) instead of the login's default schema.

    SQL Server: ``isolation_level`` SNAPSHOT (or READ COMMITTED) and ``SET LOCK_TIMEOUT`` on every new connection,
    so a read that does wait (a schema lock during MAX maintenance) fails after ``lock_timeout_ms`` instead of
    queuing behind it. PostgreSQL: REPEATABLE READ, every transaction read-only."""
    dialect_name = make_url(url).get_backend_name()
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                           isolation_level=_isolation_level(dialect_name, read_isolation))

    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_connection, _record):  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        if dialect_name == "mssql":
            cursor.execute(f"SET LOCK_TIMEOUT {int(lock_timeout_ms)}")
        elif dialect_name == "postgresql":
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.close()
        if dialect_name == "postgresql":
            dbapi_connection.commit()

    if read_schema:
        return engine.execution_options(schema_translate_map={None: read_schema})
    return engine


def missing_schema_objects(engine: Engine, schema: str | None = None) -> list[str]:
    """Every ``table`` or ``table.column`` the reads use that ``schema`` (tables or views) lacks; empty when all
    are there."""
    inspector = inspect(engine)
    present = {name.lower() for name in inspector.get_table_names(schema=schema)} | \
              {name.lower() for name in inspector.get_view_names(schema=schema)}
    missing = []
    for table in t.metadata.sorted_tables:
        if table.name in NOT_READ_BY_MAX_BACKEND:
            continue
        if table.name.lower() not in present:
            missing.append(table.name)
            continue
        names = {name.lower(): name for name in [*inspector.get_table_names(schema=schema),
                                                  *inspector.get_view_names(schema=schema)]}
        columns = {column["name"].lower() for column in inspector.get_columns(names[table.name.lower()], schema=schema)}
        missing += [f"{table.name}.{column.name}" for column in table.columns if column.name.lower() not in columns]
    return missing


def check_max_schema(engine: Engine, schema: str | None = None) -> None:
    missing = missing_schema_objects(engine, schema)
    if missing:
        raise MaxSchemaMismatch(missing)
