"""customer_sync: the master-data sync's decision per MAX account (docs/master-data.md).

One row per MAX CUSTID: the Shopify customer it matched (and by which rule), or why none (ambiguous, unmatched,
conflict); the digest of the account data last pushed. No personal data is kept here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_sync",
        sa.Column("custid", sa.String(20), primary_key=True),
        sa.Column("shopify_customer_gid", sa.String(255)),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("matched_by", sa.String(32)),
        sa.Column("candidates", sa.Text),
        sa.Column("pushed_digest", sa.String(64)),
        sa.Column("pushed_at", UtcDateTime),
        sa.Column("checked_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(250)),
    )
    op.create_index("ix_customer_sync_shopify_customer_gid", "customer_sync", ["shopify_customer_gid"])


def downgrade() -> None:
    op.drop_index("ix_customer_sync_shopify_customer_gid", table_name="customer_sync")
    op.drop_table("customer_sync")
