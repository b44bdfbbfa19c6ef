"""Images whose review is done: image_reviews (current state) and image events in the review log.

review_events gains image_id (an event is about an annotation or an image) and the actions
done/undone. On SQLite the table is rebuilt (batch mode), which drops its triggers: they are made
again, so the log stays append-only.

Revision ID: 0003_review_done
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_review_done"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_ACTIONS = ("create", "accept", "reject", "relabel", "edit", "delete", "add", "reopen")
_NEW_ACTIONS = _OLD_ACTIONS + ("done", "undone")
_MSG = "review_events is append-only"


def _in(values: tuple[str, ...]) -> str:
    return f"action IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "image_reviews",
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], name=op.f("fk_image_reviews_image_id_images"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_image_reviews")),
    )
    with op.batch_alter_table("image_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_reviews_done"), ["done"], unique=False)

    _drop_sqlite_triggers()
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_id", sa.Integer(), nullable=True))
        batch_op.alter_column("annotation_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(op.f("ck_review_events_action"), type_="check")
        batch_op.create_check_constraint("action", _in(_NEW_ACTIONS))
        batch_op.create_check_constraint("subject", "annotation_id IS NOT NULL OR image_id IS NOT NULL")
        batch_op.create_foreign_key(batch_op.f("fk_review_events_image_id_images"), "images", ["image_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_review_events_image_id"), ["image_id"], unique=False)
    _create_sqlite_triggers()


def downgrade() -> None:
    # Image events cannot stay in a log whose events all name an annotation; the log is
    # append-only, so they go only with the triggers lifted for this one statement.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE review_events DISABLE TRIGGER review_events_append_only")
        op.execute("DELETE FROM review_events WHERE annotation_id IS NULL")
        op.execute("ALTER TABLE review_events ENABLE TRIGGER review_events_append_only")
    _drop_sqlite_triggers()
    if dialect == "sqlite":
        op.execute("DELETE FROM review_events WHERE annotation_id IS NULL")
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_events_image_id"))
        batch_op.drop_constraint(batch_op.f("fk_review_events_image_id_images"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_review_events_subject"), type_="check")
        batch_op.drop_constraint(op.f("ck_review_events_action"), type_="check")
        batch_op.create_check_constraint("action", _in(_OLD_ACTIONS))
        batch_op.alter_column("annotation_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("image_id")
    _create_sqlite_triggers()
    with op.batch_alter_table("image_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_reviews_done"))
    op.drop_table("image_reviews")


def _drop_sqlite_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS review_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS review_events_no_delete")


def _create_sqlite_triggers() -> None:
    # PostgreSQL's trigger survives ALTER TABLE; SQLite's go with the rebuilt table.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER review_events_no_{verb.lower()} BEFORE {verb} ON review_events "
                       f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
