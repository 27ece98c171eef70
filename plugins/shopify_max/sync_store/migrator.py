"""Versioned schema migrations for the sync store (Alembic, run in-process)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Its own version table, so the store can never be confused with another Alembic-managed schema.
VERSION_TABLE = "sync_store_schema_version"
# Any constant works; it only has to be the same for every worker (PostgreSQL advisory lock).
_PG_MIGRATION_LOCK_ID = 7_310_042_811


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Bring the schema to the newest revision; safe when several workers start at once."""
    upgrade_to(engine, "head")
    return head_revision()


def upgrade_to(engine: Engine, revision: str) -> None:
    """Upgrade to ``revision`` under a lock (tests use it to start from an older schema)."""
    config = _alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": _PG_MIGRATION_LOCK_ID})
        # On SQLite the engine begins every transaction with BEGIN IMMEDIATE (engine.py): same effect.
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
