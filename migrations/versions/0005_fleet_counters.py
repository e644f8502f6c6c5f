"""fleet-wide counters: counter shards and per-dyno metric snapshots

Revision ID: 0005_fleet_counters
Revises: 0006_email_scale
Create Date: 2026-11-27 15:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_fleet_counters"
down_revision = "0006_email_scale"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counter_shard",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("shard", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "labels", "shard", name="uq_counter_shard_name_labels_shard"),
    )
    op.create_table(
        "metrics_snapshot",
        sa.Column("dyno", sa.String(length=200), nullable=False),
        sa.Column("boot", sa.String(length=100), nullable=False),
        sa.Column("samples", sa.Text(), nullable=False),
        sa.Column("read_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dyno", "boot"),
    )


def downgrade():
    op.drop_table("metrics_snapshot")
    op.drop_table("counter_shard")
