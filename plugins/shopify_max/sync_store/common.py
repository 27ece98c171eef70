"""What every table module of the sync store shares: the engine it works on, the dialect's upsert, and how a
payload is stored (redacted text)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from shopify_max.redaction import redact, redact_text


class TableAccess:
    """Base of the table modules that make up :class:`~shopify_max.sync_store.store.SyncStore`: each works on
    the same engine, and each public method is one transaction."""

    engine: Engine


def insert_for(conn: Connection):  # noqa: ANN201 - dialect-specific insert constructor
    """The dialect's INSERT, which has ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def stored_text(value: Any) -> str | None:
    """A payload as stored, after redaction: strings stay strings, the rest becomes JSON."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return redact_text(value)
    return json.dumps(redact(value), default=str, sort_keys=True)
