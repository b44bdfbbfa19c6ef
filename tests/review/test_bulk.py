"""Bulk review as MIC21 worked (it kept proposals scoring >= 0.9): accept or reject every pending
annotation matching filters, with a dry run; list as table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus import review as rv
from corpus.store import models as m
from corpus.store.db import session_scope

runner = CliRunner()


def _cli(store, *args):
    r = runner.invoke(app, ["--db", store.db_url, "review", *args])
    return r, " ".join(r.output.split())


def _pending_scores(store):
    """annotation id -> proposal score, for pending annotations (the builder: 0.5 player, 0.6 ball, 0.7 racket)."""
    with Session(store.engine) as s:
        return dict(s.execute(select(m.Annotation.id, m.Proposal.score).join(
            m.Proposal, m.Proposal.id == m.Annotation.proposal_id).where(m.Annotation.status == "pending")).all())


def _events(store, action):
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(m.ReviewEvent).where(m.ReviewEvent.action == action))


def test_library_selects_by_every_filter(store):
    with session_scope(store.engine) as s:
        dom = s.get(m.Domain, store.domain_id)
        pending = _pending_scores(store)
        assert set(rv.matching_annotation_ids(s, dom)) == set(pending)
        assert set(rv.matching_annotation_ids(s, dom, min_score=0.65)) == {a for a, sc in pending.items() if sc >= 0.65}
        assert set(rv.matching_annotation_ids(s, dom, max_score=0.55)) == {a for a, sc in pending.items() if sc <= 0.55}
        balls = set(rv.matching_annotation_ids(s, dom, class_ref="tennis ball"))
        assert balls == {a for k, a in store.anns.items() if k.endswith(":ball") and a in pending}
        assert rv.matching_annotation_ids(s, dom, model="yolo") == rv.matching_annotation_ids(s, dom)
        assert rv.matching_annotation_ids(s, dom, model="yolo@v1") == rv.matching_annotation_ids(s, dom)
        assert rv.matching_annotation_ids(s, dom, model="maskrcnn") == []
        img4 = set(rv.matching_annotation_ids(s, dom, image_id=store.images[4]))
        assert img4 == {store.anns[f"4:{c}"] for c in ("player", "ball", "racket")}


def test_cli_bulk_accept_dry_run_then_for_real(store):
    pending = _pending_scores(store)
    high = {a for a, sc in pending.items() if sc >= 0.65}
    r, out = _cli(store, "accept", "--domain", "sport", "--min-score", "0.65", "--dry-run")
    assert r.exit_code == 0, out
    assert f"{len(high)} annotation(s) would be accepted" in out
    assert _events(store, "accept") == 0
    r, out = _cli(store, "accept", "--domain", "sport", "--min-score", "0.65", "--who", "maria")
    assert r.exit_code == 0, out
    assert f"{len(high)} annotation(s) accepted by maria" in out
    assert _events(store, "accept") == len(high)
    with Session(store.engine) as s:
        for a in high:
            ann = s.get(m.Annotation, a)
            assert (ann.status, ann.reviewed_by) == ("accepted", "maria")
    # Already decided ones are not pending any more: a second run finds nothing.
    r, out = _cli(store, "accept", "--domain", "sport", "--min-score", "0.65")
    assert r.exit_code == 0 and "0 annotation(s) accepted" in out


def test_cli_bulk_reject_by_class_and_image(store):
    r, out = _cli(store, "reject", "--class", "tennis racket", "--image", str(store.images[4]), "--note", "no racket")
    assert r.exit_code == 0, out
    assert "1 annotation(s) rejected" in out
    with Session(store.engine) as s:
        assert s.get(m.Annotation, store.anns["4:racket"]).status == "rejected"
        ev = s.scalars(select(m.ReviewEvent).where(m.ReviewEvent.annotation_id == store.anns["4:racket"])).one()
        assert ev.action == "reject" and ev.note == "no racket"


@pytest.mark.parametrize("args, msg", [
    ([], "give annotation ids or filters"),
    (["1", "--min-score", "0.5"], "either annotation ids or filters"),
    (["--min-score", "0.9", "--max-score", "0.1"], "min-score 0.9 is above max-score 0.1"),
    (["--class", "referee"], "no class 'referee'"),
])
def test_cli_bulk_errors(store, args, msg):
    r, out = _cli(store, "accept", *args)
    assert r.exit_code == 1 and msg in out and "Traceback" not in out
    assert _events(store, "accept") == 0


def test_list_formats(store):
    r, out = _cli(store, "list", "--format", "json", "--min-score", "0.65", "--limit", "0")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    pending = _pending_scores(store)
    assert {x["id"] for x in rows} == {a for a, sc in pending.items() if sc >= 0.65}
    assert {"id", "image_id", "class", "synset", "status", "score", "model", "bbox", "version"} <= set(rows[0])
    assert rows[0]["model"] == "yolo@v1"
    r, _ = _cli(store, "list", "--format", "csv", "--model", "yolo", "--limit", "0")
    table = list(csv.DictReader(io.StringIO(r.output)))
    assert len(table) == len(pending) and table[0]["class"] in ("tennis player", "tennis ball", "tennis racket")
    r, out = _cli(store, "list", "--format", "yaml")
    assert r.exit_code == 1 and "table, json or csv" in out


@pytest.mark.parametrize("args", [("accept", "--min-score", "90"), ("reject", "--max-score", "1.5"), ("list", "--min-score", "-0.1")])
def test_a_score_filter_outside_0_1_is_refused(db_url, args):
    # Scores are 0..1: '--min-score 90' (meant as percent) matched nothing, and '--max-score 90' everything.
    r = CliRunner().invoke(app, ["--db", db_url, "review", args[0], "--domain", "sport", *args[1:]])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and args[1] in r.output
