"""The writer's journal: which multi-call writes the gateway started and has not finished, on its own disk.

MAXUpdate takes one record per call, so an order is a header call and one call per line (and a credit memo its
receipts). A gateway that dies between two calls leaves MAX holding part of the order. When the same document
comes back, the journal is how the gateway knows the order under that CUSTPO is its own unfinished write of this
very document (same digest), and not an order someone else entered or another document put there: only then are
the missing calls made. An order the journal does not name as unfinished is never touched.

SQLite (standard library) beside the gateway: one row per (CUSTPO, STYPE), no personal data (the CUSTPO and a
digest of the document). Finished rows are deleted after ``RETENTION``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

RETENTION = timedelta(days=30)


def document_digest(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    custpo: str
    stype: str
    digest: str
    ordnum: str | None
    finished: bool


class WriteJournal:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a started write is on disk before MAXUpdate is called
        self._db.execute("CREATE TABLE IF NOT EXISTS order_writes (custpo TEXT NOT NULL, stype TEXT NOT NULL, "
                         "digest TEXT NOT NULL, ordnum TEXT, finished_at TEXT, started_at TEXT NOT NULL, "
                         "PRIMARY KEY (custpo, stype))")
        self._db.execute("DELETE FROM order_writes WHERE finished_at < ?",
                         ((datetime.now(UTC) - RETENTION).isoformat(),))

    def get(self, custpo: str, stype: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute("SELECT digest, ordnum, finished_at FROM order_writes WHERE custpo = ? AND stype = ?",
                                   (custpo, stype)).fetchone()
        return None if row is None else JournalEntry(custpo, stype, row[0], row[1], row[2] is not None)

    def start(self, custpo: str, stype: str, digest: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO order_writes (custpo, stype, digest, ordnum, finished_at, "
                             "started_at) VALUES (?, ?, ?, NULL, NULL, ?)",
                             (custpo, stype, digest, datetime.now(UTC).isoformat()))

    def numbered(self, custpo: str, stype: str, ordnum: str) -> None:
        with self._lock:
            self._db.execute("UPDATE order_writes SET ordnum = ? WHERE custpo = ? AND stype = ?", (ordnum, custpo, stype))

    def finish(self, custpo: str, stype: str) -> None:
        with self._lock:
            self._db.execute("UPDATE order_writes SET finished_at = ? WHERE custpo = ? AND stype = ?",
                             (datetime.now(UTC).isoformat(), custpo, stype))

    def forget(self, custpo: str, stype: str) -> None:
        """The write was undone (its order deleted): nothing of it is left to finish."""
        with self._lock:
            self._db.execute("DELETE FROM order_writes WHERE custpo = ? AND stype = ?", (custpo, stype))

    def close(self) -> None:
        with self._lock:
            self._db.close()
