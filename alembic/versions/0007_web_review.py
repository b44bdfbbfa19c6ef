"""Indexes for the review app: the queue's walk in score order, progress, a reviewer's last decision.

* ix_proposals_score (score, id): the queue reads proposals in score order and stops at the
  page's end (corpus/web/queue.py), instead of sorting every pending annotation.
* ix_annotations_progress (class_id, status, reviewed_by): progress per class and per reviewer
  is counted from this index alone (a covering index), not from the annotation rows.
* ix_review_events_who (who, id): a reviewer's latest decisions, for undo.

Revision ID: 0007_web_review
Revises: 0003_review_done
"""

from __future__ import annotations

from alembic import op

revision = "0007_web_review"
down_revision = "0003_review_done"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain CREATE INDEX on every backend: no table is rebuilt, so the review log's triggers stay.
    op.create_index("ix_proposals_score", "proposals", ["score", "id"], unique=False)
    op.create_index("ix_annotations_progress", "annotations", ["class_id", "status", "reviewed_by"], unique=False)
    op.create_index("ix_review_events_who", "review_events", ["who", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_review_events_who", table_name="review_events")
    op.drop_index("ix_annotations_progress", table_name="annotations")
    op.drop_index("ix_proposals_score", table_name="proposals")
