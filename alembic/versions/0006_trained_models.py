"""trained models: detectors fine-tuned on reviewed data, and the annotations each was trained on

Revision ID: 0006_trained_models
Revises: 0002_harvest_integrity
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_trained_models'
down_revision = '0002_harvest_integrity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trained_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('base', sa.Text(), nullable=False),
    sa.Column('base_version', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('weights', sa.Text(), nullable=False),
    sa.Column('onnx', sa.Text(), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('classes', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('dataset', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], name=op.f('fk_trained_models_domain_id_domains'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trained_models')),
    sa.UniqueConstraint('name', name=op.f('uq_trained_models_name'))
    )
    with op.batch_alter_table('trained_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trained_models_domain_id'), ['domain_id'], unique=False)

    op.create_table('training_annotations',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('split', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_training_annotations_annotation_id_annotations')),
    sa.ForeignKeyConstraint(['model_id'], ['trained_models.id'], name=op.f('fk_training_annotations_model_id_trained_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'annotation_id', name=op.f('pk_training_annotations'))
    )
    with op.batch_alter_table('training_annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_annotations_annotation_id'), ['annotation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_annotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_annotations_annotation_id'))

    op.drop_table('training_annotations')
    with op.batch_alter_table('trained_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trained_models_domain_id'))

    op.drop_table('trained_models')
