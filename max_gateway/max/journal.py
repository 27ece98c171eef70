"""The writer's journal: which multi-call writes the gateway started and has not finished, on its own disk.

MAXUpdate takes one record per call, so an order is a header call and one call per line (and a credit memo its
receipts). A gateway that dies between two calls leaves MAX holding part of the order. When the same document
comes back, the journal is how the gateway knows the order under that CUSTPO is its own unfinished write of this
very document (same digest), and not an order someone else entered or another document put there: only then are
the missing calls made. An order the journal does not name as unfinished is never touched.

The journal keeps the document itself while the write is unfinished, so that the gateway can finish the order on
its own the next time anyone looks it up (``MaxBackend.finish_unfinished``): a client that settles a lost answer
by looking the CUSTPO up then finds the whole order, never a part of it. The document holds a customer's name and
address, so it is dropped the moment the write is finished or undone; a finished row keeps only the CUSTPO, the
ORDNUM and the digest, and is deleted after ``RETENTION``.

The digest is of the order as checked (its typed header values and lines), not of the bytes: the same order sent
again with other whitespace, line endings or element order is the same document.

SQLite (standard library) beside the gateway, one row per (CUSTPO, STYPE).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

RETENTION = timedelta(days=30)


def order_digest(stype: str, header: dict, lines: list[tuple[dict, list[str], str | None]]) -> str:
    """The digest of an order as checked: type, header values and lines (each row, its notes and RESTCK)."""
    canonical = json.dumps([stype, sorted(header.items()),
                            sorted([sorted(row.items()), notes, restock] for row, notes, restock in lines)],
                           default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    custpo: str
    stype: str
    digest: str
    ordnum: str | None
    finished: bool
    document: bytes | None  # kept while unfinished


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
                         "document BLOB, PRIMARY KEY (custpo, stype))")
        self._db.execute("DELETE FROM order_writes WHERE finished_at < ?",
                         ((datetime.now(UTC) - RETENTION).isoformat(),))

    def get(self, custpo: str, stype: str) -> JournalEntry | None:
        entries = self._select("custpo = ? AND stype = ?", (custpo, stype))
        return entries[0] if entries else None

    def unfinished(self, *, custpo: str | None = None, ordnum: str | None = None) -> list[JournalEntry]:
        """The unfinished writes of this CUSTPO (any STYPE) or of this ORDNUM."""
        if custpo is not None:
            return self._select("finished_at IS NULL AND custpo = ?", (custpo,))
        return self._select("finished_at IS NULL AND ordnum = ?", (ordnum,))

    def _select(self, where: str, parameters: tuple) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute("SELECT custpo, stype, digest, ordnum, finished_at, document FROM order_writes "
                                    f"WHERE {where}", parameters).fetchall()  # noqa: S608 - fixed clauses only
        return [JournalEntry(row[0], row[1], row[2], row[3], row[4] is not None, row[5]) for row in rows]

    def start(self, custpo: str, stype: str, digest: str, document: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO order_writes (custpo, stype, digest, ordnum, finished_at, "
                             "started_at, document) VALUES (?, ?, ?, NULL, NULL, ?, ?)",
                             (custpo, stype, digest, datetime.now(UTC).isoformat(), document))

    def numbered(self, custpo: str, stype: str, ordnum: str) -> None:
        with self._lock:
            self._db.execute("UPDATE order_writes SET ordnum = ? WHERE custpo = ? AND stype = ?", (ordnum, custpo, stype))

    def finish(self, custpo: str, stype: str) -> None:
        with self._lock:
            self._db.execute("UPDATE order_writes SET finished_at = ?, document = NULL WHERE custpo = ? AND stype = ?",
                             (datetime.now(UTC).isoformat(), custpo, stype))

    def forget(self, custpo: str, stype: str) -> None:
        """The write was undone (its order deleted): nothing of it is left to finish."""
        with self._lock:
            self._db.execute("DELETE FROM order_writes WHERE custpo = ? AND stype = ?", (custpo, stype))

    def close(self) -> None:
        with self._lock:
            self._db.close()
