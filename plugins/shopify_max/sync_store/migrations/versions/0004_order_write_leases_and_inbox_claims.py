"""Write leases on staged orders, newer versions kept while a MAX write settles, and timed inbox claims.

- ``order_stage.lease_owner`` / ``lease_expires_at``: who may write an order to MAX now, and until when.
- ``order_stage.deferred_json`` / ``deferred_updated_at``: a newer version of an order that arrived while a
  write to MAX was in progress; it is decided once that write has settled.
- ``order_stage.row_version``: bumped by every change, so a decision made on a stale read is not written.
- ``inbox.claimed_at`` / ``claimed_by`` / ``claims``: a claim older than the configured time returns the
  delivery to the queue; a delivery claimed too often without finishing is failed (a poison message).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_stage") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(300)))
        batch.add_column(sa.Column("lease_expires_at", UtcDateTime))
        batch.add_column(sa.Column("deferred_json", sa.Text))
        batch.add_column(sa.Column("deferred_updated_at", UtcDateTime))
        batch.add_column(sa.Column("row_version", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("claimed_at", UtcDateTime))
        batch.add_column(sa.Column("claimed_by", sa.String(250)))
        batch.add_column(sa.Column("claims", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        for name in ("claims", "claimed_by", "claimed_at"):
            batch.drop_column(name)
    with op.batch_alter_table("order_stage") as batch:
        for name in ("row_version", "deferred_updated_at", "deferred_json", "lease_expires_at", "lease_owner"):
            batch.drop_column(name)
