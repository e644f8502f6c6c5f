"""durable counters: a few shard rows per label set instead of one hot row

Revision ID: 0009_durable_counter_shards
Revises: 0008_email_due_index

Every delivered email increments email_notifications_total in its own
transaction. With one row per (name, labels), every send slot of every
worker dyno updated the same row and waited for the previous holder's
commit. Each increment now lands on one of a few shard rows picked at random
(service/jobstate/counters.py); reads sum them. Existing rows become shard 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_durable_counter_shards"
down_revision = "0008_email_due_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("durable_counter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch_op.drop_constraint("uq_durable_counter_name_labels", type_="unique")
        batch_op.create_unique_constraint(
            "uq_durable_counter_name_labels_shard", ["name", "labels", "shard"]
        )


def downgrade():
    # Fold the shards back into one row per label set before the old key returns.
    op.execute(
        "UPDATE durable_counter SET value = (SELECT sum(d.value) FROM durable_counter AS d"
        " WHERE d.name = durable_counter.name AND d.labels = durable_counter.labels)"
        " WHERE shard = 0"
    )
    op.execute(
        "INSERT INTO durable_counter (name, labels, value, shard)"
        " SELECT name, labels, sum(value), 0 FROM durable_counter AS d"
        " WHERE NOT EXISTS (SELECT 1 FROM durable_counter AS z WHERE z.name = d.name"
        " AND z.labels = d.labels AND z.shard = 0) GROUP BY name, labels"
    )
    op.execute("DELETE FROM durable_counter WHERE shard <> 0")
    with op.batch_alter_table("durable_counter", schema=None) as batch_op:
        batch_op.drop_constraint("uq_durable_counter_name_labels_shard", type_="unique")
        batch_op.create_unique_constraint("uq_durable_counter_name_labels", ["name", "labels"])
        batch_op.drop_column("shard")
