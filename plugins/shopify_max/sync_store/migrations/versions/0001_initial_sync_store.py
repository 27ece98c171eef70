"""Initial sync store: id_map, inbox, error_queue, audit_log, watermarks, inventory_shadow.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "id_map",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("shopify_gid", sa.String(255), nullable=False),
        sa.Column("max_key", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("entity", "shopify_gid", name="uq_id_map_entity_shopify_gid"),
        sa.UniqueConstraint("entity", "max_key", name="uq_id_map_entity_max_key"),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255)),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("shop_domain", sa.String(255)),
        sa.Column("api_version", sa.String(20)),
        sa.Column("triggered_at", UtcDateTime),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("resource_gid", sa.String(255)),
        sa.Column("payload", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("processed_at", UtcDateTime),
        sa.Column("payload_purged_at", UtcDateTime),
        sa.UniqueConstraint("webhook_id", name="uq_inbox_webhook_id"),
        sa.UniqueConstraint("topic", "event_id", name="uq_inbox_topic_event_id"),
    )
    op.create_index("ix_inbox_status_id", "inbox", ["status", "id"])
    op.create_table(
        "error_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("record_key", sa.String(255), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("payload", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("claimed_at", UtcDateTime),
        sa.Column("resolved_at", UtcDateTime),
        sa.Column("payload_purged_at", UtcDateTime),
        sa.UniqueConstraint("entity", "record_key", "stage", name="uq_error_queue_entity_key_stage"),
    )
    op.create_index("ix_error_queue_status_id", "error_queue", ["status", "id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(250)),
        sa.Column("task_id", sa.String(250)),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("record_key", sa.String(255)),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("request", sa.Text),
        sa.Column("response", sa.Text),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("contains_pii", sa.Boolean, nullable=False),
        sa.Column("pii_purged_at", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_audit_log_entity_key", "audit_log", ["entity", "record_key"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_table(
        "watermarks",
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(250)),
    )
    op.create_table(
        "inventory_shadow",
        sa.Column("inventory_item_gid", sa.String(255), primary_key=True),
        sa.Column("location_gid", sa.String(255), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("pushed_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(250)),
    )


def downgrade() -> None:
    for table in ("inventory_shadow", "watermarks", "audit_log", "error_queue", "inbox", "id_map"):
        op.drop_table(table)
