"""The Python API (corpus.Corpus) over a real SQLite store: the round as calls, typed errors."""

from __future__ import annotations

import json

import pytest

from corpus import Corpus
from corpus.errors import ConflictError, CorpusError, NotFoundError, UsageError
from corpus.progress import ProgressEvent
from tests.coco.builder import build


@pytest.fixture
def corpus(db_url, engine, tmp_path):
    store = build(engine, tmp_path / "data")
    with Corpus.open(db_url=db_url, data_dir=store.data_dir) as c:
        c.store = store  # the builder's ids, for the assertions
        yield c


def test_open_is_lazy_and_creates_a_new_store_on_first_use(tmp_path):
    path = tmp_path / "new.db"
    c = Corpus.open(db_url=f"sqlite:///{path}", data_dir=tmp_path / "data")
    assert not path.exists()  # nothing touched until a call needs the store
    assert c.status() == []
    assert path.exists()
    current, head = c.revision()
    assert current == head and head
    c.close()


def test_status_and_review_decisions(corpus):
    (row,) = [r for r in corpus.status() if r.domain == "sport"]
    assert row.classes == 4 and row.proposals == 18
    assert row.annotations == {"accepted": 3, "edited": 3, "pending": 9, "rejected": 3}
    # Stored images per language and source come with the status (the CLI only renders them).
    from corpus.store.queries import images_per_language, images_per_source

    with corpus.session() as s:
        assert (row.languages, row.sources) == (images_per_language(s, "sport"), images_per_source(s, "sport"))
    pending = corpus.review.list(domain="sport")
    assert pending and all(r.status == "pending" for r in pending)
    first = pending[0].id
    (event,) = corpus.review.accept(ids=[first], who="maria", note="fine")
    assert event.after["status"] == "accepted" and event.who == "maria"
    assert first in {r.id for r in corpus.review.list(domain="sport", statuses="accepted")}
    # A second reviewer who saw the old version is refused, and nothing changes.
    with pytest.raises(ConflictError):
        corpus.review.reject(ids=first, who="ivan", expected_version=event.after["version"] - 1)
    assert first in {r.id for r in corpus.review.list(domain="sport", statuses="accepted")}
    corpus.review.relabel(annotation_id=first, class_ref="tennis ball", who="maria")
    (edited,) = [r for r in corpus.review.list(domain="sport", statuses="edited", limit=1000) if r.id == first]
    assert edited.class_name == "tennis ball" and edited.reviewed_by == "maria"
    new_id = corpus.review.add(image_id=corpus.store.images[0], class_ref="tennis_ball.n.01", bbox=[1, 1, 5, 5],
                               who="maria")
    assert new_id in {r.id for r in corpus.review.list(domain="sport", statuses="accepted", limit=1000)}
    image = corpus.store.images[0]
    done = corpus.review.done(image_ids=[image], who="maria")
    assert done.changed == 1 and done.images == [image]
    assert corpus.review.done(image_ids=image, who="maria").changed == 0  # already done
    assert corpus.review.done(image_ids=image, undo=True, who="maria").changed == 1
    with pytest.raises(UsageError, match="image ids"):
        corpus.review.done()


def test_errors_are_typed_and_never_name_flags(corpus):
    with pytest.raises(NotFoundError) as info:
        corpus.review.list(domain="nope")
    assert "--" not in str(info.value) and info.value.param == "domain"
    with pytest.raises(UsageError, match="unknown status"):
        corpus.review.list(statuses="maybe")
    with pytest.raises(UsageError) as info:
        corpus.export_coco(out_dir="x", files="teleport")
    assert info.value.param == "files"
    with pytest.raises(CorpusError):
        corpus.export_coco(out_dir="x", splits="train=0.5")
    with pytest.raises(CorpusError, match="unknown source"):
        corpus.harvest(domain="sport", sources="bing")


def test_export_with_progress_and_import_round_trip(corpus, tmp_path):
    events: list[ProgressEvent] = []
    summary = corpus.export_coco(out_dir=tmp_path / "out", domain="sport", statuses="all", files="none",
                                 progress=events.append)
    doc = json.loads(summary.files["all"].read_text()) if "all" in summary.files else \
        json.loads(next(iter(summary.files.values())).read_text())
    assert len(doc["images"]) == sum(summary.images.values()) > 0
    last = {e.stage: e for e in events}
    # Every selected row is counted, also those the license policy or a missing file leaves out.
    assert last["images"].done == last["images"].total >= sum(summary.images.values())
    assert last["annotations"].done == last["annotations"].total >= sum(summary.annotations.values())
    ca = corpus.export_coco_annotator(out_dir=tmp_path / "ca", domain="sport", files="none")
    assert ca.parts and ca.images > 0
    results = corpus.evaluate(domain="sport", plot=tmp_path / "eval.png")
    assert results and (tmp_path / "eval.png").stat().st_size > 0


def test_ontology_without_a_store(tmp_path):
    from corpus.api import Ontology

    onto = Ontology()
    assert "sport" in onto.domains()
    sport = onto.get(domain="sport")
    assert sport.name == "sport" and len(sport.dominant) > 10
    rows = dict((lang, total) for lang, _, total in onto.coverage(domains="sport"))
    assert rows["en"] == 1.0
    text = onto.export(format="csv", domains=["sport"], languages="en,bg", out=tmp_path / "sport.csv")
    assert (tmp_path / "sport.csv").read_text(encoding="utf-8") == text and "тенис" in text
    with pytest.raises(NotFoundError):
        onto.get(domain="nope")
    with pytest.raises(UsageError, match="unknown export format"):
        onto.export(format="xml")


def test_bulk_review_by_filters(corpus):
    high = [r.id for r in corpus.review.list(domain="sport", min_score=0.65, limit=0)]
    assert high and all(r.score >= 0.65 for r in corpus.review.list(domain="sport", min_score=0.65, limit=0))
    assert corpus.review.accept_matching(domain="sport", min_score=0.65, model="yolo", dry_run=True) == high
    assert corpus.review.list(domain="sport", min_score=0.65, limit=0)  # the dry run changed nothing
    assert corpus.review.accept_matching(domain="sport", min_score=0.65, who="maria") == high
    assert corpus.review.list(domain="sport", min_score=0.65, limit=0) == []
    low = corpus.review.reject_matching(domain="sport", max_score=0.55, who="maria")
    assert low and not corpus.review.list(domain="sport", max_score=0.55, limit=0)
    with pytest.raises(UsageError, match="min_score 0.9 is above max_score 0.1"):
        corpus.review.accept_matching(domain="sport", min_score=0.9, max_score=0.1)
