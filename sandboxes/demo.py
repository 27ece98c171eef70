"""``make demo``: start the sandboxes, run every DAG once for real, print what each run did.

Runs outside tasks, against the Airflow home that ``make airflow-init`` prepared (SQLite metadata DB,
settings loaded from ``airflow_settings.yaml``). Each DAG runs through ``dag.test()``: a real DAG run,
task by task, in this process. The sandboxes run as child processes and stop when the demo ends.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

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


def run_dags(dag_ids: tuple[str, ...]) -> list[tuple[str, str, float, dict[str, object]]]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    results = []
    for dag_id in dag_ids:
        started = time.perf_counter()
        dag_run = bag.dags[dag_id].test()
        elapsed = time.perf_counter() - started
        results.append((dag_id, str(dag_run.state), elapsed, task_return_values(dag_id, dag_run.run_id)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag", action="append", help="run only this DAG (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's task logs")
    args = parser.parse_args(argv)
    dag_ids = tuple(args.dag) if args.dag else DAG_ORDER
    if not args.verbose:
        # dag.test() logs every task step; the summary below is the point. `--verbose` shows it all.
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
        logging.disable(logging.WARNING)

    print("Shopify ⇄ Exact MAX demo")
    with ExitStack() as stack:
        stack.enter_context(running_sandboxes(PROJECT_ROOT / ".airflow" / "logs" / "sandboxes"))
        results = run_dags(dag_ids)

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
