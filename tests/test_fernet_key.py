"""The Airflow home's Fernet key decrypts every connection password: it is never readable by other users."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shopify_max.airflow_glue.fernet_key import ensure_fernet_key

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    previous = os.umask(0o022)  # the usual default: new files world-readable
    yield
    os.umask(previous)


def test_a_new_key_is_created_readable_by_its_owner_only(tmp_path, permissive_umask):
    key = tmp_path / "home" / "fernet.key"
    assert ensure_fernet_key(key) is True
    assert _mode(key) == 0o600
    Fernet(key.read_text().strip())  # a usable key


def test_an_existing_world_readable_key_is_kept_and_its_mode_tightened(tmp_path, permissive_umask):
    key = tmp_path / "fernet.key"
    original = Fernet.generate_key().decode() + "\n"
    key.write_text(original)
    key.chmod(0o644)
    assert ensure_fernet_key(key) is False
    assert key.read_text() == original and _mode(key) == 0o600


def test_an_empty_key_file_is_replaced_by_a_new_owner_only_key(tmp_path, permissive_umask):
    key = tmp_path / "fernet.key"
    key.touch(mode=0o666)
    assert ensure_fernet_key(key) is True
    assert key.read_text().strip() and _mode(key) == 0o600


def test_the_makefile_recipe_creates_the_key_0600_and_fixes_an_existing_home(tmp_path, permissive_umask):
    """Runs the airflow-init recipe's own key commands (from `make -n`) in a temporary Airflow home."""
    home = tmp_path / "airflow-home"
    stamp = PROJECT_ROOT / ".venv" / ".installed"
    printed = subprocess.run(["make", "-n", "-o", str(stamp),
                              "airflow-init", f"AIRFLOW_HOME={home}", f"STAMP={stamp}"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    key_commands = [line for line in printed.splitlines() if "fernet" in line or "mkdir" in line]
    assert key_commands, printed
    env = {**os.environ}
    for _run in ("a fresh home", "an existing home"):
        subprocess.run(["bash", "-c", "set -e\n" + "\n".join(key_commands)], cwd=PROJECT_ROOT, env=env, check=True,
                       capture_output=True)
        assert _mode(home / "fernet.key") == 0o600, _run
        (home / "fernet.key").chmod(0o644)  # a home created by an older Makefile
