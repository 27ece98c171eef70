"""DAG-file parse time per file, median of several runs, each in a fresh interpreter.

A fresh process per sample is what the DAG processor pays: the shared cost of importing Airflow is
reported once (an empty DAG file), and each DAG file's own cost is its time minus that baseline.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from figures import Figure

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_MEASURE = r"""
import importlib.util, sys, time
import airflow.sdk  # the shared cost every DAG file pays, measured separately
path = sys.argv[1]
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""
_BASELINE = r"""
import time
started = time.perf_counter()
import airflow.sdk
print(time.perf_counter() - started)
"""


def _sample(code: str, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
           "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", tempfile.gettempdir() + "/shopify-max-bench-airflow")}
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[Figure]:
    repeats = 3 if quick else 7
    figures = [Figure("import airflow.sdk (shared by every DAG file)",
                      statistics.median(_sample(_BASELINE) for _ in range(repeats)), "s",
                      note=f"median of {repeats} fresh interpreters")]
    for path in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        seconds = statistics.median(_sample(_MEASURE, str(path)) for _ in range(repeats))
        figures.append(Figure(f"dag parse: {path.name}", seconds * 1000, "ms", ratio=seconds / 1.0,
                              note=f"median of {repeats}, after airflow.sdk import; ratio = share of the 1 s budget"))
    return figures
