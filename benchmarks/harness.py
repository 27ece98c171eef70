"""What the end-to-end benchmarks share: a sandbox in its own process, environment overrides, a full bucket."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from figures import free_port


@contextmanager
def serve_process(argv: list[str], ready_path: str, env: dict[str, str], log: Path,
                  start_timeout: float = 900) -> Iterator[int]:
    """Run ``argv --port PORT`` (a sandbox) until the block ends; yields the port once ``ready_path`` answers."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen([*argv, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}{ready_path}", timeout=2).status_code < 500:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{' '.join(argv[1:3])} did not start; see {log}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set for the block, as it was after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def bucket(admin: requests.Session, base: str, timeout: float = 60) -> dict:
    """The Shopify sandbox's cost bucket now."""
    return admin.get(f"{base}/_sandbox/state", timeout=timeout).json()["bucket"]


def wait_for_full_bucket(admin: requests.Session, base: str) -> dict:
    """Start each measurement with a full bucket, as a run that follows a quiet quarter-hour does."""
    while True:
        state = bucket(admin, base)
        missing = state["maximumAvailable"] - state["currentlyAvailable"]
        if missing <= 1:
            return state
        time.sleep(missing / state["restoreRate"] + 0.05)
