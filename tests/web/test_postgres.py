"""The review app on a real PostgreSQL server, as a team uses it: two reviewers on one
annotation (the later one gets a conflict), the queue's index walk, progress and done."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.store import models as m
from corpus.store.db import make_engine, upgrade
from tests.coco.builder import build
from tests.web.conftest import Reviewer, serve

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_url, tmp_path):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    yield build(engine, tmp_path / "data")
    engine.dispose()


def test_a_team_on_postgresql(live, pg_store, monkeypatch):
    store = pg_store
    # walk proposals in score order even on this small store, as on a big one
    monkeypatch.setattr("corpus.web.queue.DENSE", 1)
    serve(live, store)
    with Reviewer(base_url=live.url, follow_redirects=True) as ivan, \
            Reviewer(base_url=live.url, follow_redirects=True) as maria:
        ivan.login("ivan")
        maria.login("maria")
        queue = [i["id"] for i in ivan.get("/api/queue").json()["images"]]
        with Session(store.engine) as s:
            pending = set(s.scalars(select(m.Annotation.image_id).where(m.Annotation.status == "pending")))
        assert set(queue) == pending
        a = store.anns["5:player"]
        assert ivan.act(f"/api/annotations/{a}/accept", {"version": 1}).status_code == 200
        r = maria.act(f"/api/annotations/{a}/reject", {"version": 1})
        assert r.status_code == 409 and "ivan" in r.json()["error"]
        assert maria.act(f"/api/annotations/{a}/reject", {"version": 2}).status_code == 200
        assert maria.act(f"/api/images/{store.images[5]}/done", {}).json()["changed"] is True
        assert store.images[5] not in [i["id"] for i in ivan.get("/api/queue").json()["images"]]
        prog = {p["who"]: p for p in ivan.get("/api/progress").json()["reviewers"]}
        assert prog["maria"]["counts"] == {"rejected": 1} and prog["maria"]["images_done"] == 1
        assert "ivan" not in prog  # his decision was overruled: the latest is maria's
        assert maria.act("/api/undo").json()["image_id"] == store.images[5]  # undo the done
    with Session(store.engine) as s:
        evs = [(e.action, e.who, e.origin) for e in s.scalars(select(m.ReviewEvent).order_by(m.ReviewEvent.id))]
    assert evs == [("accept", "ivan", "web"), ("reject", "maria", "web"), ("done", "maria", "web"),
                   ("undone", "maria", "web")]
