"""``make ui``: ``airflow standalone`` that stops, with every process it started, on Ctrl+C or SIGTERM.

``airflow standalone`` alone does not: a SIGTERM left the scheduler, DAG processor, API server and triggerer
running (re-parented to init), and a Ctrl+C left the scheduler and its LocalExecutor workers. So it runs here
in a session of its own, and on Ctrl+C, SIGTERM or SIGHUP (or when it exits) every process of that session
and every descendant gets SIGTERM, and whatever is still there after ``GRACE_S`` gets SIGKILL::

    python -m shopify_max.airflow_glue.standalone                  # airflow standalone
    python -m shopify_max.airflow_glue.standalone -- CMD [ARG...]  # any other command, the same way (tests)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

GRACE_S = 10.0  # what a component gets to stop by itself before SIGKILL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _in_session(process: psutil.Process, session_id: int) -> bool:
    try:
        return os.getsid(process.pid) == session_id
    except (OSError, psutil.Error):
        return False


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent, maybe init, has not reaped it yet)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def process_tree(root_pid: int) -> list[psutil.Process]:
    """The root, its descendants, and every process still in its session (those re-parented to init)."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(root_pid)
        found[root.pid] = root
        for child in root.children(recursive=True):
            found[child.pid] = child
    for process in psutil.process_iter():
        if process.pid not in found and process.pid != os.getpid() and _in_session(process, root_pid):
            found[process.pid] = process
    return [process for process in found.values() if _running(process)]


def _wait_stopped(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Wait until each process has exited (zombies count as exited); return those still running."""
    deadline = time.monotonic() + timeout_s
    alive = [process for process in processes if _running(process)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [process for process in alive if _running(process)]
    return alive


def stop_process_tree(root_pid: int, grace_s: float = GRACE_S) -> int:
    """SIGTERM to the whole tree at once, SIGKILL after ``grace_s`` to what is left; repeated for anything
    started meanwhile. Returns how many processes were stopped."""
    stopped: set[int] = set()
    for _round in range(5):
        tree = [process for process in process_tree(root_pid) if process.pid not in stopped]
        if not tree:
            break
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        for process in _wait_stopped(tree, grace_s):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        _wait_stopped(tree, 5)
        stopped |= {process.pid for process in tree}
    return len(stopped)


def run(command: list[str]) -> int:
    """Run ``command`` in a session of its own until it exits or a stop signal arrives; then stop its tree."""
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    process = subprocess.Popen(command, start_new_session=True)
    try:
        while not received and process.poll() is None:
            time.sleep(0.2)
    finally:
        if received:
            print(f"\nstopping `{' '.join(command)}` and every process it started ...", file=sys.stderr, flush=True)
        count = stop_process_tree(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if received:
            print(f"stopped ({count} processes)", file=sys.stderr, flush=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        return 128 + received[0]
    return process.returncode or 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    command = args or [sys.executable, "-m", "airflow", "standalone"]
    return run(command)


if __name__ == "__main__":
    raise SystemExit(main())
