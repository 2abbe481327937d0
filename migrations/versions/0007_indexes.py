"""index lower(username): sign-in looks users up by it

Revision ID: 0007_indexes
Revises: 0006_clinic
Create Date: 2026-11-22 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_indexes'
down_revision = '0006_clinic'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_user_username_lower', 'user', [sa.text('lower(username)')])


def downgrade():
    op.drop_index('ix_user_username_lower', table_name='user')
