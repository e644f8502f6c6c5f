"""email at scale: provider events on messages, the fleet-wide send gate

Revision ID: 0006_email_scale
Revises: 0003
Create Date: 2026-11-27 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_email_scale'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_send_gate',
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('next_at', sa.Float(), nullable=False),
    sa.Column('paused_until', sa.Float(), nullable=False),
    sa.Column('pause_reason', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('backend')
    )
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_event', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('provider_event_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.drop_column('provider_event_at')
        batch_op.drop_column('provider_event')
    op.drop_table('email_send_gate')
