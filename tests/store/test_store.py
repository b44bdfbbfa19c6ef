"""The store on SQLite and on a real PostgreSQL server: migrations, constraints, review log,
concurrent updates."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError, DBAPIError
from sqlalchemy.orm import Session

from corpus.store import models as m
from corpus.store.db import current_revision, downgrade, head_revision, make_engine, run_with_retry, upgrade
from tests.store.fill import fill


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


def _counts(url: str) -> dict[str, int]:
    eng = make_engine(url)
    try:
        with Session(eng) as s:
            return {t.name: s.scalar(select(func.count()).select_from(t)) for t in m.Base.metadata.sorted_tables}
    finally:
        eng.dispose()


def test_upgrade_downgrade_upgrade_on_empty_database(empty_url):
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision(empty_url)
    eng = make_engine(empty_url)
    assert set(m.Base.metadata.tables) <= set(inspect(eng).get_table_names())
    eng.dispose()
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    eng = make_engine(empty_url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    eng.dispose()
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision(empty_url)


def test_migrations_on_filled_database(empty_url):
    upgrade(empty_url)
    eng = make_engine(empty_url)
    with Session(eng) as s:
        fill(s)
    eng.dispose()
    before = _counts(empty_url)
    assert before["images"] == 1 and before["review_events"] == 1
    upgrade(empty_url)  # already at head: a no-op that keeps every row
    assert _counts(empty_url) == before
    downgrade(empty_url, "base")  # drops tables, data included, without errors on FKs/triggers
    upgrade(empty_url)
    assert all(n == 0 for n in _counts(empty_url).values())
    eng = make_engine(empty_url)
    with Session(eng) as s:
        fill(s)  # the re-created schema takes the same data again
    eng.dispose()
    assert _counts(empty_url) == before


def test_models_match_migrations(empty_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(empty_url)
    eng = make_engine(empty_url)
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    eng.dispose()
    assert diff == []


@pytest.fixture
def filled(empty_url):
    upgrade(empty_url)
    eng = make_engine(empty_url)
    with Session(eng) as s:
        ids = fill(s)
    yield eng, ids
    eng.dispose()


def test_one_image_per_source_id(filled):
    eng, ids = filled
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.Image(source_id=ids["source"], source_image_id="File:A.jpg", license_code="CC0-1.0"))
        s.commit()


def test_one_image_per_sha1_but_many_without_sha1(filled):
    eng, ids = filled
    with Session(eng) as s:
        s.add_all([m.Image(source_id=ids["source"], source_image_id=f"File:pending{i}.jpg", license_code="CC0-1.0")
                   for i in range(3)])
        s.commit()
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.Image(source_id=ids["source"], source_image_id="File:B.jpg", sha1="a" * 40, license_code="CC0-1.0"))
        s.commit()


def test_one_label_per_class_and_language_and_one_pass_per_model(filled):
    eng, ids = filled
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.Label(class_id=ids["class"], lang="bg", lemmas=["x"], source="override:me"))
        s.commit()
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.AnnotatedImage(image_id=ids["image"], model_name="yolov5s-seg", model_version="sha256:00"))
        s.commit()


def test_check_constraints_reject_unknown_values(filled):
    eng, ids = filled
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.OntologyClass(domain_id=ids["domain"], synset="x.n.01", kind="mystery", name="x"))
        s.commit()


def test_foreign_keys_are_enforced(filled):
    eng, _ = filled
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(m.ImageHit(image_id=999_999, query_id=999_999))
        s.commit()


def test_review_log_is_append_only(filled):
    eng, ids = filled
    with Session(eng) as s:
        s.add(m.ReviewEvent(annotation_id=ids["annotation"], who="ann", action="accept",
                            before={"status": "pending"}, after={"status": "accepted"}))
        s.commit()
        assert s.scalar(select(func.count()).select_from(m.ReviewEvent)) == 2
    for stmt in ("UPDATE review_events SET who = 'mallory'", "DELETE FROM review_events"):
        with eng.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(stmt))
            conn.commit()
    with Session(eng) as s:
        assert s.scalars(select(m.ReviewEvent.who).order_by(m.ReviewEvent.id)).all() == ["tester", "ann"]


def test_stale_update_is_refused_not_lost(filled):
    from sqlalchemy.orm.exc import StaleDataError

    eng, ids = filled
    s1, s2 = Session(eng), Session(eng)
    a1 = s1.get(m.Annotation, ids["annotation"])
    a2 = s2.get(m.Annotation, ids["annotation"])
    a1.status = "accepted"
    s1.commit()
    a2.status = "rejected"
    with pytest.raises(StaleDataError):
        s2.commit()
    s2.rollback()
    s1.close()
    s2.close()
    with Session(eng) as s:
        ann = s.get(m.Annotation, ids["annotation"])
        assert (ann.status, ann.version) == ("accepted", 2)


def _bump_worker(url: str, annotation_id: int, times: int, barrier) -> None:
    eng = make_engine(url)
    barrier.wait()

    def bump(session):
        ann = session.get(m.Annotation, annotation_id)
        ann.bbox_w = ann.bbox_w + 1
        ann.reviewed_by = (ann.reviewed_by or "") + "x"

    for _ in range(times):
        run_with_retry(eng, bump, attempts=200)
    eng.dispose()


def test_two_processes_updating_one_annotation_lose_no_update(filled, empty_url):
    eng, ids = filled
    times = 25
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_bump_worker, args=(empty_url, ids["annotation"], times, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Session(eng) as s:
        ann = s.get(m.Annotation, ids["annotation"])
        assert ann.bbox_w == 3 + 2 * times
        assert len(ann.reviewed_by) == 2 * times
        assert ann.version == 1 + 2 * times


def test_sqlite_pragmas(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    eng = make_engine(url)
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()
