"""hardware tokens: TOTP drift and replay step, the simulator's counter, assignment and revocation times

Revision ID: 0003_tokens
Revises: 0002_epcs
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_tokens'
down_revision = '0002_epcs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hardware_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drift', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('simulator_counter', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_hardware_token_user_id'), ['user_id'], unique=False)
    # a token imported before this revision: its simulator starts where the server is
    op.execute("UPDATE hardware_token SET simulator_counter = counter")


def downgrade():
    with op.batch_alter_table('hardware_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hardware_token_user_id'))
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('simulator_counter')
        batch_op.drop_column('last_step')
        batch_op.drop_column('drift')
