"""Images whose review is done: who and when in the store, every change in the append-only log."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from corpus import review as rv
from corpus.store import models as m
from corpus.store.db import session_scope


def _image_events(engine, image_id=None):
    with Session(engine) as s:
        q = select(m.ReviewEvent).where(m.ReviewEvent.annotation_id.is_(None)).order_by(m.ReviewEvent.id)
        if image_id is not None:
            q = q.where(m.ReviewEvent.image_id == image_id)
        return list(s.scalars(q))


def test_mark_done_records_who_when_and_an_event(store):
    img = store.images[1]
    with session_scope(store.engine) as s:
        assert rv.done_image_ids(s) == set()
        ev = rv.mark_image_done(s, img, reviewer="maria")
        assert ev is not None and ev.action == "done" and ev.image_id == img and ev.annotation_id is None
        assert ev.before == {"done": False} and ev.after["done"] is True
    with session_scope(store.engine) as s:
        assert rv.done_image_ids(s) == {img}
        assert rv.is_image_done(s, img)
        state = s.get(m.ImageReview, img)
        assert state.done and state.changed_by == "maria" and state.changed_at is not None
        # Idempotent: marking a done image done again records nothing.
        assert rv.mark_image_done(s, img, reviewer="ivan") is None
        assert s.get(m.ImageReview, img).changed_by == "maria"
    with session_scope(store.engine) as s:
        ev = rv.mark_image_done(s, img, reviewer="ivan", done=False, note="missed a ball")
        assert ev.action == "undone" and ev.before["done"] is True and ev.after["done"] is False
    with session_scope(store.engine) as s:
        assert rv.done_image_ids(s) == set() and not rv.is_image_done(s, img)
        assert s.get(m.ImageReview, img).changed_by == "ivan"
    evs = _image_events(store.engine, img)
    assert [(e.action, e.who) for e in evs] == [("done", "maria"), ("undone", "ivan")]
    assert evs[1].note == "missed a ball"


def test_done_ids_by_domain_and_candidates(store):
    with session_scope(store.engine) as s:
        dom = s.get(m.Domain, store.domain_id)
        assert rv.mark_images_done(s, store.images[:3], reviewer="maria") == 3
        assert rv.mark_images_done(s, store.images[:4], reviewer="maria") == 1  # only the new one
        assert rv.done_image_ids(s, dom) == set(store.images[:4])
        assert rv.done_image_ids(s, image_ids=[store.images[0], store.images[5]]) == {store.images[0]}
        other = m.Domain(name="transport")
        s.add(other)
        s.flush()
        assert rv.done_image_ids(s, other) == set()
        # Every image with annotations of the domain can be marked done at once.
        assert rv.review_image_ids(s, dom) == set(store.images)


def test_unknown_image_is_a_review_error_and_nothing_is_logged(store):
    with pytest.raises(rv.ReviewError, match="image 999999 does not exist"):
        with session_scope(store.engine) as s:
            rv.mark_image_done(s, 999999, reviewer="maria")
    assert _image_events(store.engine) == []


def test_image_events_are_append_only_too(store):
    with session_scope(store.engine) as s:
        rv.mark_image_done(s, store.images[0], reviewer="maria")
    with store.engine.connect() as c:
        with pytest.raises(DatabaseError, match="append-only"):
            c.execute(text("UPDATE review_events SET who = 'mallory' WHERE image_id IS NOT NULL"))
        with pytest.raises(DatabaseError):
            c.execute(text("DELETE FROM review_events WHERE image_id IS NOT NULL"))


def test_an_event_must_name_an_annotation_or_an_image(store):
    with pytest.raises(DatabaseError):
        with session_scope(store.engine) as s:
            s.add(m.ReviewEvent(who="x", action="done"))


def _cli(store, *args):
    from cli import app

    return CliRunner().invoke(app, ["--db", store.db_url, "review", *args])


def test_cli_done_ids_all_undo(store):
    r = _cli(store, "done", str(store.images[0]), str(store.images[1]), "--who", "maria")
    assert r.exit_code == 0, r.output
    assert "2 image(s) marked done" in r.output
    # Images 0 and 1 still hold pending annotations: said, and they stay pending.
    assert "pending" in r.output
    with Session(store.engine) as s:
        assert rv.done_image_ids(s) == set(store.images[:2])
    r = _cli(store, "done", "--all", "--who", "ivan")
    assert r.exit_code == 0, r.output
    assert f"{len(store.images) - 2} image(s) marked done" in r.output
    r = _cli(store, "done", str(store.images[0]), "--undo", "--who", "ivan")
    assert r.exit_code == 0, r.output
    assert "1 image(s) no longer done" in r.output
    with Session(store.engine) as s:
        assert rv.done_image_ids(s) == set(store.images[1:])
    assert [e.action for e in _image_events(store.engine, store.images[0])] == ["done", "undone"]


@pytest.mark.parametrize("args, msg", [
    ([], "give image ids or --all"),
    (["1", "--all"], "either image ids or --all"),
    (["999999"], "image 999999 does not exist"),
])
def test_cli_done_errors(store, args, msg):
    r = _cli(store, "done", *args)
    assert r.exit_code != 0
    assert msg in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert _image_events(store.engine) == []


def test_export_and_evaluate_can_take_done_images_only(store, tmp_path):
    import json

    from corpus.coco.evaluate import evaluate
    from corpus.coco.export import CocoExportOptions, export_coco

    opts = dict(files="none", license_policy="research", statuses=("accepted", "edited"))
    every = export_coco(store.engine, tmp_path / "a", store.data_dir, CocoExportOptions(**opts))
    assert sum(every.images.values()) > 1
    with session_scope(store.engine) as s:
        rv.mark_image_done(s, store.images[0], reviewer="maria")
    done = export_coco(store.engine, tmp_path / "d", store.data_dir, CocoExportOptions(done_only=True, **opts))
    data = json.loads(done.files["all"].read_text(encoding="utf-8"))
    assert [im["id"] for im in data["images"]] == [store.images[0]]
    assert {a["image_id"] for a in data["annotations"]} == {store.images[0]}
    # Evaluate: by default images without pending annotations (only image 2 here); with
    # done_only the images marked done, pending leftovers or not.
    with session_scope(store.engine) as s:
        rv.mark_image_done(s, store.images[1], reviewer="maria")
    (yolo,) = [r for r in evaluate(store.engine, "sport", done_only=True) if r.model_name == "yolo"]
    (yolo_all,) = [r for r in evaluate(store.engine, "sport") if r.model_name == "yolo"]
    assert (yolo.images, yolo_all.images) == (2, 1)
    r = CliRunner().invoke(__import__("cli").app, ["--db", store.db_url, "--data-dir", str(store.data_dir), "export",
                                                   "coco", "--done-only", "--no-images", "--license-policy",
                                                   "research", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "c" / "annotations" / "instances.json").read_text())["images"][0]["id"] == store.images[0]
