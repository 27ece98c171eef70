"""``python -m max_gateway.max.views``: the SQL that gives the gateway's login its read-only window on MAX.

The ``max`` backend reads the tables and columns of the contract's data model (``max_gateway.sql.tables``). On a
MAX database it reads them from views in a schema of their own (``max_gateway``), one per table, each selecting
from MAX's table (``dbo``) the columns the reads use, renamed where a site's column is named differently. The
login gets ``SELECT`` on that schema only: views owned by ``dbo`` over ``dbo`` tables need no right on the tables
themselves (ownership chaining), so the login can read what the gateway reads and nothing else.

``COLUMN_SOURCES`` holds the renames public integration code shows for MAX (each to be confirmed on site, the
deployment guide says how); ``--map Table.COLUMN=expression`` adds or overrides one. The extension tables (``X_*``)
are views over the site's own tables where it has them (map their columns the same way), or are created from
``--extension-tables``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable

from sqlalchemy import column, literal_column, select, table
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateTable

from max_gateway.max.engine import NOT_READ_BY_MAX_BACKEND
from max_gateway.sql import tables as t

# The contract's column -> MAX's, where public code shows another name (docs/max-gateway-deployment.md).
COLUMN_SOURCES = {
    "Transaction_History.TNXSEQ_15": "MAXID",  # the row id public code shows; the reads' watermark
    "Transaction_History.STK_15": "STKID_15",
}


def read_tables() -> list:
    return [table_ for table_ in t.metadata.sorted_tables if table_.name not in NOT_READ_BY_MAX_BACKEND]


def _source(source: str, quote) -> str:  # noqa: ANN001
    """A column name is quoted; anything else (``ISNULL(LSTPRC_29, 0)``) is the site's own SQL expression."""
    return quote(source) if re.fullmatch(r"\w+", source) else source


def view_statements(dialect: Dialect, *, source_schema: str = "dbo", view_schema: str = "max_gateway",
                    column_sources: dict[str, str] | None = None, tables: Iterable[str] | None = None,
                    extension_schema: str | None = None) -> list[str]:
    """``CREATE VIEW`` per table the reads use: ``view_schema.Table`` selecting from ``source_schema.Table``, each
    column from its namesake unless ``column_sources`` (default ``COLUMN_SOURCES``) names another."""
    sources = COLUMN_SOURCES if column_sources is None else column_sources
    quote = dialect.identifier_preparer.quote
    wanted = None if tables is None else set(tables)
    statements = []
    for table_ in read_tables():
        if wanted is not None and table_.name not in wanted:
            continue
        schema = extension_schema if extension_schema and table_.name.startswith("X_") else source_schema
        source = table(table_.name, *(column(c.name) for c in table_.columns), schema=schema)
        columns = [literal_column(_source(sources[key], quote)).label(c.name)
                   if (key := f"{table_.name}.{c.name}") in sources else source.c[c.name] for c in table_.columns]
        body = select(*columns).select_from(source).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        statements.append(f"CREATE VIEW {quote(view_schema)}.{quote(table_.name)} AS {body}")
    return statements


def extension_table_statements(dialect: Dialect, schema: str = "max_gateway_ext") -> list[str]:
    """``CREATE TABLE`` for each extension table (``X_*``) the reads use, for a site that has none of its own."""
    return [str(CreateTable(table_.to_metadata(table_.metadata.__class__(), schema=schema)).compile(dialect=dialect))
            .strip() for table_ in read_tables() if table_.name.startswith("X_")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m max_gateway.max.views", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-schema", default="dbo", help="the schema of MAX's tables (default dbo)")
    parser.add_argument("--view-schema", default="max_gateway", help="the schema of the views (default max_gateway)")
    parser.add_argument("--map", action="append", default=[], metavar="Table.COLUMN=expression",
                        help="read COLUMN of Table from another column (repeatable)")
    parser.add_argument("--extension-tables", metavar="SCHEMA",
                        help="also print CREATE TABLE for the X_* extension tables in SCHEMA, and read them there")
    args = parser.parse_args(argv)
    mapping = dict(item.split("=", 1) for item in args.map)
    dialect = mssql.dialect()
    print(f"CREATE SCHEMA {dialect.identifier_preparer.quote(args.view_schema)};\nGO")
    if args.extension_tables:
        print(f"CREATE SCHEMA {dialect.identifier_preparer.quote(args.extension_tables)};\nGO")
        for statement in extension_table_statements(dialect, args.extension_tables):
            print(f"{statement};\nGO")
    for statement in view_statements(dialect, source_schema=args.source_schema, view_schema=args.view_schema,
                                     column_sources=COLUMN_SOURCES | mapping, extension_schema=args.extension_tables):
        print(f"{statement};\nGO")


if __name__ == "__main__":
    main()
