"""The queue's two ways to read (a walk of proposals in score order, or a sorted read of few
matching annotations) give the same images in the same order, with every filter."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from corpus import review as rv
from corpus.store import models as m
from corpus.web import queue as q
from tests.coco.builder import build


@pytest.fixture
def big(engine, tmp_path):
    store = build(engine, tmp_path / "data", n_images=24)
    rng = random.Random(3)
    with Session(engine) as s:
        for pid in range(1, 24 * 3 + 1):
            s.execute(update(m.Proposal).where(m.Proposal.id == pid).values(score=round(rng.random(), 3)))
        s.add(m.Annotation(image_id=store.images[3], class_id=store.classes["ball"], bbox_x=1, bbox_y=1, bbox_w=3,
                           bbox_h=3, area=9, origin="manual", status="pending"))  # no proposal: last
        rv.mark_image_done(s, store.images[7], reviewer="ivan")
        s.commit()
    return store


@pytest.mark.parametrize("f", [q.QueueFilter(), q.QueueFilter(statuses=("pending", "edited")),
                               q.QueueFilter(model="yolo"), q.QueueFilter(done="done"), q.QueueFilter(done="all"),
                               q.QueueFilter(statuses=("rejected",), done="all")], ids=str)
def test_walk_and_sorted_read_agree(big, engine, monkeypatch, f):
    with Session(engine) as s:
        monkeypatch.setattr(q, "DENSE", 1)
        walked = q.queue_image_ids(s, big.domain_id, f, limit=100)
        paged = q.queue_image_ids(s, big.domain_id, f, limit=3, offset=2)
        monkeypatch.setattr(q, "DENSE", 10**9)
        sorted_ = q.queue_image_ids(s, big.domain_id, f, limit=100)
        # the truth, the slow way: lowest score of a matching annotation per image
        rows = s.execute(
            select(m.Annotation.image_id, m.Proposal.score, m.Annotation.status)
            .outerjoin(m.Proposal, m.Proposal.id == m.Annotation.proposal_id)).all()
        done = rv.done_image_ids(s)
    best: dict[int, float | None] = {}
    for image_id, score, status in rows:
        if status not in f.statuses or (f.done == "todo" and image_id in done) or (f.done == "done" and image_id not in done):
            continue
        if f.model and score is None:
            continue
        prev = best.get(image_id, "none")
        best[image_id] = score if prev == "none" else (prev if score is None else (score if prev is None else min(prev, score)))
    truth = sorted(best.items(), key=lambda kv: (kv[1] is None, kv[1] if kv[1] is not None else 0))
    assert walked == sorted_
    assert [i for i, _ in walked] == [i for i, _ in truth] or [s for _, s in walked] == [s for _, s in truth]
    assert {i for i, _ in walked} == set(best)
    assert paged == walked[2:5]


def test_bad_filters_are_clear_errors():
    with pytest.raises(ValueError, match="unknown status maybe"):
        q.QueueFilter(statuses=("maybe",))
    with pytest.raises(ValueError, match="unknown image state 'soon'"):
        q.QueueFilter(done="soon")
