"""Create the Airflow home's Fernet key, readable by its owner only: ``python -m shopify_max.airflow_glue.fernet_key PATH``.

The key decrypts every connection password in the metadata DB, so it is created with mode 0600 (never
world-readable, not even for a moment), and a key that already exists is left as it is but has its mode
tightened to 0600. The Makefile's ``airflow-init`` calls this.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

OWNER_ONLY = 0o600


def ensure_fernet_key(path: Path) -> bool:
    """Create a new key at ``path`` unless a non-empty one is there; either way its mode ends 0600.

    Returns True when a key was created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    created = False
    if not path.exists() or path.stat().st_size == 0:
        from cryptography.fernet import Fernet

        key = Fernet.generate_key() + b"\n"
        path.unlink(missing_ok=True)
        # O_EXCL with the mode: the file never exists with wider permissions.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        created = True
    if stat.S_IMODE(path.stat().st_mode) != OWNER_ONLY:
        path.chmod(OWNER_ONLY)
    return created


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m shopify_max.airflow_glue.fernet_key PATH", file=sys.stderr)
        return 2
    path = Path(args[0])
    created = ensure_fernet_key(path)
    print(f"{'created' if created else 'kept'} {path} (mode 0600)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
