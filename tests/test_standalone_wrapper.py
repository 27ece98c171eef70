"""``make ui``'s wrapper (``shopify_max.airflow_glue.standalone``): Ctrl+C stops every process the command
started, including the ones ``airflow standalone`` leaves behind: a child that ignores SIGTERM (as the
scheduler's LocalExecutor workers did) and a grandchild re-parented to init (as the components were after a
SIGTERM). The real ``airflow standalone`` is stopped the same way in ``tests/e2e/test_backfill_cli.py``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from shopify_max.airflow_glue.standalone import GRACE_S, process_tree

pytestmark = pytest.mark.slow

# A stand-in for `airflow standalone`: it exits on SIGTERM and leaves behind a stubborn child and an orphan.
FAKE_STANDALONE = textwrap.dedent("""
    import json, os, signal, subprocess, sys, time
    stubborn = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    # An orphan: its parent exits at once, so init adopts it; it stays in this session.
    launcher = subprocess.Popen([sys.executable, "-c",
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
        "print(p.pid, flush=True)"], stdout=subprocess.PIPE, text=True)
    orphan = int(launcher.stdout.readline())
    launcher.wait()
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump({"root": os.getpid(), "stubborn": stubborn.pid, "orphan": orphan}, f)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(600)
""")


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_ends_every_process_the_command_started(tmp_path, signum):
    script, pids_file = tmp_path / "fake_standalone.py", tmp_path / "pids.json"
    script.write_text(FAKE_STANDALONE)
    # Its own process group, as `make ui` is in the terminal: Ctrl+C is SIGINT to that whole group.
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "shopify_max.airflow_glue.standalone", "--", sys.executable, str(script),
         str(pids_file)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not pids_file.exists():
            assert wrapper.poll() is None and time.monotonic() < deadline, "the fake standalone never started"
            time.sleep(0.1)
        pids = json.loads(pids_file.read_text())
        assert psutil.Process(pids["orphan"]).ppid() != pids["root"]  # really re-parented
        tree = {process.pid for process in process_tree(pids["root"])}
        assert set(pids.values()) <= tree

        started = time.monotonic()
        if signum == signal.SIGINT:
            os.killpg(wrapper.pid, signum)
        else:
            wrapper.send_signal(signum)
        code = wrapper.wait(timeout=GRACE_S + 20)
        took = time.monotonic() - started

        assert code == 128 + signum
        survivors = [pid for pid in tree if _running(pid)]
        assert survivors == [], f"still running after the wrapper exited: {survivors}"
        assert took < GRACE_S + 10  # SIGTERM to all at once, SIGKILL after the grace period
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
        if pids_file.exists():
            for pid in json.loads(pids_file.read_text()).values():
                if _running(pid):
                    os.kill(pid, signal.SIGKILL)


def test_when_the_command_exits_by_itself_its_leftovers_are_stopped_and_its_code_returned(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(textwrap.dedent("""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(child.pid, flush=True)
        sys.exit(3)
    """))
    result = subprocess.run(
        [sys.executable, "-m", "shopify_max.airflow_glue.standalone", "--", sys.executable, str(script)],
        capture_output=True, text=True, timeout=GRACE_S + 20)
    assert result.returncode == 3
    left_behind = int(result.stdout.split()[0])
    assert not _running(left_behind)
