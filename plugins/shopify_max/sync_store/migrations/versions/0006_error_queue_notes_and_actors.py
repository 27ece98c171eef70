"""Who acted on an error-queue item, when, and why.

- ``error_queue.note``: what the person wrote when they resolved, ignored, replayed or refetched the item (the
  ``error_replay`` DAG's ``note`` param; required for resolve and ignore);
- ``error_queue.acted_by``: who: the DAG run id and, when Airflow knows it, the user who triggered it;
- ``error_queue.acted_at``: when.

They hold the last action; each action is also an ``audit_log`` entry (direction ``error_queue_action``) on the
record's audit trail. Rows written before this revision keep them empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from shopify_max.sync_store.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("error_queue") as batch:
        batch.add_column(sa.Column("note", sa.Text))
        batch.add_column(sa.Column("acted_by", sa.String(500)))
        batch.add_column(sa.Column("acted_at", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("error_queue") as batch:
        batch.drop_column("acted_at")
        batch.drop_column("acted_by")
        batch.drop_column("note")
