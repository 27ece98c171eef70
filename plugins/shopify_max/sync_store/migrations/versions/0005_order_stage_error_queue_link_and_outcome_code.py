"""The error-queue item and the kind of outcome, as columns of the staged order.

- ``order_stage.error_queue_id``: the error-queue item of a failed outcome (a foreign key to ``error_queue.id``);
  the run summary reads it here instead of parsing "error queue item N" out of ``run_outcome_reason``.
- ``order_stage.run_outcome_code``: the kind of the outcome (``states.RunOutcomeCode``), which the run summary
  counts skips by; ``run_outcome_reason`` stays the text a person reads.

Rows written before this revision get their link from the reason, once, here; their code stays empty (the
next run that touches the order sets it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LINK_IN_REASON = re.compile(r"error queue item (\d+)\b")


def upgrade() -> None:
    with op.batch_alter_table("order_stage") as batch:
        batch.add_column(sa.Column("run_outcome_code", sa.String(32)))
        batch.add_column(sa.Column("error_queue_id", sa.Integer))
        batch.create_foreign_key("fk_order_stage_error_queue_id", "error_queue", ["error_queue_id"], ["id"],
                                 ondelete="SET NULL")
    _link_existing_rows()


def _link_existing_rows() -> None:
    conn = op.get_bind()
    order_stage = sa.table("order_stage", sa.column("id", sa.Integer), sa.column("run_outcome_reason", sa.Text),
                           sa.column("error_queue_id", sa.Integer))
    error_queue = sa.table("error_queue", sa.column("id", sa.Integer))
    rows = conn.execute(sa.select(order_stage.c.id, order_stage.c.run_outcome_reason)
                        .where(order_stage.c.run_outcome_reason.contains("error queue item"))).all()
    links = {row_id: int(match.group(1)) for row_id, reason in rows
             if (match := _LINK_IN_REASON.search(reason or ""))}
    if not links:
        return
    existing = set(conn.execute(sa.select(error_queue.c.id)).scalars())
    for row_id, item_id in links.items():
        if item_id in existing:
            conn.execute(sa.update(order_stage).where(order_stage.c.id == row_id).values(error_queue_id=item_id))


def downgrade() -> None:
    with op.batch_alter_table("order_stage") as batch:
        batch.drop_constraint("fk_order_stage_error_queue_id", type_="foreignkey")
        batch.drop_column("error_queue_id")
        batch.drop_column("run_outcome_code")
