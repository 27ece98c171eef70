"""``SyncStore``: everything the integration remembers between runs, behind one small API.

The class is only the composition: each table (or concern) is a module of its own, and ``SyncStore`` inherits
their methods, so a caller writes ``store.record_error(...)`` or ``store.claim_inbox(...)`` on one object. Each
method is one transaction. Rules it guarantees (DESIGN.md, correctness rules):
- an id mapping recorded twice is a no-op; a conflicting one raises ``IdMappingConflict`` (:mod:`.id_map`);
- an order's line map recorded twice is a no-op; a different one raises ``OrderLineMapConflict``
  (:mod:`.order_line_map`);
- a MAX shipment is staged once, and each Shopify fulfilment made for it is recorded at once; one writer per
  order holds the fulfilment lease (:mod:`.shipment_sync`); an invoice is captured at most once
  (:mod:`.order_status_sync`); a refund is staged once and written by one writer at a time (:mod:`.refund_stage`);
- a webhook delivery is stored once, whatever its retries and duplicates (:mod:`.inbox`);
- two workers claiming error-queue items never get the same item (:mod:`.error_queue`);
- audit entries are redacted before they are written (:mod:`.audit_log`), and PII has a retention period
  (:mod:`.personal_data`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from shopify_max.sync_store import migrator
from shopify_max.sync_store.audit_log import AuditLog
from shopify_max.sync_store.customer_sync import CustomerSync
from shopify_max.sync_store.engine import create_sync_store_engine
from shopify_max.sync_store.error_queue import ErrorQueue
from shopify_max.sync_store.error_queue_search import ErrorQueueSearch
from shopify_max.sync_store.id_map import IdMap
from shopify_max.sync_store.inbox import Inbox
from shopify_max.sync_store.inventory import InventoryState
from shopify_max.sync_store.order_line_map import OrderLineMap
from shopify_max.sync_store.order_stage import OrderStage
from shopify_max.sync_store.order_status_sync import OrderStatusSync
from shopify_max.sync_store.personal_data import PersonalData
from shopify_max.sync_store.refund_stage import RefundStage
from shopify_max.sync_store.run_outcome_log import RunOutcomeLog
from shopify_max.sync_store.shipment_sync import ShipmentSync
from shopify_max.sync_store.watermarks import Watermarks


class SyncStore(IdMap, Inbox, ErrorQueue, ErrorQueueSearch, AuditLog, Watermarks, InventoryState, OrderStage, PersonalData,
                RunOutcomeLog, OrderLineMap, ShipmentSync, OrderStatusSync, RefundStage, CustomerSync):
    """The sync store on one SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = True) -> SyncStore:
        store = cls(create_sync_store_engine(url))
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> str:
        """Upgrade the schema to the newest migration when it is behind; returns the revision."""
        head = migrator.head_revision()
        if migrator.current_revision(self.engine) != head:
            migrator.upgrade_to_head(self.engine)
        return head

    def schema_revision(self) -> str | None:
        return migrator.current_revision(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
