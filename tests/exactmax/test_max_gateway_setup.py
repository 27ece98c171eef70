"""Setting up the ``max`` backend: its settings (file, environment, flags; no secret ever shown), its SQL Server
engine (snapshot reads, a lock timeout, the views schema), the views script of the deployment guide, the start on a
server where MAXUpdate is not working, and the smoke test the guide tells an installer to run."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from max_gateway_helpers import AUTH, PG_URL, PRODUCTS, TOKEN, make_order

from max_gateway.app import create_app
from max_gateway.config import SettingsError, load_settings
from max_gateway.max import views
from max_gateway.max.engine import MaxSchemaMismatch, check_max_schema, create_max_read_engine
from max_gateway.server import open_max_backend
from max_gateway.smoke_test import main as smoke_test
from sandboxes.exactmax.max_sandbox import MaxStandIn, create_max_stand_in, drop_max_stand_in
from shopify_max.exactmax.xml_builder import build_sales_order_xml

SECRETS = ("gw-password-123", "gw-token-456", "sql-password-789", "oledb-password-012")
MAX_TOML = f"""
backend = "max"
port = 9443
[auth]
username = "max-integration"
password = "{SECRETS[0]}"
[max]
database_url = "mssql+mssqlpython://reader:{SECRETS[2]}@maxsql/ExactMAX"
[max.maxupdate]
connection_string = "Provider=sqloledb;Data Source=maxsql;UID=max;Pwd={SECRETS[3]}"
company = "Sample Company"
"""


def test_settings_come_from_the_file_then_the_environment_then_the_flags(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(MAX_TOML, encoding="utf-8")
    settings = load_settings(path, environ={"EXACTMAX_GATEWAY_TOKEN": SECRETS[1], "EXACTMAX_GATEWAY_USER": "env-user"},
                             overrides={"port": 9555, "auth": {"username": None}})
    assert (settings.backend, settings.port, settings.auth.username) == ("max", 9555, "env-user")
    assert settings.auth.token.get_secret_value() == SECRETS[1]
    assert settings.max.maxupdate.company == "Sample Company" and settings.max.read_isolation == "snapshot"
    from_environment = load_settings(environ={"EXACTMAX_GATEWAY_CONFIG": str(path)})
    assert from_environment.max.database_url.get_secret_value().endswith("@maxsql/ExactMAX")


def test_no_secret_appears_in_the_summary_the_repr_or_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(MAX_TOML, encoding="utf-8")
    settings = load_settings(path, environ={"EXACTMAX_GATEWAY_TOKEN": SECRETS[1]})
    shown = f"{settings!r} {settings} {settings.summary()}"
    assert settings.summary()["database"] == "mssql+mssqlpython://reader:***@maxsql/ExactMAX"
    broken = tmp_path / "broken.toml"  # company missing, a bad port: pydantic's own message would quote the input
    broken.write_text(MAX_TOML.replace('company = "Sample Company"', "").replace("9443", '"x"'), encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(broken, environ={"EXACTMAX_GATEWAY_TOKEN": SECRETS[1]})
    assert "max.maxupdate.company: Field required" in str(raised.value) and "port:" in str(raised.value)
    for secret in SECRETS:
        assert secret not in shown and secret not in str(raised.value) and secret not in repr(raised.value)


def _max_settings_with_database_url(database_url: str):  # noqa: ANN202
    return load_settings(environ={"EXACTMAX_GATEWAY_BACKEND": "max", "EXACTMAX_GATEWAY_MAX_DATABASE_URL": database_url,
                                  "EXACTMAX_GATEWAY_MAXUPDATE_CONNECTION_STRING": "Provider=sqloledb;Pwd=x",
                                  "EXACTMAX_GATEWAY_MAXUPDATE_COMPANY": "C"})


def test_the_startup_line_masks_a_password_given_as_a_url_query_parameter() -> None:
    """mssql-python passes every query key into its connection string, so ``?UID=..&PWD=..`` is a working login."""
    summary = _max_settings_with_database_url(f"mssql+mssqlpython://maxsql/ExactMAX?UID=reader&PWD={SECRETS[2]}")
    assert SECRETS[2] not in str(summary.summary())
    assert summary.summary()["database"] == "mssql+mssqlpython://maxsql/ExactMAX?PWD=%2A%2A%2A&UID=reader"


def test_a_password_with_an_unescaped_at_sign_is_not_quoted_by_the_startup_line() -> None:
    """``make_url`` would read part of such a password as the port, and its error would quote the rest."""
    settings = _max_settings_with_database_url(f"mssql+mssqlpython://reader:Sup3r@Secret:{SECRETS[2]}@maxsql/ExactMAX")
    assert SECRETS[2] not in str(settings.summary()) and "cannot be parsed" in settings.summary()["database"]


def test_backend_max_without_its_section_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError, match=r"backend 'max' needs a \[max\] section"):
        load_settings(environ={"EXACTMAX_GATEWAY_BACKEND": "max"})


def test_the_sql_server_engine_reads_under_snapshot_with_a_lock_timeout_from_the_views_schema() -> None:
    engine = create_max_read_engine("mssql+mssqlpython://reader:pw@maxsql/ExactMAX", "snapshot",
                                    read_schema="max_gateway", lock_timeout_ms=5000)
    assert engine.get_execution_options()["schema_translate_map"] == {None: "max_gateway"}
    assert engine.dialect.driver == "mssqlpython" and engine.dialect._on_connect_isolation_level == "SNAPSHOT"
    executed: list[str] = []

    class Cursor:
        def execute(self, statement: str) -> None:
            executed.append(statement)

        def close(self) -> None:
            pass

    class Connection:
        def cursor(self) -> Cursor:
            return Cursor()

    [session_settings] = [fn for fn in engine.pool.dispatch.connect if fn.__name__ == "_session_settings"]
    session_settings(Connection(), None)
    assert executed == ["SET LOCK_TIMEOUT 5000"]
    committed = create_max_read_engine("mssql+mssqlpython://reader:pw@maxsql/ExactMAX", "read_committed")
    assert committed.dialect._on_connect_isolation_level == "READ COMMITTED"


def test_the_views_script_renames_what_max_names_otherwise_and_reads_only_what_the_reads_use(capsys) -> None:
    views.main(["--map", "Part_Sales.PRICE_29=LSTPRC_29"])
    script = capsys.readouterr().out
    assert script.startswith("CREATE SCHEMA max_gateway;\nGO\n")
    assert "[MAXID] AS [TNXSEQ_15]" in script and "[STKID_15] AS [STK_15]" in script
    assert "[LSTPRC_29] AS [PRICE_29]" in script
    assert "CREATE VIEW max_gateway.[SO_Master] AS SELECT dbo.[SO_Master].[ORDNUM_27]" in script
    assert "X_Gateway_Counter" not in script and "X_Credit_Restock" not in script  # written by the reference only
    assert script.count("CREATE VIEW") == len(views.read_tables())


def test_the_views_script_creates_the_extension_tables_and_reads_them_there_for_a_site_without_its_own(capsys):
    views.main(["--extension-tables", "max_gateway_ext"])
    script = capsys.readouterr().out
    assert "CREATE SCHEMA max_gateway_ext;" in script
    assert "CREATE TABLE max_gateway_ext.[X_Price_List]" in script and "PRIMARY KEY" in script
    assert "FROM max_gateway_ext.[X_Price_List]" in script and "FROM dbo.[Part_Master]" in script
    assert "dbo.[X_" not in script


@pytest.fixture(scope="module")
def stand_in(postgres_available: bool) -> Iterator[MaxStandIn]:
    if not postgres_available:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable (set CI=true to make this a failure)")
    suffix = uuid.uuid4().hex[:12]
    created = create_max_stand_in(PG_URL, f"maxdb_{suffix}", f"maxgw_{suffix}", PRODUCTS)
    yield created
    drop_max_stand_in(PG_URL, created, f"maxdb_{suffix}")


def test_the_gateways_login_cannot_write_and_reads_only_the_views(stand_in: MaxStandIn) -> None:
    engine = create_max_read_engine(stand_in.reader_url, "snapshot", read_schema=stand_in.views_schema)
    tables_schema = stand_in.admin_engine.url.query["options"].split("%3D")[-1].split("=")[-1]
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text(f'SELECT COUNT(*) FROM "{stand_in.views_schema}"."Part_Master"')).scalar() > 0
        for statement in (f'UPDATE "{stand_in.views_schema}"."Part_Master" SET "PMDES1_01" = \'x\'',
                          f'SELECT COUNT(*) FROM "{tables_schema}"."Part_Master"'):
            with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError,
                                                         match="read-only transaction|permission denied"):
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_missing_view_or_column_stops_the_start_naming_each(stand_in: MaxStandIn) -> None:
    engine = create_max_read_engine(stand_in.reader_url, "snapshot", read_schema=stand_in.views_schema)
    try:
        check_max_schema(engine, stand_in.views_schema)  # the complete stand-in passes
        with pytest.raises(MaxSchemaMismatch) as raised:
            check_max_schema(engine, "public")  # a schema without the views
        assert "Part_Master" in raised.value.missing and "SO_Master" in raised.value.missing
    finally:
        engine.dispose()


def test_without_a_working_maxupdate_the_gateway_still_reads_says_why_and_writes_nothing(
        stand_in: MaxStandIn, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"backend": "max", "max": {
        "database_url": stand_in.reader_url, "read_schema": stand_in.views_schema,
        "journal_path": str(tmp_path / "journal.sqlite"),
        "maxupdate": {"connection_string": f"Provider=sqloledb;Pwd={SECRETS[3]}", "company": "Sample Company",
                      "host_python": sys.executable, "call_timeout_seconds": 20}}})
    caplog.set_level(logging.DEBUG)
    backend = open_max_backend(settings.max)  # a real writer host: no pywin32 here, as on a server without it
    try:
        client = TestClient(create_app(backend, auth=AUTH), headers={"Authorization": f"Bearer {TOKEN}"})
        health = client.get("/health").json()
        assert health["backend"] == "max" and health["writer"] != "ready" and health["writer"]
        assert client.get("/parts", params={"limit": 2}).status_code == 200
        order = build_sales_order_xml(make_order("NO-MAXUPDATE-1")).xml
        answer = client.post("/sales-orders", content=order, headers={"Content-Type": "application/xml"})
        assert answer.status_code == 503 and "MAXUpdate is unavailable" in answer.json()["detail"]
        assert client.get("/sales-orders", params={"custpo": "NO-MAXUPDATE-1"}).json() == {"items": []}
    finally:
        backend.close()
    assert SECRETS[3] not in caplog.text


def test_the_smoke_test_passes_on_a_working_gateway_of_either_backend_and_writes_nothing(
        shared_gateway, capsys) -> None:
    assert smoke_test(["--url", shared_gateway.base_url, "--token", TOKEN]) == 0
    printed = capsys.readouterr().out
    assert "ok   an order for a part that cannot exist is refused before MAXUpdate" in printed
    assert printed.rstrip().endswith("smoke test passed")
    assert shared_gateway.count_orders("SMOKE-TEST") == 0
