"""The README's CLI backfill, as a newcomer runs it: ``make ui`` (``airflow standalone`` through its Ctrl+C
wrapper, the Makefile's SQLite settings) in a throw-away Airflow home, the sandboxes on free ports, then the
README's ``airflow backfill create …`` command word for word while the scheduler runs. Every run of the backfill
succeeds, and MAX holds each order once. Ctrl+C to the wrapper then leaves no Airflow process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy as sa
from conftest import PRODUCTS

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from shopify_max.airflow_glue.standalone import process_tree
from shopify_max.orders.capture import POLL_WATERMARK
from shopify_max.sync_store import SyncStore
from tests.live_airflow import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAKEFILE_SETTINGS = ("AIRFLOW__CORE__PARALLELISM", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS",
                     "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC", "AIRFLOW__CORE__EXECUTOR")


def readme_backfill_command() -> str:
    """The `airflow backfill create` command in README.md, with its continuation lines."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^[ \t]*(airflow backfill create (?:[^\n]*\\\n)*[^\n]*)$", text, re.MULTILINE)
    assert match, "README.md shows no `airflow backfill create` command"
    return match.group(1)


def makefile_exports() -> dict[str, str]:
    """The Makefile's settings this test must share with `make ui` (read from the Makefile, not copied)."""
    text = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    found = dict(re.findall(r"^export (AIRFLOW__\w+) := (.*)$", text, re.MULTILINE))
    missing = [name for name in MAKEFILE_SETTINGS if name not in found]
    assert not missing, f"the Makefile no longer exports {missing}"
    return {name: found[name] for name in MAKEFILE_SETTINGS}


def test_the_readme_cli_backfill_runs_while_the_scheduler_runs_and_exports_each_order_once(shop, tmp_path):
    # The Shopify sandbox, freshly seeded: 30 orders, one updated every 10 minutes up to 5 minutes ago.
    token = shop.sandbox.config.token
    admin = httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": token}, timeout=30)
    admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": 30}).raise_for_status()
    admin.post("/_sandbox/faults", json={"latency_ms": 0, "error_5xx_rate": 0, "drop_rate": 0,
                                         "throttle_429_rate": 0, "storm_rate": 0}).raise_for_status()
    admin.post("/_sandbox/webhooks", json={"url": None}).raise_for_status()
    admin.close()
    max_db = tmp_path / "max.sqlite"
    sync_store_url = f"sqlite:///{tmp_path / 'sync.sqlite'}"
    store = SyncStore.from_url(sync_store_url)
    # The first scheduled run after the unpause reads only the last minutes, not the whole day the first poll of
    # an empty store would: the backfill does the work here.
    store.set_watermark(POLL_WATERMARK, datetime.now(UTC).isoformat())
    store.dispose()

    home = tmp_path / "airflow"
    api_port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(makefile_exports())
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__FERNET_KEY": os.environ["AIRFLOW__CORE__FERNET_KEY"],
        # Free ports for everything standalone listens on; tasks reach the execution API through the base URL.
        "AIRFLOW__API__PORT": str(api_port), "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW_CONN_SYNC_STORE_DEFAULT": json.dumps({"conn_type": "sqlite",
                                                       "extra": {"sqlalchemy_url": sync_store_url}}),
        "PYTHONPATH": os.environ["PYTHONPATH"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    })

    def airflow(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["airflow", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout)

    gateway_config = GatewayConfig(database_url=f"sqlite:///{max_db}", products=PRODUCTS,
                                   auth=GatewayAuth(username="max-e2e", password="max-e2e-password"))
    with run_gateway(gateway_config) as gateway:
        env["AIRFLOW_CONN_SHOPIFY_DEFAULT"] = json.dumps({
            "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http", "password": token,
            "extra": {"api_version": "2026-07", "webhook_secret": "unused"}})
        env["AIRFLOW_CONN_EXACTMAX_DEFAULT"] = json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http",
            "login": "max-e2e", "password": "max-e2e-password", "extra": {"timeout": 5, "write_attempts": 3}})

        # `make airflow-init`: the metadata DB, then airflow_settings.yaml (the pools the tasks run in).
        migrated = airflow("db", "migrate", timeout=300)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        loaded = subprocess.run([sys.executable, "-m", "shopify_max.airflow_glue.settings_loader",
                                 "airflow_settings.yaml"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                                timeout=120)
        assert loaded.returncode == 0, loaded.stderr[-3000:]

        # `make ui`, in a process group of its own as in a terminal.
        log = (tmp_path / "ui.log").open("w")
        ui = subprocess.Popen([sys.executable, "-m", "shopify_max.airflow_glue.standalone"], env=env,
                              cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        metadata = sa.create_engine(f"sqlite:///{home / 'airflow.db'}", connect_args={"timeout": 60})
        try:
            def wait_for(what: str, condition, timeout_s: float) -> None:
                deadline = time.monotonic() + timeout_s
                while not condition():
                    assert ui.poll() is None, (tmp_path / "ui.log").read_text()[-3000:]
                    assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
                    time.sleep(1)

            def api_answers() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{api_port}/api/v2/version", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            def scalar(sql: str, **params):
                with metadata.connect() as conn:
                    return conn.execute(sa.text(sql), params).scalar()

            wait_for("the API server answers", api_answers, 180)
            wait_for("orders_to_max is parsed",
                     lambda: scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = 'orders_to_max'"), 120)

            unpaused = airflow("dags", "unpause", "orders_to_max")
            assert unpaused.returncode == 0, unpaused.stderr[-3000:]
            command = readme_backfill_command()
            created = subprocess.run(["bash", "-c", command], env=env, cwd=PROJECT_ROOT, capture_output=True,
                                     text=True, timeout=180)
            assert created.returncode == 0, f"{command}\n{created.stdout[-2000:]}\n{created.stderr[-3000:]}"

            backfill_id = scalar("SELECT id FROM backfill WHERE dag_id = 'orders_to_max'")
            assert backfill_id is not None

            def states() -> list[str]:
                with metadata.connect() as conn:
                    return [row[0] for row in conn.execute(sa.text(
                        "SELECT state FROM dag_run WHERE backfill_id = :id ORDER BY logical_date"), {"id": backfill_id})]

            wait_for("the backfill's runs finish", lambda: (runs := states()) and all(s in ("success", "failed") for s in runs), 420)
            runs = states()
            assert len(runs) >= 2 and runs == ["success"] * len(runs), runs

            max_engine = sa.create_engine(f"sqlite:///{max_db}")
            with max_engine.connect() as conn:
                per_custpo = dict(conn.execute(sa.text(
                    'SELECT "CUSTPO_27", count(*) FROM "SO_Master" GROUP BY "CUSTPO_27"')).all())
            max_engine.dispose()
            assert per_custpo, "the backfill exported nothing"
            assert {custpo: count for custpo, count in per_custpo.items() if count != 1} == {}
        finally:
            metadata.dispose()
            tree = {process.pid for process in process_tree(ui.pid)}
            os.killpg(ui.pid, signal.SIGINT)  # Ctrl+C in `make ui`'s terminal
            try:
                ui.wait(timeout=60)
            finally:
                log.close()
            survivors = [pid for pid in tree if _running(pid)]
            assert survivors == [], f"Ctrl+C left {len(survivors)} of {len(tree)} processes running"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_readme_shows_the_airflow_3_backfill_command():
    command = readme_backfill_command()
    assert "--dag-id orders_to_max" in command and "--from-date" in command and "--to-date" in command
    assert "airflow dags backfill orders_to_max" not in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "$(date" in command  # copied as is, it backfills a recent window: no date to edit first
