"""push, text/call challenges, training phone

Revision ID: 0004_push
Revises: 0003_tokens
Create Date: 2026-11-22 17:49:27.432817

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_push'
down_revision = '0003_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('training_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_phone_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['training_phone_id'], ['training_phone.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('training_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_account_training_phone_id'), ['training_phone_id'], unique=False)

    op.create_table('push_pairing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('login_session_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('paired_at', sa.DateTime(), nullable=True),
    sa.Column('credential_hash', sa.String(length=64), nullable=True),
    sa.Column('phone_agent', sa.String(length=200), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['login_session_id'], ['login_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_hash'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('push_pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_pairing_user_id'), ['user_id'], unique=False)

    op.create_table('challenge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('pairing_id', sa.Integer(), nullable=True),
    sa.Column('login_session_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('number', sa.String(length=2), nullable=True),
    sa.Column('choices', sa.String(length=16), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('browser', sa.String(length=80), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['login_session_id'], ['login_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pairing_id'], ['push_pairing.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_login_session_id'), ['login_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_user_id'))
        batch_op.drop_index(batch_op.f('ix_challenge_login_session_id'))
        batch_op.drop_index(batch_op.f('ix_challenge_device_id'))

    op.drop_table('challenge')
    with op.batch_alter_table('push_pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_pairing_user_id'))

    op.drop_table('push_pairing')
    with op.batch_alter_table('training_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_account_training_phone_id'))

    op.drop_table('training_account')
    op.drop_table('training_phone')
