"""A live Airflow for tests: ``airflow standalone`` (scheduler, DAG processor, triggerer, API server) in a
throw-away home, on SQLite with the local executor, on a free port; stopped with every process it started.

Shared by tests/e2e/test_live_airflow.py (``live_airflow``: every user an admin) and tests/ui/ (real users and
the real login page, since auth is under test there).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveAirflow:
    base_url: str  # http://127.0.0.1:<port>
    home: Path
    metadata_url: str
    sync_store_url: str
    log: Path


@contextlib.contextmanager
def airflow_standalone(workdir: Path, *, all_admins: bool = True, env: dict[str, str] | None = None,
                       timeout_s: float = 180) -> Iterator[LiveAirflow]:
    """Start ``airflow standalone`` under ``workdir``; ``env`` adds to (or overrides) its environment."""
    from shopify_max.sync_store import SyncStore

    port = free_port()
    sync_store_url = f"sqlite:///{workdir / 'sync.sqlite'}"
    home = workdir / "airflow"
    process_env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    process_env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(all_admins),
        "AIRFLOW__API__PORT": str(port),
        # Task processes reach the API server here (the default is port 8080).
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": os.environ["AIRFLOW__CORE__FERNET_KEY"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW_CONN_SYNC_STORE_DEFAULT": json.dumps(
            {"conn_type": "sqlite", "extra": {"sqlalchemy_url": sync_store_url}}),
        "PYTHONPATH": os.environ["PYTHONPATH"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    })
    process_env.update(env or {})
    SyncStore.from_url(sync_store_url).dispose()
    log_path = workdir / "standalone.log"
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=process_env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"airflow standalone did not answer within {timeout_s:.0f} s"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield LiveAirflow(f"http://127.0.0.1:{port}", home, f"sqlite:///{home / 'airflow.db'}", sync_store_url,
                          log_path)
    finally:
        stop_with_every_descendant(process)
        log.close()


def stop_with_every_descendant(process: subprocess.Popen) -> None:
    """`airflow standalone` starts components that outlive a signal to its process group (the scheduler and its
    executor workers were seen running after it, reparented to init): stop each process of the tree, as
    `make ui` does."""
    from shopify_max.airflow_glue.standalone import stop_process_tree

    stop_process_tree(process.pid)
    process.wait(timeout=10)


@pytest.fixture
def live_airflow(tmp_path):
    """`airflow standalone` in a throw-away home, every user an admin; yields (metadata DB URL, sync store URL)."""
    with airflow_standalone(tmp_path) as live:
        yield live.metadata_url, live.sync_store_url
