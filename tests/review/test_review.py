"""Review decisions: status, version, append-only events, optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from corpus import review as rv
from corpus.store import models as m
from corpus.store.db import session_scope


def _events(engine, ann_id):
    with Session(engine) as s:
        return list(s.scalars(select(m.ReviewEvent).where(m.ReviewEvent.annotation_id == ann_id).order_by(m.ReviewEvent.id)))


def test_accept_reject_relabel_edit_record_events(store):
    a = store.anns["4:player"]
    with session_scope(store.engine) as s:
        ev = rv.accept(s, a, "ivan", note="looks fine")
    assert ev.before["status"] == "pending" and ev.after["status"] == "accepted"
    assert ev.after["version"] == ev.before["version"] + 1
    with session_scope(store.engine) as s:
        rv.relabel(s, a, "person", "ivan")  # by English name
        rv.relabel(s, a, "tennis_player.n.01", "ivan")  # by synset
        rv.relabel(s, a, 3, "ivan")  # by category id (tennis ball)
        rv.edit(s, a, "ivan", segmentation=[[10, 10, 30, 10, 30, 20, 10, 20]])
        rv.reject(s, a, "maria")
    evs = _events(store.engine, a)
    assert [e.action for e in evs] == ["accept", "relabel", "relabel", "relabel", "edit", "reject"]
    assert [e.after["version"] for e in evs] == list(range(2, 8))
    assert all(e.origin == "cli" for e in evs)
    with Session(store.engine) as s:
        ann = s.get(m.Annotation, a)
        assert (ann.status, ann.version, ann.reviewed_by, ann.class_id) == ("rejected", 7, "maria", store.classes["ball"])
        assert (ann.bbox_x, ann.bbox_y, ann.bbox_w, ann.bbox_h) == (10, 10, 20, 10)
        assert ann.area == pytest.approx(200, abs=40)
    edit_ev = evs[4]
    assert edit_ev.before["segmentation"] == [[5, 5, 35, 5, 35, 45, 5, 45]]
    assert edit_ev.after["segmentation"] == [[10, 10, 30, 10, 30, 20, 10, 20]]


def test_events_are_append_only(store):
    with session_scope(store.engine) as s:
        rv.accept(s, store.anns["4:player"], "ivan")
    with store.engine.connect() as c:
        with pytest.raises(DatabaseError, match="append-only"):
            c.execute(text("UPDATE review_events SET who = 'mallory'"))
        with pytest.raises(DatabaseError):
            c.execute(text("DELETE FROM review_events"))


def test_expected_version_refuses_a_stale_decision(store):
    a = store.anns["4:ball"]
    with session_scope(store.engine) as s:
        seen = s.get(m.Annotation, a).version
        rv.accept(s, a, "ivan", expected_version=seen)
    with pytest.raises(rv.ReviewConflict, match=f"annotation {a} is at version {seen + 1}, not {seen}.*ivan"):
        with session_scope(store.engine) as s:
            rv.reject(s, a, "maria", expected_version=seen)
    assert [e.action for e in _events(store.engine, a)] == ["accept"]


def test_concurrent_writer_is_caught_by_the_version_column(store):
    a = store.anns["4:racket"]
    s1 = Session(store.engine)
    held = s1.get(m.Annotation, a)  # reviewer 1 reads version 1 and keeps it on screen
    assert held.version == 1
    with session_scope(store.engine) as s2:  # reviewer 2 decides first
        rv.reject(s2, a, "maria")
    with pytest.raises(rv.ReviewConflict, match="changed by another writer"):
        rv.accept(s1, a, "ivan")
    s1.rollback()
    s1.close()
    with Session(store.engine) as s:
        assert s.get(m.Annotation, a).status == "rejected"
    assert [e.action for e in _events(store.engine, a)] == ["reject"]


def test_add_and_errors(store):
    with session_scope(store.engine) as s:
        ann, ev = rv.add(s, store.images[0], store.classes["ball"], "ivan", bbox=[1, 2, 3, 4])
    assert ann.status == "accepted" and ann.origin == "manual" and ev.action == "add" and ev.before is None
    assert ann.area == 12
    with session_scope(store.engine) as s:
        with pytest.raises(rv.ReviewError, match="does not exist"):
            rv.accept(s, 999999, "ivan")
        with pytest.raises(rv.ReviewError, match="no class 'referee'"):
            rv.relabel(s, store.anns["4:ball"], "referee", "ivan")
        with pytest.raises(rv.ReviewError, match="box must be"):
            rv.add(s, store.images[0], store.classes["ball"], "ivan", bbox=[1, 2, -3, 4])
        with pytest.raises(rv.ReviewError, match="segmentation must be"):
            rv.edit(s, store.anns["4:ball"], "ivan", segmentation=[[1, 2, 3]])
        with pytest.raises(rv.ReviewError, match="nothing to edit"):
            rv.edit(s, store.anns["4:ball"], "ivan")


def test_ambiguous_class_names_need_the_synset(store):
    with session_scope(store.engine) as s:
        s.add(m.OntologyClass(domain_id=store.domain_id, synset="ball.n.99", kind="dominant", name="Tennis Ball"))
    with session_scope(store.engine) as s:
        with pytest.raises(rv.ReviewError, match="ambiguous.*tennis_ball.n.01"):
            rv.relabel(s, store.anns["4:player"], "tennis ball", "ivan")
        rv.relabel(s, store.anns["4:player"], "ball.n.99", "ivan")


def test_open_proposals_creates_pending_annotations_once(store):
    with session_scope(store.engine) as s:
        img0 = s.get(m.Image, store.images[0])
        fresh = m.Image(source_id=img0.source_id, source_image_id="File:new.jpg", sha1="f" * 40, license_code="CC0-1.0",
                        status="stored", width=80, height=60, local_path=img0.local_path)
        s.add(fresh)
        s.flush()
        # A second model's proposal on an annotated image: for comparison, not for review.
        s.add(m.Proposal(image_id=store.images[0], class_id=store.classes["ball"], detector_label="sports ball",
                         model_name="yolo", model_version="v2", score=0.9, bbox_x=1, bbox_y=1, bbox_w=4, bbox_h=4))
        p = m.Proposal(image_id=fresh.id, class_id=store.classes["ball"], detector_label="sports ball",
                       model_name="yolo", model_version="v2", score=0.3, bbox_x=1, bbox_y=1, bbox_w=4, bbox_h=4)
        s.add(p)
    with session_scope(store.engine) as s:
        dom = s.get(m.Domain, store.domain_id)
        assert rv.open_proposals(s, dom, min_score=0.5) == 0
        assert rv.open_proposals(s, dom) == 1
        assert rv.open_proposals(s, dom) == 0
        ann = s.scalar(select(m.Annotation).where(m.Annotation.proposal_id == p.id))
        assert ann.status == "pending" and ann.segmentation is None and ann.area == 16
        ev = s.scalar(select(m.ReviewEvent).where(m.ReviewEvent.annotation_id == ann.id))
        assert ev.action == "create" and ev.origin == "proposal:yolo"


def test_list_lowest_score_first(store):
    with session_scope(store.engine) as s:
        rows = rv.list_annotations(s, s.get(m.Domain, store.domain_id), statuses=("pending",), limit=100)
    scores = [r.score for r in rows]
    assert scores == sorted(scores) and all(r.status == "pending" for r in rows)


@pytest.mark.parametrize("kw, msg", [
    ({"segmentation": [[float("nan"), 1, 5, 5, 9, 1]]}, "finite numbers"),  # pycocotools would crash the process
    ({"segmentation": [[1, 1, 5, 5, 9, 9]]}, "covers no pixel"),  # a line: an empty mask in every export
    ({"segmentation": [[500, 500, 600, 500, 600, 600]]}, "covers no pixel of the 80x60 image"),
    ({"segmentation": {"size": [10, 10], "counts": [0, 100]}}, r"RLE size \[10, 10\] is not the image's"),
    ({"segmentation": {"size": [60, 80], "counts": ""}}, "RLE counts must be"),
    ({"bbox": [1, 1, float("inf"), 5]}, "box must be"),
])
def test_unusable_shapes_are_refused_and_logged_nowhere(store, kw, msg):
    a = store.anns["4:player"]
    with pytest.raises(rv.ReviewError, match=msg):
        with session_scope(store.engine) as s:
            rv.edit(s, a, "ivan", **kw)
    with pytest.raises(rv.ReviewError, match=msg):
        with session_scope(store.engine) as s:
            rv.add(s, store.images[4], store.classes["ball"], "ivan", **kw)
    assert _events(store.engine, a) == []
    with Session(store.engine) as s:
        assert s.get(m.Annotation, a).version == 1
