"""audit trail of operator actions (console and admin API); dead-letter indexes

Revision ID: 0007_audit
Revises: 0006_email_scale
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_audit"
down_revision = "0005_fleet_counters"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entry_action_client_at", ["action", "client_addr", "at"], unique=False
        )
    # The console's dead-letter pages and counts (see service/email/models.py).
    in_dlq = sa.text("status IN ('pending', 'dead')")
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_message_dlq_id", ["id"], postgresql_where=in_dlq, sqlite_where=in_dlq
        )
        batch_op.create_index(
            "ix_email_message_dlq_template",
            ["template", "status"],
            postgresql_where=in_dlq,
            sqlite_where=in_dlq,
        )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm ships with PostgreSQL and is a trusted extension (13+): the
        # database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_email_message_dlq_error",
            "email_message",
            ["last_error"],
            postgresql_using="gin",
            postgresql_ops={"last_error": "gin_trgm_ops"},
            postgresql_where=in_dlq,
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_email_message_dlq_error", table_name="email_message")
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.drop_index("ix_email_message_dlq_template")
        batch_op.drop_index("ix_email_message_dlq_id")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_action_client_at")
    op.drop_table("audit_entry")
