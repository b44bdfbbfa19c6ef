"""Work claims: leases that let several harvests and annotation workers share one store.

Revision ID: 0008_work_claims
Revises: 0005_lemma_provenance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_work_claims"
down_revision = "0005_lemma_provenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_claims",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_work_claims")),
    )
    with op.batch_alter_table("work_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_claims_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_claims_expires_at"))
    op.drop_table("work_claims")
