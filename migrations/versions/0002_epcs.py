"""EPCS permission and signed prescriptions

Revision ID: 0002_epcs
Revises: 0001
Create Date: 2026-11-22 18:00:00

The trigger statements repeat portal.models.PRESCRIPTION_IMMUTABLE on purpose: a migration keeps
the schema as it was written, whatever the models become later.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_epcs'
down_revision = '0001'
branch_labels = None
depends_on = None

IMMUTABLE = {
    "sqlite": ["CREATE TRIGGER prescription_immutable BEFORE UPDATE ON prescription "
               "BEGIN SELECT RAISE(ABORT, 'a signed prescription cannot be changed'); END"],
    "postgresql": ["CREATE FUNCTION prescription_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'a signed prescription cannot be changed'; END $$",
                   "CREATE TRIGGER prescription_immutable BEFORE UPDATE ON prescription "
                   "FOR EACH ROW EXECUTE FUNCTION prescription_immutable()"],
}


def upgrade():
    op.create_table('epcs_permission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('epcs_permission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_epcs_permission_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index('uq_epcs_permission_live', ['provider_id'], unique=True, sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))

    op.create_table('prescription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_key', sa.String(length=32), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.Column('patient_name', sa.String(length=120), nullable=False),
    sa.Column('patient_dob', sa.Date(), nullable=False),
    sa.Column('drug', sa.String(length=120), nullable=False),
    sa.Column('strength', sa.String(length=40), nullable=False),
    sa.Column('schedule', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('directions', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('device_name', sa.String(length=64), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['prescriber_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_key')
    )
    with op.batch_alter_table('prescription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_prescriber_id'), ['prescriber_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_signed_at'), ['signed_at'], unique=False)

    for statement in IMMUTABLE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS prescription_immutable ON prescription")
        op.execute("DROP FUNCTION IF EXISTS prescription_immutable()")
    with op.batch_alter_table('prescription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_signed_at'))
        batch_op.drop_index(batch_op.f('ix_prescription_prescriber_id'))

    op.drop_table('prescription')
    with op.batch_alter_table('epcs_permission', schema=None) as batch_op:
        batch_op.drop_index('uq_epcs_permission_live', sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))
        batch_op.drop_index(batch_op.f('ix_epcs_permission_provider_id'))

    op.drop_table('epcs_permission')
