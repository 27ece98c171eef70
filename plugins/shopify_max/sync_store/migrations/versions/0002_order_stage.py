"""order_stage: orders captured and on their way to MAX (stage → map → validate → export).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_stage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_gid", sa.String(255), nullable=False),
        sa.Column("order_name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("shopify_updated_at", UtcDateTime, nullable=False),
        sa.Column("payload_digest", sa.String(64), nullable=False),
        sa.Column("material_digest", sa.String(64), nullable=False),
        sa.Column("order_json", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mapped_json", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("exported_material_digest", sa.String(64)),
        sa.Column("max_ordnum", sa.String(16)),
        sa.Column("run_id", sa.String(250)),
        sa.Column("run_outcome", sa.String(16)),
        sa.Column("run_outcome_reason", sa.Text),
        sa.Column("claimed_at", UtcDateTime),
        sa.Column("captured_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("order_gid", name="uq_order_stage_order_gid"),
    )
    op.create_index("ix_order_stage_run_status", "order_stage", ["run_id", "status"])


def downgrade() -> None:
    op.drop_table("order_stage")
