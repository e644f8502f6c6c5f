"""email: the due-mail index carries the claim's whole sort key (status, next_attempt_at, id)

Revision ID: 0008_email_due_index
Revises: 0007_audit

The claim takes the first due message in (next_attempt_at, id) order. With
(status, next_attempt_at) the tie on id was sorted at every claim, and a
burst queued in one transaction shares one next_attempt_at: PostgreSQL read
and sorted the whole burst to hand out one message (or, with statistics
that still saw no queued mail, bitmap-scanned it), once per message sent.
With id in the index the claim reads the first unlocked entry and stops.
"""

from alembic import op

revision = "0008_email_due_index"
down_revision = "0007_audit"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.drop_index("ix_email_message_status_next")
        batch_op.create_index(
            "ix_email_message_status_next_id", ["status", "next_attempt_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.drop_index("ix_email_message_status_next_id")
        batch_op.create_index(
            "ix_email_message_status_next", ["status", "next_attempt_at"], unique=False
        )
