"""The fulfilment flow's state: shipments on their way to Shopify, the per-order write lease, what Shopify was last
told about each order's MAX status, and MAX invoices with their capture and payments (docs/fulfilment.md).

- ``shipment_sync``: one row per MAX shipment, written before the shipments cursor moves past it; the
  fulfilments made for it ({location: fulfillment gid}) are recorded the moment each is learned;
- ``fulfilment_lease``: one writer per MAX order for every Shopify write of the flow;
- ``order_status_sync``: the status, invoices and payment last pushed to each order;
- ``invoice_sync``: each invoice's amount check, its capture (at most one) and what MAX has recorded as paid.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _error_queue_link(table: str) -> sa.Column:
    return sa.Column("error_queue_id", sa.Integer, sa.ForeignKey("error_queue.id", name=f"fk_{table}_error_queue_id",
                                                                 ondelete="SET NULL"))


def upgrade() -> None:
    op.create_table(
        "shipment_sync",
        sa.Column("shipment_id", sa.String(32), primary_key=True),
        sa.Column("ordnum", sa.String(16), nullable=False),
        sa.Column("order_gid", sa.String(255)),
        sa.Column("shipment_json", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome_code", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("fulfillments_json", sa.Text),
        sa.Column("tracking_json", sa.Text),
        sa.Column("tracking_pending_json", sa.Text),
        sa.Column("sending_since", UtcDateTime),
        _error_queue_link("shipment_sync"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("run_id", sa.String(250)),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_shipment_sync_ordnum", "shipment_sync", ["ordnum"])
    op.create_index("ix_shipment_sync_status", "shipment_sync", ["status"])
    op.create_table(
        "fulfilment_lease",
        sa.Column("ordnum", sa.String(16), primary_key=True),
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "order_status_sync",
        sa.Column("ordnum", sa.String(16), primary_key=True),
        sa.Column("order_gid", sa.String(255), nullable=False),
        sa.Column("max_status", sa.String(32)),
        sa.Column("pushed_digest", sa.String(64)),
        sa.Column("due", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("final", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("closed_in_shopify", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("marked_paid", sa.Boolean, nullable=False, server_default="0"),
        _error_queue_link("order_status_sync"),
        sa.Column("checked_at", UtcDateTime),
        sa.Column("pushed_at", UtcDateTime),
        sa.Column("run_id", sa.String(250)),
    )
    op.create_index("ix_order_status_sync_due", "order_status_sync", ["due", "final"])
    op.create_table(
        "invoice_sync",
        sa.Column("invce", sa.String(16), primary_key=True),
        sa.Column("ordnum", sa.String(16), nullable=False),
        sa.Column("order_gid", sa.String(255)),
        sa.Column("invoice_json", sa.Text, nullable=False),
        sa.Column("check_status", sa.String(16), nullable=False),
        sa.Column("difference", sa.String(32)),
        sa.Column("capture_status", sa.String(16), nullable=False),
        sa.Column("capture_transaction_gid", sa.String(255)),
        sa.Column("capture_started_at", UtcDateTime),
        sa.Column("paid_total", sa.String(32)),
        _error_queue_link("invoice_sync"),
        sa.Column("run_id", sa.String(250)),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_invoice_sync_ordnum", "invoice_sync", ["ordnum"])


def downgrade() -> None:
    op.drop_index("ix_invoice_sync_ordnum", table_name="invoice_sync")
    op.drop_table("invoice_sync")
    op.drop_index("ix_order_status_sync_due", table_name="order_status_sync")
    op.drop_table("order_status_sync")
    op.drop_table("fulfilment_lease")
    op.drop_index("ix_shipment_sync_status", table_name="shipment_sync")
    op.drop_index("ix_shipment_sync_ordnum", table_name="shipment_sync")
    op.drop_table("shipment_sync")
