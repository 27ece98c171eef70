"""Live Airflow: scheduler, DAG processor, triggerer and API server (``airflow standalone``, SQLite, local
executor, the README's embedded default). A new order webhook in the inbox becomes an event on the
``shopify_order_webhooks`` asset within a minute, which schedules ``orders_to_max``."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shopify_max.sync_store import InboxDelivery, SyncStore

pytestmark = pytest.mark.e2e
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_airflow(tmp_path):
    """`airflow standalone` in a throw-away home; yields (metadata DB URL, sync store URL)."""
    port = free_port()
    sync_store_url = f"sqlite:///{tmp_path / 'sync.sqlite'}"
    home = tmp_path / "airflow"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__PORT": str(port), "AIRFLOW__CORE__FERNET_KEY": os.environ["AIRFLOW__CORE__FERNET_KEY"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW_CONN_SYNC_STORE_DEFAULT": json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": sync_store_url}}),
        "PYTHONPATH": os.environ["PYTHONPATH"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    })
    SyncStore.from_url(sync_store_url).dispose()
    log = (tmp_path / "standalone.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (tmp_path / "standalone.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "airflow standalone did not answer within 180 s"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield f"sqlite:///{home / 'airflow.db'}", sync_store_url
    finally:
        _stop_with_every_descendant(process)
        log.close()


def _stop_with_every_descendant(process: subprocess.Popen) -> None:
    """`airflow standalone` starts components that outlive a signal to its process group (the scheduler and its
    executor workers were seen running after it, reparented to init): stop each process of the tree."""
    import psutil

    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _gone, alive = psutil.wait_procs(tree, timeout=30)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=10)
    process.wait(timeout=10)


def test_a_new_order_webhook_schedules_the_orders_dag_within_a_minute(live_airflow):
    import sqlalchemy as sa

    metadata_url, sync_store_url = live_airflow
    metadata = sa.create_engine(metadata_url)

    def asset_events() -> int:
        with metadata.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.name = 'shopify_order_webhooks'")).scalar_one()

    # The DAG processor registers the asset and its watcher; the triggerer then starts the inbox trigger.
    deadline = time.monotonic() + 90
    while True:
        with metadata.connect() as conn:
            watched = conn.execute(sa.text("SELECT count(*) FROM asset_watcher")).scalar_one()
        if watched:
            break
        assert time.monotonic() < deadline, "the asset watcher was never registered"
        time.sleep(1)
    time.sleep(5)  # let the triggerer pick the watcher up
    assert asset_events() == 0

    store = SyncStore.from_url(sync_store_url)
    store.add_inbox_delivery(InboxDelivery(webhook_id="live-1", topic="orders/create", payload="{}"))
    landed = time.monotonic()
    while asset_events() == 0:
        assert time.monotonic() - landed < 60, "no asset event within a minute of the webhook"
        time.sleep(1)
    store.dispose()
    metadata.dispose()
