"""A team on one real PostgreSQL server: harvests and annotation workers in their own processes
at once, claiming work through corpus.claims; one of them is killed with SIGKILL; afterwards the
store holds every image once, annotated once, and the killed member's work was taken over."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from corpus.store import models as m
from corpus.store.db import make_engine, session_scope, upgrade
from tests.harvest.support import FakeApi, Item, make_jpeg, seed_domain, serve_image

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLASSES = [("tennis_player.n.01", "tennis player", {"en": ["tennis player"]}),
           ("racket.n.04", "racket", {"en": ["racket"]}),
           ("ball.n.01", "ball", {"en": ["ball"]})]
PER_CLASS = 5


def child(repo_root, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(repo_root), "CORPUS_ORT_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "tests.scale.team_child", *map(str, args)], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen, timeout: float = 240) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def wait_for(cond, what: str, procs=(), timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                pytest.fail(f"a member ended early ({p.returncode}) while waiting for {what}: {out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            pytest.fail(f"timed out waiting for {what}: " + " | ".join(p.communicate()[1][-2000:] for p in procs))
        time.sleep(0.05)


def leases(engine, kind_prefix: str, pid: int | None = None) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        q = select(m.WorkClaim.key, m.WorkClaim.holder).where(m.WorkClaim.kind.like(f"{kind_prefix}%"))
        if pid is not None:
            q = q.where(m.WorkClaim.holder.like(f"%:{pid}:%"))
        return list(s.execute(q).all())


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_two_harvests_and_an_annotator_one_harvest_killed(pg_url, repo_root, tmp_path, bucket, httpserver, yolo_onnx):
    fs, name = bucket
    upgrade(pg_url)
    engine = make_engine(pg_url)
    ids = seed_domain(engine, classes=CLASSES)
    api = FakeApi()
    served: dict[str, str] = {}  # source id -> sha1
    for ci, (synset, cname, _) in enumerate(CLASSES):
        items = []
        for i in range(PER_CLASS):
            sid = f"c{ci}-{i}"
            data = make_jpeg(1000 + 50 * ci + i, size=(400, 300))
            serve_image(httpserver, f"/f/{sid}.jpg", data, delay_s=0.1)
            served[sid] = hashlib.sha1(data).hexdigest()
            items.append(Item(sid, f"/f/{sid}.jpg"))
        if ci == 1:  # the racket search also finds two of the tennis players' images ...
            items += [Item("c0-0", "/f/c0-0.jpg"), Item("c0-1", "/f/c0-1.jpg")]
        if ci == 2:  # ... and the ball search one, which H1 and H2 may then race for
            items.insert(0, Item("c0-2", "/f/c0-2.jpg"))
        api.add("alpha", cname, items)
    api.install(httpserver, "alpha")
    base = httpserver.url_for("/").rstrip("/")
    url = f"s3://{name}/team"
    flag = tmp_path / "harvests-done"
    synsets = [c[0] for c in CLASSES]

    # H1 takes the first two classes; H2, started once H1 holds them, asks for all three.
    h1 = child(repo_root, "harvest", pg_url, url, base, *synsets[:2])
    wait_for(lambda: len(leases(engine, "harvest", h1.pid)) == 2, "H1's class leases", [h1])
    h2 = child(repo_root, "harvest", pg_url, url, base, *synsets)
    a1 = child(repo_root, "annotate", pg_url, url, yolo_onnx, flag)
    wait_for(lambda: count(engine, m.Image, m.Image.status == "stored") >= 3, "H1 storing images", [h1, h2, a1])
    held = sorted(k for k, _ in leases(engine, "harvest", h1.pid))
    os.kill(h1.pid, signal.SIGKILL)
    h1.wait(10)
    assert h1.returncode == -signal.SIGKILL and len(held) == 2

    r2 = result(h2)
    flag.touch()
    ra = result(a1)
    assert r2["status"] == "done" and r2["rounds"] >= 2  # it waited, then took over H1's classes
    assert set(r2["classes"]) == set(synsets)

    # Nothing lost, nothing twice.
    with session_scope(engine) as s:
        rows = s.execute(select(m.Image.source_image_id, m.Image.sha1, m.Image.local_path, m.Image.status)).all()
        hits = s.execute(select(m.HarvestQuery.class_id, m.ImageHit.image_id).join(m.ImageHit)).all()
    assert sorted(r[0] for r in rows) == sorted(served)  # every served image, once
    assert all(r[3] == "stored" and r[1] == served[r[0]] for r in rows)
    per_class = {cid: len({i for c, i in hits if c == cid}) for cid in ids.values()}
    assert per_class == {ids[synsets[0]]: PER_CLASS, ids[synsets[1]]: PER_CLASS + 2, ids[synsets[2]]: PER_CLASS + 1}
    for _, sha1, rel, _ in rows:  # every row's file is in the bucket, whole
        assert hashlib.sha1(fs.cat_file(f"{name}/team/{rel}")).hexdigest() == sha1
    # Every image annotated exactly once, by the worker that ran alongside the harvests.
    assert count(engine, m.AnnotatedImage) == len(served) == ra["annotated"] and ra["failed"] == []
    with session_scope(engine) as s:
        dup = s.execute(text("select image_id from annotated_images group by image_id having count(*) > 1")).all()
    assert dup == []
    assert leases(engine, "") == []  # every lease given back (the killed one's were taken over)
    engine.dispose()


def test_three_annotation_workers_one_killed(pg_url, repo_root, tmp_path, shared_dir, yolo_onnx):
    from tests.scale.support import photo_store

    upgrade(pg_url)
    engine = make_engine(pg_url)
    data = tmp_path / "data"
    ids = photo_store(engine, data, shared_dir, n=6)
    workers = [child(repo_root, "annotate", pg_url, data, yolo_onnx, "-") for _ in range(3)]
    victim = workers[0]
    wait_for(lambda: count(engine, m.AnnotatedImage) >= 1 and leases(engine, "annotate", victim.pid),
             "the first worker holding claims mid-run", workers, timeout=120)
    held = [int(k) for k, _ in leases(engine, "annotate", victim.pid)]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    assert victim.returncode == -signal.SIGKILL and held
    results = [result(w) for w in workers[1:]]
    with session_scope(engine) as s:
        done = s.execute(select(m.AnnotatedImage.image_id, func.count()).group_by(m.AnnotatedImage.image_id)).all()
    assert sorted(done) == sorted((i, 1) for i in ids.values())  # all, once
    assert set(held) <= {i for i, _ in done}  # what the killed worker held was done by the others
    assert all(r["failed"] == [] for r in results)
    assert leases(engine, "") == []
    # Proposals are whole: each image's count matches its annotated_images row.
    with session_scope(engine) as s:
        for image_id, n in s.execute(select(m.AnnotatedImage.image_id, m.AnnotatedImage.n_proposals)):
            assert s.scalar(select(func.count()).select_from(m.Proposal).where(m.Proposal.image_id == image_id)) == n
    engine.dispose()
