"""refund_stage: Shopify refunds on their way to MAX as credit memos (docs/refunds.md).

One row per Shopify refund, staged from the ``refunds/create`` webhook or the poll (staging it again is a no-op);
the write lease (``lease_owner``/``lease_expires_at``) lets one attempt write its credit memo at a time; the memo's
ORDNUM and total are kept once exported (the refund ⇄ memo pair is also in ``id_map``, entity ``refund``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_stage",
        sa.Column("refund_gid", sa.String(255), primary_key=True),
        sa.Column("order_gid", sa.String(255), nullable=False),
        sa.Column("refund_json", sa.Text, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome_code", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("credit_memo_ordnum", sa.String(16)),
        sa.Column("credit_memo_total", sa.String(32)),
        sa.Column("error_queue_id", sa.Integer, sa.ForeignKey("error_queue.id", name="fk_refund_stage_error_queue_id",
                                                              ondelete="SET NULL")),
        sa.Column("lease_owner", sa.String(300)),
        sa.Column("lease_expires_at", UtcDateTime),
        sa.Column("run_id", sa.String(250)),
        sa.Column("captured_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_refund_stage_order_gid", "refund_stage", ["order_gid"])
    op.create_index("ix_refund_stage_status", "refund_stage", ["status"])


def downgrade() -> None:
    op.drop_index("ix_refund_stage_status", table_name="refund_stage")
    op.drop_index("ix_refund_stage_order_gid", table_name="refund_stage")
    op.drop_table("refund_stage")
