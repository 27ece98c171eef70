"""The sync store: the integration's own database (DESIGN.md, Components; data model: docs/sync-store.md).

Airflow 3 forbids tasks from touching the metadata DB, so everything the integration must remember between runs
lives here. SQLite by default, PostgreSQL in CI and production; schema changes go through the Alembic migrations
in ``migrations/`` (tables: ``tables.py``).

One module per table or concern, each a class of methods over the same engine; :class:`SyncStore` (``store.py``)
is only their composition (mixins), so callers use one object:

- ``id_map.py``: Shopify gid ⇄ MAX key;
- ``inbox.py``: webhook deliveries, stored once, claimed, processed;
- ``error_queue.py``: bad records with a reason a person can act on, and their life cycle;
- ``audit_log.py``: every payload sent or received, redacted;
- ``watermarks.py``: where each flow's last read ended;
- ``inventory.py``: the inventory shadow, Shopify's items by SKU, the targets computed from MAX;
- ``order_line_map.py``: which Shopify line each exported MAX order row came from;
- ``shipment_sync.py``: MAX shipments on their way to Shopify, and the per-order fulfilment lease;
- ``order_status_sync.py``: MAX status, invoices and payments last pushed to each order, and each invoice's capture;
- ``refund_stage.py``: Shopify refunds on their way to MAX as credit memos, with their write leases;
- ``order_stage.py``: orders on their way to MAX, their versions, write leases and run outcomes;
- ``personal_data.py``: the PII retention purge, and the rows a privacy request reads and rewrites.

Every status, stage and outcome stored is an enum of ``states.py`` (one registry); shared helpers are in
``common.py``.
"""

from shopify_max.sync_store.audit_log import AuditEntry
from shopify_max.sync_store.error_queue import ErrorItem
from shopify_max.sync_store.id_map import IdMappingConflict
from shopify_max.sync_store.inbox import InboxDelivery, InboxRow
from shopify_max.sync_store.inventory import InventoryItemRow, InventoryTarget
from shopify_max.sync_store.order_line_map import OrderLineMapConflict, OrderLineMapRow
from shopify_max.sync_store.order_stage import OrderOutcome, StagedOrder
from shopify_max.sync_store.states import (
    ErrorEntity,
    ErrorStatus,
    InboxStatus,
    InventoryErrorStage,
    OrderErrorStage,
    OrderStageStatus,
    PrivacyErrorStage,
    RunOutcome,
    RunOutcomeCode,
)
from shopify_max.sync_store.store import SyncStore

__all__ = [
    "AuditEntry", "ErrorEntity", "ErrorItem", "ErrorStatus", "IdMappingConflict", "InboxDelivery", "InboxRow",
    "InboxStatus", "InventoryErrorStage", "InventoryItemRow", "InventoryTarget", "OrderErrorStage",
    "OrderLineMapConflict", "OrderLineMapRow", "OrderOutcome", "OrderStageStatus", "PrivacyErrorStage", "RunOutcome", "RunOutcomeCode", "StagedOrder", "SyncStore",
]
