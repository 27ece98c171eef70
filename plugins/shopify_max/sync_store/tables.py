"""Table definitions of the sync store (SQLAlchemy Core). Migrations create them; code reads them here.

The values of every status, stage and outcome column are the enums of :mod:`.states`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from shopify_max.clock import as_utc

metadata = MetaData()


class UtcDateTime(TypeDecorator):
    """Stores aware UTC datetimes; SQLite hands them back naive, so re-attach UTC on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        return None if value is None else as_utc(value)


# Entities whose Shopify gid maps to a MAX key.
ID_MAP_ENTITIES = ("order", "customer", "fulfillment", "refund", "credit_memo", "ship_to")

id_map = Table(
    "id_map",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(32), nullable=False),
    Column("shopify_gid", String(255), nullable=False),
    Column("max_key", String(64), nullable=False),
    Column("run_id", String(250)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("entity", "shopify_gid", name="uq_id_map_entity_shopify_gid"),
    UniqueConstraint("entity", "max_key", name="uq_id_map_entity_max_key"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(255), nullable=False),
    Column("event_id", String(255)),
    Column("topic", String(100), nullable=False),
    Column("shop_domain", String(255)),
    Column("api_version", String(20)),
    Column("triggered_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Column("resource_gid", String(255)),
    Column("payload", Text),
    Column("status", String(16), nullable=False),  # InboxStatus
    Column("processed_at", UtcDateTime),
    Column("payload_purged_at", UtcDateTime),
    # Who claimed the delivery and when; a claim older than the configured time goes back to ``new``, and a
    # delivery claimed ``claims`` times without finishing is a poison message (failed, on the error queue).
    Column("claimed_at", UtcDateTime),
    Column("claimed_by", String(250)),
    Column("claims", Integer, nullable=False, server_default="0"),
    UniqueConstraint("webhook_id", name="uq_inbox_webhook_id"),
    # Event-Id is shared by every delivery of one merchant action; dedupe per topic so that two
    # topics fired by one action are both kept.
    UniqueConstraint("topic", "event_id", name="uq_inbox_topic_event_id"),
    Index("ix_inbox_status_id", "status", "id"),
)

error_queue = Table(
    "error_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(32), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("stage", String(64), nullable=False),  # states.ERROR_STAGES[entity]
    Column("reason", Text, nullable=False),
    Column("detail", Text),
    Column("payload", Text),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # ErrorStatus
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("claimed_by", String(255)),
    Column("claimed_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("payload_purged_at", UtcDateTime),
    # The last action a person (or an error_replay run) took on the item: why, who (run id, user) and when.
    Column("note", Text),
    Column("acted_by", String(500)),
    Column("acted_at", UtcDateTime),
    UniqueConstraint("entity", "record_key", "stage", name="uq_error_queue_entity_key_stage"),
    Index("ix_error_queue_status_id", "status", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    Column("entity", String(32), nullable=False),
    Column("record_key", String(255)),
    Column("direction", String(32), nullable=False),
    Column("request", Text),
    Column("response", Text),
    Column("outcome", String(32), nullable=False),
    Column("duration_ms", Integer),
    Column("contains_pii", Boolean, nullable=False),
    Column("pii_purged_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_audit_log_entity_key", "entity", "record_key"),
    Index("ix_audit_log_created_at", "created_at"),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("flow", String(100), primary_key=True),
    Column("value", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("run_id", String(250)),
)

inventory_shadow = Table(
    "inventory_shadow",
    metadata,
    Column("inventory_item_gid", String(255), primary_key=True),
    Column("location_gid", String(255), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("pushed_at", UtcDateTime, nullable=False),
    Column("run_id", String(250)),
)

# Shopify's inventory items by SKU, as last read. ``match_count`` 1 names the item; 0 (not in Shopify) and > 1
# (the SKU is duplicated; ``item_gids`` lists them) leave ``inventory_item_gid`` empty: never guess which.
inventory_item = Table(
    "inventory_item",
    metadata,
    Column("sku", String(255), primary_key=True),
    Column("inventory_item_gid", String(255)),
    Column("match_count", Integer, nullable=False),
    Column("item_gids", Text, nullable=False),  # JSON list
    Column("refreshed_at", UtcDateTime, nullable=False),
    Column("run_id", String(250)),
)

# What MAX says Shopify should show per SKU × location, as computed by the run in ``run_id`` (replaced each run).
inventory_target = Table(
    "inventory_target",
    metadata,
    Column("sku", String(255), primary_key=True),
    Column("location_gid", String(255), primary_key=True),
    Column("part_number", String(50), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
)


# Which Shopify line each MAX sales-order row (SO_Detail ORDNUM + LINNUM + DELNUM) came from, recorded at export, so
# a MAX shipment or invoice line finds its Shopify line item. ``line_kind`` ``line_item`` names a Shopify line item
# (``line_item_gid``); ``shipping`` is a freight line from a Shopify shipping line (no line item). Quantities are
# whole MAX units: MAX quantity = Shopify quantity x ``uom_factor``. Written once; see ``order_line_map.py``.
order_line_map = Table(
    "order_line_map",
    metadata,
    Column("ordnum", String(16), primary_key=True),
    Column("linnum", String(2), primary_key=True),
    Column("delnum", String(2), primary_key=True),
    Column("order_gid", String(255), nullable=False),
    Column("line_kind", String(16), nullable=False),  # line_item, shipping
    Column("line_item_gid", String(255)),
    Column("sku", String(255)),
    Column("part_number", String(50), nullable=False),
    Column("sales_uom", String(8)),  # None: the part's own sales UOM
    Column("uom_factor", Integer, nullable=False),
    Column("max_quantity", Integer, nullable=False),  # ORGQTY of this row, MAX units
    Column("run_id", String(250)),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_order_line_map_order_gid", "order_gid"),
)


# Orders on their way to MAX. One row per Shopify order; ``status`` moves captured → mapped → validated →
# exporting → exported, or ends skipped / failed (with ``detail``). ``run_id`` is the run that last captured it.
order_stage = Table(
    "order_stage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_gid", String(255), nullable=False),
    Column("order_name", String(100), nullable=False),
    Column("source", String(32), nullable=False),  # webhook, poll, backfill, replay
    Column("shopify_updated_at", UtcDateTime, nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("material_digest", String(64), nullable=False),  # lines, quantities, prices, addresses, total
    Column("order_json", Text),
    Column("status", String(16), nullable=False),  # OrderStageStatus
    Column("mapped_json", Text),
    Column("detail", Text),
    Column("exported_material_digest", String(64)),
    Column("max_ordnum", String(16)),
    Column("run_id", String(250)),
    # What the run that last touched the order decided: pending until it ends exported, skipped or failed.
    Column("run_outcome", String(16)),  # RunOutcome
    Column("run_outcome_reason", Text),  # for a person
    Column("run_outcome_code", String(32)),  # RunOutcomeCode: the kind of outcome, for counting
    # The error-queue item of a failed outcome: a link, never an id parsed out of the reason.
    Column("error_queue_id", Integer, ForeignKey("error_queue.id", name="fk_order_stage_error_queue_id",
                                                 ondelete="SET NULL")),
    Column("claimed_at", UtcDateTime),
    Column("captured_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The write lease: only ``lease_owner`` (one attempt of one task) may write the order to MAX, until
    # ``lease_expires_at``; after that another run may take the order over, settling it by CUSTPO first.
    Column("lease_owner", String(300)),
    Column("lease_expires_at", UtcDateTime),
    # A newer version of the order that arrived while a write to MAX was under way: decided once it settles.
    Column("deferred_json", Text),
    Column("deferred_updated_at", UtcDateTime),
    # Bumped by every change: a decision made on a stale read is not written (optimistic concurrency).
    Column("row_version", Integer, nullable=False, server_default="0"),
    UniqueConstraint("order_gid", name="uq_order_stage_order_gid"),
    Index("ix_order_stage_run_status", "run_id", "status"),
)


# MAX shipments on their way to Shopify (docs/fulfilment.md). A row is written before the shipments cursor moves
# past it, so a crash between the read and the send loses nothing. ``fulfillments_json`` is {Shopify location gid:
# fulfillment gid}, each pair recorded the moment it is learned (sent, or found in Shopify after a lost answer).
shipment_sync = Table(
    "shipment_sync",
    metadata,
    Column("shipment_id", String(32), primary_key=True),
    Column("ordnum", String(16), nullable=False),
    Column("order_gid", String(255)),
    Column("shipment_json", Text, nullable=False),  # the gateway's shipment: lines, ship-via, tracking numbers
    Column("status", String(16), nullable=False),  # ShipmentStatus
    Column("outcome_code", String(32)),  # ShipmentOutcomeCode
    Column("reason", Text),
    Column("fulfillments_json", Text),
    Column("tracking_json", Text),  # the tracking numbers Shopify holds for it
    Column("tracking_pending_json", Text),  # a tracking change read from MAX, not yet in Shopify
    Column("sending_since", UtcDateTime),  # a fulfillmentCreate may have committed without its answer
    Column("error_queue_id", Integer, ForeignKey("error_queue.id", name="fk_shipment_sync_error_queue_id",
                                                 ondelete="SET NULL")),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("run_id", String(250)),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_shipment_sync_ordnum", "ordnum"),
    Index("ix_shipment_sync_status", "status"),
)

# One writer per MAX order at a time for every Shopify write the fulfilment flow makes (fulfilments, tracking,
# status, capture): ``owner`` (one attempt of one task) until ``expires_at``.
fulfilment_lease = Table(
    "fulfilment_lease",
    metadata,
    Column("ordnum", String(16), primary_key=True),
    Column("owner", String(300), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# What Shopify was last told about each exported MAX order: its status, invoices and payment (metafields, tags).
order_status_sync = Table(
    "order_status_sync",
    metadata,
    Column("ordnum", String(16), primary_key=True),
    Column("order_gid", String(255), nullable=False),
    Column("max_status", String(32)),  # the MAX state (fulfilment.order_state), as last read
    Column("pushed_digest", String(64)),  # of the metafields and tags last written
    Column("due", Boolean, nullable=False, server_default="1"),  # touched by a shipment, invoice or payment
    Column("final", Boolean, nullable=False, server_default="0"),  # closed or cancelled, and pushed: no sweeps
    Column("closed_in_shopify", Boolean, nullable=False, server_default="0"),
    Column("marked_paid", Boolean, nullable=False, server_default="0"),
    Column("error_queue_id", Integer, ForeignKey("error_queue.id", name="fk_order_status_sync_error_queue_id",
                                                 ondelete="SET NULL")),
    Column("checked_at", UtcDateTime),
    Column("pushed_at", UtcDateTime),
    Column("run_id", String(250)),
    Index("ix_order_status_sync_due", "due", "final"),
)

# MAX invoices of exported orders: the amount check, the capture made for it (at most one), and its payments.
invoice_sync = Table(
    "invoice_sync",
    metadata,
    Column("invce", String(16), primary_key=True),
    Column("ordnum", String(16), nullable=False),
    Column("order_gid", String(255)),
    Column("invoice_json", Text, nullable=False),  # number, date, net, tax, total, due date, lines
    Column("check_status", String(16), nullable=False),  # pending, ok, mismatch
    Column("difference", String(32)),  # MAX total − what Shopify expects for those lines, when they differ
    Column("capture_status", String(16), nullable=False),  # not_wanted, pending, capturing, captured, not_needed,
    #                                                         not_capturable, blocked (amount mismatch), failed
    Column("capture_transaction_gid", String(255)),
    Column("capture_started_at", UtcDateTime),  # an orderCapture may have committed without its answer
    Column("paid_total", String(32)),  # what MAX has recorded as paid on it
    Column("error_queue_id", Integer, ForeignKey("error_queue.id", name="fk_invoice_sync_error_queue_id",
                                                 ondelete="SET NULL")),
    Column("run_id", String(250)),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_invoice_sync_ordnum", "ordnum"),
)

# Shopify refunds on their way to MAX as credit memos (docs/refunds.md). One row per refund, staged from the
# refunds/create webhook or the poll; ``credit_memo_ordnum`` once exported (also in ``id_map``, entity ``refund``).
refund_stage = Table(
    "refund_stage",
    metadata,
    Column("refund_gid", String(255), primary_key=True),
    Column("order_gid", String(255), nullable=False),
    Column("refund_json", Text, nullable=False),  # the refund as read (lines, shipping, adjustments, transactions)
    Column("source", String(32), nullable=False),  # webhook, poll, backfill
    Column("status", String(16), nullable=False),  # RefundStatus
    Column("outcome_code", String(32)),  # RefundOutcomeCode
    Column("reason", Text),
    Column("credit_memo_ordnum", String(16)),
    Column("credit_memo_total", String(32)),  # what the memo credits, tax included: the order's cap sums these
    Column("error_queue_id", Integer, ForeignKey("error_queue.id", name="fk_refund_stage_error_queue_id",
                                                 ondelete="SET NULL")),
    Column("lease_owner", String(300)),
    Column("lease_expires_at", UtcDateTime),
    Column("run_id", String(250)),
    Column("captured_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_refund_stage_order_gid", "order_gid"),
    Index("ix_refund_stage_status", "status"),
)

# The master-data sync's decision per MAX account: which Shopify customer it is (and by which rule), or why none.
# No personal data: CUSTIDs, gids, rule names. The account data itself is compared with Shopify's each run.
customer_sync = Table(
    "customer_sync",
    metadata,
    Column("custid", String(20), primary_key=True),
    Column("shopify_customer_gid", String(255)),  # the matched (or created) Shopify customer
    Column("decision", String(16), nullable=False),  # matched, ambiguous, unmatched, created, conflict
    Column("matched_by", String(32)),  # id_map, custid_metafield, email, phone, company_postal_code, created
    Column("candidates", Text),  # JSON list of candidate gids (ambiguous) or CUSTIDs (a shared Shopify customer)
    Column("pushed_digest", String(64)),  # of the account data last written to Shopify
    Column("pushed_at", UtcDateTime),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("run_id", String(250)),
    Index("ix_customer_sync_shopify_customer_gid", "shopify_customer_gid"),
)
