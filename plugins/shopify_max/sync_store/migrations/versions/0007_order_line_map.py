"""order_line_map: which Shopify line each MAX sales-order row (ORDNUM, LINNUM, DELNUM) came from.

Recorded at export (and when an export is settled by ``id_map`` or the CUSTPO lookup), so that the fulfilment
flow maps a MAX shipment or invoice line back to its Shopify line item, with the UOM factor used. Orders exported
before this revision have no rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_line_map",
        sa.Column("ordnum", sa.String(16), primary_key=True),
        sa.Column("linnum", sa.String(2), primary_key=True),
        sa.Column("delnum", sa.String(2), primary_key=True),
        sa.Column("order_gid", sa.String(255), nullable=False),
        sa.Column("line_kind", sa.String(16), nullable=False),
        sa.Column("line_item_gid", sa.String(255)),
        sa.Column("sku", sa.String(255)),
        sa.Column("part_number", sa.String(50), nullable=False),
        sa.Column("sales_uom", sa.String(8)),
        sa.Column("uom_factor", sa.Integer, nullable=False),
        sa.Column("max_quantity", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_order_line_map_order_gid", "order_line_map", ["order_gid"])


def downgrade() -> None:
    op.drop_index("ix_order_line_map_order_gid", table_name="order_line_map")
    op.drop_table("order_line_map")
