"""The ``max`` backend over a stand-in MAX, for its tests: PostgreSQL plays the MAX SQL Server database and
:class:`~sandboxes.exactmax.maxupdate_simulator.SimulatedMaxUpdate` plays MAXUpdate's COM object.

The layout is the one the deployment guide (docs/max-gateway-deployment.md) sets up on SQL Server:
- MAX's tables in a schema of their own (SQL Server: ``dbo``), with text in space-padded ``CHAR(n)`` columns
  (``max_gateway.sql.padded``), seeded with the sandbox's data; only MAX (here: the simulator) writes them;
- a schema of views, one per table the gateway reads (SQL Server: ``max_gateway``), which the gateway's login may
  ``SELECT`` from and nothing else: it has no right on the tables themselves, and its sessions are read-only.

The gateway then runs with its real read engine (``max_gateway.max.engine``), its real writer layer
(``max_gateway.max.maxupdate``: the STA thread and the by-reference unpacking) and the simulator behind it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from max_gateway.max.backend import MaxBackend
from max_gateway.max.engine import create_max_read_engine
from max_gateway.max.journal import WriteJournal
from max_gateway.max.maxupdate import MaxUpdateSettings, MaxUpdateWriter, StaComSession
from max_gateway.max.views import view_statements
from max_gateway.sql.padded import create_padded_tables
from sandboxes.exactmax.maxupdate_simulator import SimulatedMaxUpdate
from sandboxes.exactmax.seed import seed_database

READER_ROLE = "max_gateway_reader"
SIMULATED_CONNECTION_STRING = "Provider=sqloledb;Data Source=simulated;database=ExactMAX;UID=max;Pwd=simulated-secret"


@dataclass
class MaxStandIn:
    """A MAX-shaped PostgreSQL database: ``admin_engine`` is MAX itself, ``reader_url`` the gateway's login."""

    admin_engine: Engine
    reader_url: str
    views_schema: str


def create_max_stand_in(server_url: str, tables_schema: str, views_schema: str, products: int) -> MaxStandIn:
    """Create both schemas on the PostgreSQL server at ``server_url``: padded tables, seed data, views, and the
    reader role's rights (``SELECT`` on the views only)."""
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{tables_schema}"')
        conn.exec_driver_sql(f'CREATE SCHEMA "{views_schema}"')
        conn.execute(text(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER_ROLE}') "
                          f"THEN CREATE ROLE {READER_ROLE} LOGIN; END IF; END $$"))
    admin.dispose()
    separator = "&" if "?" in server_url else "?"
    max_engine = create_engine(f"{server_url}{separator}options=-csearch_path%3D{tables_schema}")
    create_padded_tables(max_engine)
    seed_database(max_engine, products=products)
    with max_engine.begin() as conn:  # the deployment guide's views; the stand-in's columns carry the contract's names
        for statement in view_statements(max_engine.dialect, source_schema=tables_schema, view_schema=views_schema,
                                         column_sources={}):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{views_schema}" TO {READER_ROLE}')
        conn.exec_driver_sql(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{views_schema}" TO {READER_ROLE}')
    reader_url = make_url(server_url).set(username=READER_ROLE, password=None)
    return MaxStandIn(max_engine, reader_url.render_as_string(hide_password=False), views_schema)


def drop_max_stand_in(server_url: str, stand_in: MaxStandIn, tables_schema: str) -> None:
    stand_in.admin_engine.dispose()
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{stand_in.views_schema}" CASCADE')
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{tables_schema}" CASCADE')
    admin.dispose()


def max_backend_on(stand_in: MaxStandIn) -> tuple[MaxBackend, SimulatedMaxUpdate]:
    """The real ``max`` backend on the stand-in: reader login, views schema, snapshot reads, its own write journal
    (a gateway's own disk); MAXUpdate simulated."""
    simulator = SimulatedMaxUpdate(stand_in.admin_engine)
    settings = MaxUpdateSettings(connection_string=SIMULATED_CONNECTION_STRING, company="Sandbox Company")
    session = StaComSession(settings, create_object=lambda: simulator, co_initialize=lambda: None,
                            co_uninitialize=lambda: None)
    engine = create_max_read_engine(stand_in.reader_url, "snapshot", read_schema=stand_in.views_schema)
    journal = WriteJournal(Path(tempfile.mkdtemp(prefix="max-gateway-journal-")) / "journal.sqlite")
    # settle_seconds: the simulator commits before it answers, so a lost answer is visible at once
    return MaxBackend(engine, MaxUpdateWriter(session), journal, max_user="SANDBOX", settle_seconds=0.2), simulator
