"""MAX's tables as MAX stores them: every ``MaxText(n)`` column as space-padded ``CHAR(n)``.

Used by the ``max`` backend's tests and sandbox to hold MAX-shaped data padded the way SQL Server pads it, so the
shared reads (:mod:`max_gateway.sql`) run on ``'WEB                 '`` rather than on the trimmed ``VARCHAR`` values
of the reference database. PostgreSQL's ``character(n)`` pads and compares like SQL Server's ``CHAR(n)``: a value
is stored padded to ``n`` with spaces, and trailing spaces are insignificant when two values are compared (``=``,
``<``, ``ORDER BY``), so keyset paging and key lookups behave as they do on MAX.

The tables are created from a copy of :data:`max_gateway.sql.tables.metadata`; the shared metadata, which every
query is written against, is not changed. Inserts and reads keep using the shared tables (``MaxText`` trims on
bind and on read), so :func:`sandboxes.exactmax.seed.seed_database` fills padded tables created here (its
``create_all`` skips tables that exist).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import CHAR, Engine, MetaData

from max_gateway.sql.tables import metadata
from max_gateway.sql.types import MaxText


def padded_metadata(tables: Iterable[str] | None = None) -> MetaData:
    """A copy of the MAX metadata (the tables named, or all) with every ``MaxText(n)`` column typed ``CHAR(n)``."""
    wanted = None if tables is None else set(tables)
    unknown = (wanted or set()) - set(metadata.tables)
    if unknown:
        raise ValueError(f"not MAX tables: {sorted(unknown)}")
    padded = MetaData()
    for table in metadata.sorted_tables:
        if wanted is not None and table.name not in wanted:
            continue
        copy = table.to_metadata(padded)
        for column in copy.columns:
            if isinstance(column.type, MaxText):
                column.type = CHAR(column.type.impl.length)
    return padded


def create_padded_tables(engine: Engine, tables: Iterable[str] | None = None) -> None:
    """Create the MAX tables (``tables`` names some; ``None``: all) with their text columns as padded ``CHAR(n)``,
    everything else (keys, numeric and date types, defaults, indexes) as declared. Existing tables are kept."""
    padded_metadata(tables).create_all(engine)
