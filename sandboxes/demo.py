"""``make demo``: start the sandboxes, run every DAG once for real, print what each run did.

Runs outside tasks, against the Airflow home that ``make airflow-init`` prepared (SQLite metadata DB,
settings loaded from ``airflow_settings.yaml``). Each DAG runs through ``dag.test(use_executor=True)``: a real
DAG run whose tasks the configured LocalExecutor runs as a worker does, each writing its task log where the UI
reads it (:func:`run_dags`). The sandboxes run as child processes and stop when the demo ends.

``--serve`` (``make sandboxes``) starts the same sandboxes with the same arguments (``SANDBOXES``: seed, the
gateway's database in ``.airflow/``, the webhook URL and secret) and keeps them running in the foreground for
``make ui`` until Ctrl+C. The webhook receiver reads its connections from the Airflow home, so it needs the
Makefile's environment (``make sandboxes``, or ``eval "$(make -s env)"`` first).
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib.util
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from shopify_max.airflow_glue.run_results import task_return_values
from shopify_max.paths import PROJECT_ROOT


@dataclass(frozen=True)
class Sandbox:
    name: str
    module: str  # started as `python -m <module> <args>`
    args: tuple[str, ...]
    health_url: str


DEMO_PRODUCTS = 500  # catalogue size both sandboxes seed: what include/mappings/sku_to_part.csv maps

SANDBOXES = (
    Sandbox("Shopify sandbox", "sandboxes.shopify",
            ("--host", "127.0.0.1", "--port", "8701", "--products", str(DEMO_PRODUCTS), "--orders", "30",
             # Webhooks go to the receiver below, signed with the secret airflow_settings.yaml gives Airflow.
             "--webhook-url", "http://127.0.0.1:8703/webhooks/shopify",
             "--webhook-secret", "sandbox-webhook-signing-secret"),
            "http://127.0.0.1:8701/_sandbox/health"),
    Sandbox("Exact MAX gateway", "sandboxes.exactmax",
            ("--host", "127.0.0.1", "--port", "8702", "--products", str(DEMO_PRODUCTS),
             "--username", "max-sandbox", "--password", "max-sandbox-password",
             "--database-url", f"sqlite:///{PROJECT_ROOT / '.airflow' / 'max_gateway.sqlite'}"),
            "http://127.0.0.1:8702/health"),
    Sandbox("Webhook receiver", "shopify_max.webhooks",
            ("--host", "127.0.0.1", "--port", "8703"), "http://127.0.0.1:8703/health"),
)

DAG_ORDER = (
    "master_data_sync",
    "orders_to_max",
    "inventory_to_shopify",
    "refunds_to_max",
    "fulfilment_to_shopify",
    "error_replay",
    "sync_store_maintenance",
)


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def _wait_until_healthy(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: sandbox exited with code {process.returncode} before it was healthy")
        try:
            with urlopen(url, timeout=2) as response:  # noqa: S310 - loopback sandbox URL
                if response.status == 200:
                    return
        except HTTPError:
            return  # it answers (a gateway with auth answers 401 to an anonymous probe): it is up
        except (URLError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def _port_in_use(url: str) -> bool:
    parsed = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parsed.hostname or "127.0.0.1", parsed.port or 80)) == 0


@contextmanager
def running_sandboxes(log_dir: Path) -> Iterator[list[str]]:
    """Start each sandbox that this checkout has; stop them all on exit. Yields the names started."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        for sandbox in SANDBOXES:
            if not _module_exists(sandbox.module):
                print(f"   {sandbox.name}: not part of this checkout yet, not started")
                continue
            if _port_in_use(sandbox.health_url):
                # Another process (a `make sandboxes` still running, an earlier demo) would answer the health
                # check in place of this one, with other data: stop rather than talk to it.
                raise RuntimeError(f"{sandbox.name}: {sandbox.health_url.rsplit('/', 1)[0]} is already in use; "
                                   "stop what runs there (e.g. `make sandboxes`) and try again")
            log_file = (log_dir / f"{sandbox.module.rsplit('.', 1)[-1]}.log").open("w")
            process = subprocess.Popen(
                [sys.executable, "-m", sandbox.module, *sandbox.args],
                stdout=log_file, stderr=subprocess.STDOUT, env=os.environ.copy(),
            )
            started.append((sandbox.name, process))
            _wait_until_healthy(sandbox.health_url, process)
            print(f"   {sandbox.name}: running ({sandbox.health_url.rsplit('/_sandbox', 1)[0]})")
        yield [name for name, _ in started]
    finally:
        for _name, process in started:
            process.terminate()
        for _name, process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


