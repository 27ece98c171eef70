"""inventory_item and inventory_target: Shopify's inventory items by SKU, and the quantities MAX says to show.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_item",
        sa.Column("sku", sa.String(255), primary_key=True),
        sa.Column("inventory_item_gid", sa.String(255)),
        sa.Column("match_count", sa.Integer, nullable=False),
        sa.Column("item_gids", sa.Text, nullable=False),
        sa.Column("refreshed_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(250)),
    )
    op.create_table(
        "inventory_target",
        sa.Column("sku", sa.String(255), primary_key=True),
        sa.Column("location_gid", sa.String(255), primary_key=True),
        sa.Column("part_number", sa.String(50), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("computed_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inventory_target")
    op.drop_table("inventory_item")
