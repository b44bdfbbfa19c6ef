"""harvest integrity: the store's own id, and who runs a harvest

Revision ID: 0002_harvest_integrity
Revises: 0007_web_review
Create Date: 2026-11-30

* ``store_info`` holds facts about the store itself; its ``store_id`` names the store in the data
  folders it writes to (``data_dir/.corpus/<store_id>/``), so a start-up clean-up only ever
  touches files this store can prove it wrote.
* ``harvest_runs.host``, ``pid`` and ``heartbeat_at`` let a later harvest tell a run that is still
  going from one that was killed (and mark the latter ``interrupted``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_harvest_integrity'
down_revision = '0007_web_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('store_info',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_store_info'))
    )
    with op.batch_alter_table('harvest_runs') as batch:
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('harvest_runs') as batch:
        batch.drop_column('heartbeat_at')
        batch.drop_column('pid')
        batch.drop_column('host')
    op.drop_table('store_info')
