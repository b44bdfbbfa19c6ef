"""lemma provenance: per-lemma source/method/license/share-alike and the unique name of a label

Revision ID: 0005_lemma_provenance
Revises: 0006_trained_models
Create Date: 2026-11-30

``labels.provenance`` holds one {source, method, license, share_alike} object per lemma, in the
order of ``labels.lemmas``; ``labels.name`` is the class's name in that language that no other
class of the domain has (what export categories and pickers use as a key). Existing rows get an
empty list and no name until the ontology is loaded again (`corpus ontology load`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_lemma_provenance'
down_revision = '0006_trained_models'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('provenance', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('provenance')
        batch_op.drop_column('name')
