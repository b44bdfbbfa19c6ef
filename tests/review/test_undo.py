"""Undo of a review decision: a new event that restores the state before, never an erased one."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus import review as rv
from corpus.store import models as m
from corpus.store.db import session_scope


def test_undo_restores_the_state_before_and_logs_it(store):
    a = store.anns["4:ball"]
    with session_scope(store.engine) as s:
        before = rv.snapshot(s.get(m.Annotation, a))
        ev = rv.edit(s, a, "ivan", segmentation=[[1, 1, 20, 1, 20, 20]], class_ref="person", origin="web")
    with session_scope(store.engine) as s:
        assert rv.undoable_event(s, "ivan", "web").id == ev.id
        assert rv.undoable_event(s, "ivan", "cli") is None and rv.undoable_event(s, "maria", "web") is None
        undo = rv.undo(s, ev.id, "ivan", origin="web")
    assert undo.action == "reopen" and undo.note == f"undo of event {ev.id}"
    with Session(store.engine) as s:
        ann = s.get(m.Annotation, a)
        after = rv.snapshot(ann)
        assert {k: v for k, v in after.items() if k != "version"} == {k: v for k, v in before.items() if k != "version"}
        assert ann.version == before["version"] + 2
        assert rv.undoable_event(s, "ivan", "web") is None  # the edit is undone, the undo is not undoable
        assert [e.action for e in s.scalars(select(m.ReviewEvent).order_by(m.ReviewEvent.id))] == ["edit", "reopen"]


def test_undo_is_refused_after_someone_else_decided(store):
    a = store.anns["4:player"]
    with session_scope(store.engine) as s:
        ev = rv.accept(s, a, "ivan", origin="web")
    with session_scope(store.engine) as s:
        rv.reject(s, a, "maria")
    with pytest.raises(rv.ReviewConflict, match="changed after that decision.*maria"):
        with session_scope(store.engine) as s:
            rv.undo(s, ev.id, "ivan", origin="web")
    with pytest.raises(rv.ReviewError, match="does not exist"):
        with session_scope(store.engine) as s:
            rv.undo(s, 99999, "ivan")


def test_undo_of_done_and_of_an_addition(store):
    img = store.images[0]
    with session_scope(store.engine) as s:
        done = rv.mark_image_done(s, img, reviewer="ivan", origin="web")
        ann, added = rv.add(s, img, store.classes["ball"], "ivan", bbox=[1, 1, 5, 5], origin="web")
    with session_scope(store.engine) as s:
        assert rv.undo(s, added.id, "ivan", origin="web").action == "delete"
        assert rv.undo(s, done.id, "ivan", origin="web").action == "undone"
    with Session(store.engine) as s:
        assert s.get(m.Annotation, ann.id).status == "rejected" and not rv.is_image_done(s, img)
