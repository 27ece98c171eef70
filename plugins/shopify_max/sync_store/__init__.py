"""The sync store: the integration's own database (DESIGN.md, Components).

Airflow 3 forbids tasks from touching the metadata DB, so everything the integration must remember
between runs lives here: ``id_map``, ``inbox``, ``error_queue``, ``audit_log``, ``watermarks`` and
``inventory_shadow``, with ``inventory_item`` and ``inventory_target`` beside it. SQLite by default, PostgreSQL in CI and production; schema changes go through
the Alembic migrations in ``migrations/``.
"""

from shopify_max.sync_store.store import (
    AuditEntry,
    ErrorItem,
    IdMappingConflict,
    InboxDelivery,
    InboxRow,
    InventoryItemRow,
    InventoryTarget,
    StagedOrder,
    SyncStore,
)

__all__ = ["AuditEntry", "ErrorItem", "IdMappingConflict", "InboxDelivery", "InboxRow", "InventoryItemRow", "InventoryTarget", "StagedOrder", "SyncStore"]
