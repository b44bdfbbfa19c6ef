"""A harvest killed with SIGKILL at arbitrary moments, then run again: no duplicate rows, no orphan
or partial files, every row's file complete, nothing lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.store.models import HarvestQuery, Image, ImageHit
from tests.harvest.support import FakeApi, Item, make_jpeg, serve_image
from tests.harvest.test_pipeline import assert_store_consistent

N = 30  # at alpha; beta re-serves the first 10 of them (same bytes, other ids)


def stored(db_path) -> int:
    con = sqlite3.connect(db_path, timeout=30)
    try:
        return con.execute("select count(*) from images where status = 'stored'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def run_child(repo_root, db_url, data_dir, base_url) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.harvest.harvest_child", db_url, str(data_dir), base_url],
        cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.slow
def test_sigkill_then_rerun_leaves_a_consistent_complete_store(repo_root, engine, seeded, db_url, tmp_path, slow_server):
    api = FakeApi()
    for i in range(N):
        serve_image(slow_server, f"/a/{i}.jpg", make_jpeg(100 + i), delay_s=0.03)
    for i in range(10):
        serve_image(slow_server, f"/b/{i}.jpg", make_jpeg(100 + i), delay_s=0.03)
    api.add("alpha", "tennis player", [Item(f"a{i}", f"/a/{i}.jpg") for i in range(N)])
    api.add("beta", "tennis player", [Item(f"b{i}", f"/b/{i}.jpg") for i in range(10)])
    api.install(slow_server, "alpha")
    api.install(slow_server, "beta")
    base = slow_server.url_for("/").rstrip("/")
    data_dir = tmp_path / "data"
    db_path = db_url.removeprefix("sqlite:///")

    kills = 0
    for want in (3, 10, 18):  # kill at different stages of the run
        proc = run_child(repo_root, db_url, data_dir, base)
        deadline = time.monotonic() + 20
        while stored(db_path) < want and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(10)
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read()
    assert kills >= 2  # the scenario really killed runs mid-way

    proc = run_child(repo_root, db_url, data_dir, base)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("done")

    with Session(engine) as s:
        rows = s.scalars(select(Image)).all()
        assert len(rows) == N and {r.status for r in rows} == {"stored"}
        hit_ids = sorted(h.source_image_id for h in s.scalars(select(ImageHit)))
        assert hit_ids == sorted([f"a{i}" for i in range(N)] + [f"b{i}" for i in range(10)])
        assert all(q.exhausted for q in s.scalars(select(HarvestQuery)))
    assert_store_consistent(engine, data_dir)
    leftovers = [p for p in data_dir.rglob(".tmp-*")]
    assert leftovers == []


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_marks_the_run_interrupted(repo_root, engine, db_url, tmp_path, slow_server):
    from corpus.store.models import HarvestRun
    from tests.harvest.test_cli import replay_apis

    env, _ = replay_apis(slow_server, delay_s=3.0)
    cmd = [sys.executable, "cli.py", "--db", db_url, "--data-dir", str(tmp_path / "data"), "harvest",
           "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en", "--license-policy", "any-open"]
    proc = subprocess.Popen(cmd, cwd=repo_root, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    # The server logs a request when it has answered: the searches are answered at once, the
    # downloads they start take 3 s each.
    while len(slow_server.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in out + err and "Traceback" not in err
    assert not any(req.path.startswith("/files") for req, _ in slow_server.log[:2])
    with Session(engine) as s:
        assert s.scalar(select(HarvestRun.status)) == "interrupted"
    assert_store_consistent(engine, tmp_path / "data")

    slow_server.clear()
    env, _ = replay_apis(slow_server)  # same answers, now without the delay
    proc = subprocess.run(cmd, cwd=repo_root, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Session(engine) as s:
        assert s.scalars(select(HarvestRun.status).order_by(HarvestRun.id)).all() == ["interrupted", "done"]
        assert len(s.scalars(select(Image).where(Image.status == "stored")).all()) == 3
    assert_store_consistent(engine, tmp_path / "data")
