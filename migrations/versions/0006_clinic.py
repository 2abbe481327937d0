"""locations, EPCS permission per location, lost-device recovery, one-time links

Revision ID: 0006_clinic
Revises: 0004_push
Create Date: 2026-11-24 09:00:00

An EPCS permission granted before this revision belongs to the practice's main location: the
upgrade makes that location ("Main office") when there are permissions to give it.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_clinic'
down_revision = '0004_push'
branch_labels = None
depends_on = None

LIVE = sa.text("status != 'revoked'")


def upgrade():
    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('one_time_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('one_time_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_one_time_link_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recovery_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('recovery_locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('recovery_required_at', sa.DateTime(), nullable=True))

    # added in place (ALTER TABLE ... ADD COLUMN ... REFERENCES): rebuilding login_session on SQLite
    # would cascade into the wizard states and challenges that reference it
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE login_session ADD COLUMN location_id INTEGER REFERENCES location (id)")
    else:
        op.add_column('login_session', sa.Column('location_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_login_session_location_id', 'login_session', 'location', ['location_id'], ['id'])

    # the live-permission index becomes per provider and location: drop it before the table is rebuilt
    op.drop_index('uq_epcs_permission_live', table_name='epcs_permission',
                  sqlite_where=LIVE, postgresql_where=LIVE)
    with op.batch_alter_table('epcs_permission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('requested_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('granted_by_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('granted_at', existing_type=sa.DateTime(), nullable=True)
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM epcs_permission")).scalar():
        bind.execute(sa.text("INSERT INTO location (name, created_at) VALUES ('Main office', :at)"),
                     {"at": datetime.now(UTC).replace(tzinfo=None)})
        bind.execute(sa.text("UPDATE epcs_permission SET location_id = (SELECT min(id) FROM location)"))
    with op.batch_alter_table('epcs_permission', schema=None) as batch_op:
        batch_op.alter_column('location_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_epcs_permission_location_id', 'location', ['location_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_epcs_permission_location_id'), ['location_id'], unique=False)
    op.create_index('uq_epcs_permission_live', 'epcs_permission', ['provider_id', 'location_id'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index('uq_epcs_permission_live', table_name='epcs_permission',
                  sqlite_where=LIVE, postgresql_where=LIVE)
    # a permission still waiting for its first grant did not exist before this revision
    op.execute("DELETE FROM epcs_permission WHERE granted_by_id IS NULL")
    # one live permission per provider again: the main location's stays, the others are revoked
    op.execute("UPDATE epcs_permission SET status = 'revoked' WHERE status != 'revoked' "
               "AND location_id != (SELECT min(id) FROM location)")
    with op.batch_alter_table('epcs_permission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_epcs_permission_location_id'))
        batch_op.drop_constraint('fk_epcs_permission_location_id', type_='foreignkey')
        batch_op.alter_column('granted_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('granted_by_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('requested_at')
        batch_op.drop_column('location_id')
    op.create_index('uq_epcs_permission_live', 'epcs_permission', ['provider_id'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)

    # dropped in place: rebuilding these tables on SQLite would break the rows that reference them
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('fk_login_session_location_id', 'login_session', type_='foreignkey')
    for table, column in (('login_session', 'location_id'), ('user', 'recovery_required_at'),
                          ('user', 'recovery_locked_until'), ('user', 'recovery_failures')):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')

    with op.batch_alter_table('one_time_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_one_time_link_user_id'))

    op.drop_table('one_time_link')
    op.drop_table('location')