# The demo's LocalExecutor: two worker processes (its flows run one task at a time; 2 cores), and a worker that
# notices its task's process has ended within 1 s instead of the default 5 s.
DEMO_EXECUTOR_SETTINGS = {"AIRFLOW__CORE__PARALLELISM": "2", "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}
LOGGING_LEVEL = "AIRFLOW__LOGGING__LOGGING_LEVEL"
# What the task bodies import on first use, imported once here so that every task process (forked from a worker
# forked from this process) starts with them, as in a long-lived worker, instead of importing GX each time.
TASK_LIBRARIES = ("great_expectations", "pandas", "shopify_max.orders.pipeline", "shopify_max.validation.sales_orders",
                  "shopify_max.inventory.push", "shopify_max.inventory.shopify_side", "shopify_max.inventory.targets",
                  "shopify_max.shopify.hook", "shopify_max.exactmax.hook", "shopify_max.privacy")


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _stdout_to(path: Path) -> Iterator[None]:
    """Point file descriptor 1 at ``path`` until the block ends (processes forked meanwhile keep it)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with path.open("ab") as target:
        os.dup2(target.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def execution_api() -> Iterator[str]:
    """Airflow's Task Execution API on a free loopback port until the block ends: what LocalExecutor workers talk
    to (``airflow api-server`` serves it too, but the demo needs neither the UI nor its port 8080). It checks the
    workers' JWTs with the Airflow home's ``[api_auth] jwt_secret``, as the API server does."""
    from airflow.api_fastapi.common.dagbag import create_dag_bag
    from airflow.api_fastapi.execution_api.app import create_task_execution_api_app
    from airflow.configuration import conf

    from shopify_max.http_server import serve_in_thread

    if not (conf.get("api_auth", "jwt_secret", fallback=None) or conf.get("api_auth", "jwt_private_key_path", fallback=None)):
        # A home without a key (``airflow db migrate`` writes one): this process both signs and checks the tokens.
        conf.set("api_auth", "jwt_secret", secrets.token_urlsafe(64))
    app = create_task_execution_api_app()
    app.state.dag_bag = create_dag_bag()
    with serve_in_thread(app) as url, _environ({"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/"}):
        yield url


@contextmanager
def demo_executor(log_dir: Path) -> Iterator[None]:
    """Everything :func:`run_dags` needs around ``dag.test(use_executor=True)``, undone afterwards. Task log files
    are written at INFO whatever the console shows; while the console is quiet (``main`` raised the level and
    disabled logging), the copy of each task's log the workers print goes to ``log_dir/demo-executor.log`` instead
    of the terminal, and logging is enabled again, since the processes forked meanwhile inherit the switch."""
    quiet = os.environ.get(LOGGING_LEVEL, "INFO").upper() not in ("DEBUG", "INFO")
    for module in TASK_LIBRARIES:
        importlib.import_module(module)
    with ExitStack() as stack:
        stack.callback(logging.disable, logging.root.manager.disable)
        logging.disable(logging.NOTSET)
        stack.enter_context(_environ({**DEMO_EXECUTOR_SETTINGS, **({LOGGING_LEVEL: "INFO"} if quiet else {})}))
        if quiet:
            log_dir.mkdir(parents=True, exist_ok=True)
            stack.enter_context(_stdout_to(log_dir / "demo-executor.log"))
        stack.enter_context(execution_api())
        yield


def apply_fulfilment_mix() -> None:
    """What MAX does after orders arrive, before the refunds and fulfilment runs: the gateway sandbox's realistic mix
    of partial shipments with several tracking numbers, invoices and a short close (``sandboxes.exactmax.scenarios``)."""
    request = Request("http://127.0.0.1:8702/_sandbox/fulfilment-mix", data=b"{}", method="POST", headers={
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(b"max-sandbox:max-sandbox-password").decode()})
    with urlopen(request, timeout=60) as response:  # noqa: S310 - loopback sandbox URL
        done = json.loads(response.read())
    print(f"   MAX shipped, invoiced or closed {len(done['orders'])} exported order(s) (the fulfilment mix)",
          flush=True)


# Steps between DAG runs: what the other system does meanwhile, so each flow has work to do.
# (Refunds run before fulfilment: the fulfilment run writes status metafields, which moves the orders' updatedAt past
# this manual run's poll window; the next scheduled refunds run would find them all the same.)
BEFORE_DAG = {"refunds_to_max": apply_fulfilment_mix}


def run_dags(dag_ids: tuple[str, ...], before: dict | None = None) -> list[tuple[str, str, float, dict[str, object]]]:
    """Run each DAG once, for real, with the configured executor (``dag.test(use_executor=True)``): every task runs
    in a LocalExecutor worker's task process and writes its log file under ``$AIRFLOW_HOME/logs``
    (``dag_id=…/run_id=…/task_id=…/attempt=N.log``), where the UI and the REST API read it. ``before`` maps a DAG
    id to a step run just before it."""
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    results = []
    with demo_executor(Path(conf.get("logging", "base_log_folder"))):
        for dag_id in dag_ids:
            if before and dag_id in before:
                before[dag_id]()
            started = time.perf_counter()
            dag_run = bag.dags[dag_id].test(use_executor=True)
            elapsed = time.perf_counter() - started
            results.append((dag_id, str(dag_run.state), elapsed, task_return_values(dag_id, dag_run.run_id)))
    # The process now holds GX, pandas and the API app: frozen, they are left out of the garbage collection at exit,
    # which would otherwise take seconds to walk objects that die with the process anyway.
    gc.freeze()
    return results


def serve(log_dir: Path) -> int:
    """``make sandboxes``: the demo's sandboxes in the foreground until Ctrl+C (or SIGTERM); then all stop."""

    def stop(_signum, _frame) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell may have started us ignoring it
        signal.signal(signum, stop)
    print("Shopify ⇄ Exact MAX sandboxes, as `make demo` runs them (for `make ui`)")
    try:
        with running_sandboxes(log_dir):
            print(f"   logs: {log_dir}\n   Ctrl+C stops them.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\n   sandboxes stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag", action="append", help="run only this DAG (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's task logs")
    parser.add_argument("--serve", action="store_true",
                        help="only start the sandboxes, as the demo does, and keep them running until Ctrl+C")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(PROJECT_ROOT / ".airflow" / "logs" / "sandboxes")
    dag_ids = tuple(args.dag) if args.dag else DAG_ORDER
    if not args.verbose:
        # dag.test() logs every task step; the summary below is the point. `--verbose` shows it all.
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
        logging.disable(logging.WARNING)

    print("Shopify ⇄ Exact MAX demo")
    with ExitStack() as stack:
        stack.enter_context(running_sandboxes(PROJECT_ROOT / ".airflow" / "logs" / "sandboxes"))
        results = run_dags(dag_ids, before=BEFORE_DAG)

    print("\nWhat each run did:")
    failed = 0
    for dag_id, state, elapsed, values in results:
        failed += state != "success"
        print(f"  {dag_id:<24} {state:<8} {elapsed:5.1f} s")
        for task_id, value in sorted(values.items()):
            print(f"      {task_id}: {json.dumps(value, default=str, sort_keys=True)}")
    print(f"\n{len(results) - failed} of {len(results)} DAG runs succeeded."
          " Open the Airflow UI with `make ui` to see them, their logs and XComs.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
