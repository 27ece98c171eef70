"""Alembic environment for the sync store. Run through ``SyncStore.migrate()``, not the alembic CLI."""

from __future__ import annotations

from alembic import context

from shopify_max.sync_store.migrator import VERSION_TABLE
from shopify_max.sync_store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
