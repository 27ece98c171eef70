"""One attempt of the export task in a process of its own, as an Airflow worker runs it (for the race tests).

``python export_attempt.py <sync store url> <run id> <task id> <write lease seconds> [export|cancel] [start gate
file]``: with a gate file, it imports everything, prints ``ready``, and starts once the file exists. The
gateway connection comes from ``AIRFLOW_CONN_EXACTMAX_DEFAULT``. Prints the step's counts as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.orders.pipeline import apply_cancellations, export_staged_orders
from shopify_max.sync_store import SyncStore


def main(store_url: str, run_id: str, task_id: str, lease_seconds: str, step: str = "export",
         start_gate: str = "") -> None:
    store = SyncStore.from_url(store_url, migrate=False)
    hook = ExactMaxHook(backoff_base=0.05, max_retry_wait=0.2)
    if start_gate:  # started early (Python and Airflow imports take seconds on a busy machine), run on a signal
        print("ready", flush=True)
        while not Path(start_gate).exists():
            time.sleep(0.01)
    lease = timedelta(seconds=float(lease_seconds))
    run = export_staged_orders if step == "export" else apply_cancellations
    print(json.dumps(run(store, hook, run_id=run_id, task_id=task_id, write_lease=lease)), flush=True)
    store.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
