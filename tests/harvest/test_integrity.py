"""Harvest integrity (issue 11): shared data folders lose nothing, hostile API text cannot block a
run, local write errors stop the run without blaming the image, keys echoed by a server are never
stored, killed runs are recognised, near-duplicates keep the best copy."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket

import pytest
from PIL import Image as PILImage
from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.harvest import files
from corpus.harvest.hashing import sha1_hex
from corpus.harvest.run import HarvestOptions, harvest
from corpus.store.db import make_engine, upgrade
from corpus.store.identity import store_id
from corpus.store.models import HarvestRun, Image, ImageHit
from tests.harvest.support import FakeApi, Item, LocalSource, make_jpeg, seed_domain, serve_image, settings_for
from tests.harvest.test_pipeline import alpha, assert_store_consistent, images, publish

OPTS = HarvestOptions("sport", languages=("en",), per_class=100, per_page=10, retry_backoff_s=0.01)


@pytest.fixture
def second_store(tmp_path, _migrated_template):
    """Another store (its own SQLite file), seeded with the same domain."""
    path = tmp_path / "second.db"
    shutil.copyfile(_migrated_template, path)
    eng = make_engine(f"sqlite:///{path}")
    seed_domain(eng)
    yield eng
    eng.dispose()


def stored_files_intact(engine, data_dir) -> int:
    rows = [i for i in images(engine) if i.status == "stored"]
    for r in rows:
        p = data_dir / r.local_path
        assert p.is_file(), f"{r.local_path} of a stored row is gone"
        assert sha1_hex(p.read_bytes()) == r.sha1
    return len(rows)


# -- item 1: a shared data folder --------------------------------------------------------------


def test_two_stores_sharing_a_data_folder_both_keep_their_images(engine, seeded, second_store, hsettings, httpserver, api):
    """The issue's scenario: harvest into store A, then into store B with the same data folder.
    Before: B's start-up clean-up deleted A's five files ("5 orphan file(s)")."""
    publish(httpserver, api, "alpha", "tennis player", 5)
    user_file = hsettings.data_dir / "images" / "my-notes.txt"
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.kept == 5
    user_file.write_text("mine")
    lookalike = hsettings.data_dir / files.relative_path("ab" * 20, "jpg")  # named like an image
    lookalike.parent.mkdir(parents=True, exist_ok=True)
    lookalike.write_bytes(b"a user's file")

    # Store B: the same folder, two images of its own and one it shares with A (same bytes).
    for i in (20, 21):
        serve_image(httpserver, f"/img/b{i}.jpg", make_jpeg(i))
    api.add("beta", "tennis player", [Item("b20", "/img/b20.jpg"), Item("b21", "/img/b21.jpg"),
                                      Item("b-shared", "/img/0.jpg")])
    api.install(httpserver, "beta")
    src_b = LocalSource("beta", httpserver.url_for("/"))
    rep_b = harvest(second_store, hsettings, {"alpha": src_b}, OPTS)
    assert rep_b.status == "done" and rep_b.kept == 3
    assert (rep_b.cleaned.orphans, rep_b.cleaned.temp_files) == (0, 0)

    assert stored_files_intact(engine, hsettings.data_dir) == 5  # A's files all there, rows valid
    assert stored_files_intact(second_store, hsettings.data_dir) == 3
    assert user_file.read_text() == "mine" and lookalike.read_bytes() == b"a user's file"
    # The folder knows both stores, and each store keeps its id.
    marker_dir = hsettings.data_dir / files.STORES_DIR
    assert sorted(p.name for p in marker_dir.iterdir()) == sorted([store_id(engine), store_id(second_store)])
    assert store_id(engine) != store_id(second_store)

    # And A again, after B: still nothing of B's (nor the user's) is touched.
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert (rep.cleaned.orphans, rep.cleaned.temp_files) == (0, 0)
    assert stored_files_intact(second_store, hsettings.data_dir) == 3
    assert user_file.exists() and lookalike.exists()


def test_start_up_removes_only_this_stores_own_leftovers(engine, seeded, hsettings, httpserver, api):
    """What a kill leaves (a file placed but its row never committed, a half-written temporary
    file) is removed at the next start; a file of unknown origin is left alone."""
    publish(httpserver, api, "alpha", "tennis player", 2)
    folder = files.DataFolder(hsettings.data_dir, store_id(engine))
    folder.open()
    data = make_jpeg(99)
    rel = files.relative_path(sha1_hex(data), "jpg")
    placed = folder.place(rel, data)  # as a killed run leaves it: the file, its claim, no row
    assert placed.created and (hsettings.data_dir / rel).is_file()
    (folder.tmp / f"{files.TMP_PREFIX}{'cd' * 20}.jpg.partial").write_bytes(b"half")
    unknown = hsettings.data_dir / files.relative_path("ef" * 20, "jpg")
    unknown.parent.mkdir(parents=True, exist_ok=True)
    unknown.write_bytes(b"someone else's")
    old_tmp = unknown.parent / ".tmp-from-an-older-version"
    old_tmp.write_bytes(b"?")

    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert (rep.cleaned.orphans, rep.cleaned.temp_files) == (1, 2)
    assert not (hsettings.data_dir / rel).exists() and os.listdir(folder.tmp) == []
    assert unknown.read_bytes() == b"someone else's" and old_tmp.exists()
    assert stored_files_intact(engine, hsettings.data_dir) == 2


def test_another_stores_unconfirmed_file_is_replaced_not_shared(engine, seeded, second_store, hsettings, httpserver, api):
    """Store A was killed after placing a file (its claim still there). Store B then finds the
    same picture: it must not rely on A's file, which A's next clean-up deletes."""
    data = make_jpeg(5)
    rel = files.relative_path(sha1_hex(data), "jpg")
    a = files.DataFolder(hsettings.data_dir, store_id(engine))
    a.open()
    a.place(rel, data)  # A's unconfirmed leftover
    serve_image(httpserver, "/img/5.jpg", data)
    api.add("alpha", "tennis player", [Item("five", "/img/5.jpg")])
    assert harvest(second_store, hsettings, {"alpha": alpha(httpserver, api)}, OPTS).kept == 1
    a.clean(set())  # A's next start-up
    assert stored_files_intact(second_store, hsettings.data_dir) == 1


# -- item 3: local write errors ----------------------------------------------------------------


def _unshare_ok() -> bool:
    import subprocess

    if shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return r.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_ok(), reason="needs unprivileged user+mount namespaces (unshare)")


def _cli_in_namespace(repo_root, setup: str, args: list[str], env: dict[str, str], timeout: float = 60):
    """Run `python cli.py ARGS` in a private mount namespace after the shell ``setup`` (mounts)."""
    import shlex
    import subprocess
    import sys

    cmd = f"{setup} && exec {shlex.quote(sys.executable)} cli.py " + " ".join(shlex.quote(a) for a in args)
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", cmd], cwd=repo_root,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def _failed_row_first(engine, db_url, tmp_path, httpserver):
    """A first, normal run in which one download fails with HTTP 500 (attempts = 1)."""
    from werkzeug.wrappers import Response

    from tests.harvest.test_cli import invoke, replay_apis

    httpserver.expect_request("/files/c0.jpg").respond_with_handler(lambda r: Response("down", status=500))
    env, _ = replay_apis(httpserver)
    r = invoke(db_url, tmp_path / "data", "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en",
               "--license-policy", "any-open", env=env)
    assert r.exit_code == 0, r.output
    with Session(engine) as s:
        failed = s.scalars(select(Image).where(Image.status == "failed")).all()
        assert [(f.reject_reason, f.extra["attempts"]) for f in failed] == [("http_500", 1)]
        n_stored = len(s.scalars(select(Image).where(Image.status == "stored")).all())
    httpserver.clear()
    env, _ = replay_apis(httpserver)  # now c0 answers too
    return env, n_stored


def _assert_nothing_blamed(engine, n_stored_before):
    with Session(engine) as s:
        rows = s.scalars(select(Image)).all()
        failed = [r for r in rows if r.status == "failed"]
        assert [(f.reject_reason, f.extra["attempts"]) for f in failed] == [("http_500", 1)]  # unchanged
        assert len([r for r in rows if r.status == "stored"]) == n_stored_before
        assert not [r for r in rows if (r.reject_reason or "") in ("io_error", "error")]
        runs = s.scalars(select(HarvestRun).order_by(HarvestRun.id)).all()
        assert runs[-1].status == "failed" and "cannot write" in runs[-1].summary["error"]


@needs_unshare
def test_read_only_images_folder_stops_the_run_and_blames_no_image(repo_root, engine, db_url, tmp_path, httpserver):
    env, n_stored = _failed_row_first(engine, db_url, tmp_path, httpserver)
    for p in (tmp_path / "data" / "images").rglob("*.jpg"):
        p.unlink()  # the stored files go missing: their rows stay, new copies would be written
    with Session(engine) as s:
        for img in s.scalars(select(Image).where(Image.status == "stored")):
            s.delete(img)
        s.commit()
    images_dir = tmp_path / "data" / "images"
    setup = f"mount --bind {images_dir} {images_dir} && mount -o remount,bind,ro {images_dir}"
    args = ["--db", db_url, "--data-dir", str(tmp_path / "data"), "harvest", "--domain", "sport", "--classes",
            "tennis_player.n.01", "--languages", "en", "--license-policy", "any-open"]
    r = _cli_in_namespace(repo_root, setup, args, env)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "cannot write to the data folder" in out and "Read-only file system" in out and "Traceback" not in out
    _assert_nothing_blamed(engine, 0)


@needs_unshare
def test_full_disk_tmpfs_stops_the_run_and_blames_no_image(repo_root, engine, db_url, tmp_path, httpserver):
    """A real full disk: the data folder is a 96 KiB tmpfs, too small for one 1024x576 photo."""
    env, n_stored = _failed_row_first(engine, db_url, tmp_path, httpserver)
    data = tmp_path / "data"
    shutil.rmtree(data)
    data.mkdir()
    with Session(engine) as s:
        for img in s.scalars(select(Image).where(Image.status == "stored")):
            s.delete(img)
        s.commit()
    setup = f"mount -t tmpfs -o size=96k tmpfs {data}"
    args = ["--db", db_url, "--data-dir", str(data), "harvest", "--domain", "sport", "--classes",
            "tennis_player.n.01", "--languages", "en", "--license-policy", "any-open"]
    r = _cli_in_namespace(repo_root, setup, args, env)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "cannot write to the data folder" in out and "No space left on device" in out and "Traceback" not in out
    _assert_nothing_blamed(engine, 0)
    # The queries were not advanced past pages whose images could not be written.
    from corpus.store.models import HarvestQuery

    with Session(engine) as s:
        assert all(q.page_state is None for q in s.scalars(select(HarvestQuery)))


def test_a_read_only_data_folder_is_a_clear_error_before_anything_starts(repo_root, db_url, tmp_path):
    """A data folder that is a file (as good as read-only for us): one line, exit 1."""
    from typer.testing import CliRunner

    from cli import app

    f = tmp_path / "not-a-folder"
    f.write_text("x")
    r = CliRunner().invoke(app, ["--db", db_url, "--data-dir", str(f), "harvest", "--domain", "sport", "--classes",
                                 "tennis_player.n.01", "--languages", "en", "--sources", "commons"],
                           env={"CORPUS_COMMONS_BASE_URL": "http://127.0.0.1:9/w/api.php"})
    assert r.exit_code == 1, r.output
    assert "cannot write to the data folder" in r.output and "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


# -- item 5: hostile text from an API on PostgreSQL --------------------------------------------


@pytest.mark.postgres
def test_hostile_hit_text_cannot_block_a_run_on_postgresql(pg_url, tmp_path, httpserver):
    upgrade(pg_url)
    eng = make_engine(pg_url)
    try:
        seed_domain(eng)
        api = FakeApi()
        serve_image(httpserver, "/img/nul.jpg", make_jpeg(1))
        serve_image(httpserver, "/img/ctl.jpg", make_jpeg(2))
        serve_image(httpserver, "/img/long.jpg", make_jpeg(3))
        serve_image(httpserver, "/img/ok.jpg", make_jpeg(4))
        api.add("alpha", "tennis player", [
            Item("nul", "/img/nul.jpg", title="a\x00title", author="An\x00n \ud800Author"),
            Item("ctl", "/img/ctl.jpg", title="bell\x07 and \x1b[31mred", author="x" * 5000),
            Item("i" * 300, "/img/long.jpg", title="id over the column limit"),
            Item("ok", "/img/ok.jpg", title="fine"),
        ])
        src = alpha(httpserver, api)
        settings = settings_for(tmp_path / "data", pg_url)
        rep = harvest(eng, settings, {"alpha": src}, OPTS)
        assert rep.status == "done" and rep.kept == 3
        assert rep.rejected == {"bad_hit:source_image_id_too_long": 1}
        with Session(eng) as s:
            by_id = {i.source_image_id: i for i in s.scalars(select(Image))}
        assert set(by_id) == {"nul", "ctl", "ok"}
        assert by_id["nul"].title == "atitle" and by_id["nul"].author == "Ann Author"
        assert by_id["ctl"].title == "bell and [31mred" and len(by_id["ctl"].author) <= 1000
        assert "\x00" not in by_id["nul"].attribution
        # A rerun meets the same hits again (the query is opened up again, as a larger
        # --per-class would) and does not die on them.
        from sqlalchemy import update

        from corpus.store.models import HarvestQuery

        with Session(eng) as s:
            s.execute(update(HarvestQuery).values(exhausted=False, page_state=None))
            s.commit()
        rep = harvest(eng, settings, {"alpha": src}, OPTS)
        assert rep.status == "done" and rep.rejected == {"bad_hit:source_image_id_too_long": 1}
        assert_store_consistent(eng, tmp_path / "data")
    finally:
        eng.dispose()


# -- item 12: a key echoed back by the server --------------------------------------------------


def test_a_key_echoed_in_response_bodies_is_never_stored(engine, seeded, tmp_path, db_url, httpserver):
    from dataclasses import replace

    from werkzeug.wrappers import Response

    from corpus.config import DEFAULT_SOURCES, Secret, Settings
    from corpus.sources import make_source

    key = "ECHO-k3y-0123456789abcdef"
    photo = make_jpeg(31)
    serve_image(httpserver, "/files/p.jpg", photo)
    base = httpserver.url_for("/").rstrip("/")

    def echo(request):
        k = request.args.get("key", "")
        body = {"totalHits": 1, "hits": [{
            "id": 77, "pageURL": f"{base}/photos/77?key={k}", "largeImageURL": f"{base}/files/p.jpg",
            "user": f"user {k}", "tags": f"ball, {k}", "imageWidth": 1024, "imageHeight": 576, "userURL": f"{base}/u/{k}",
        }]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/").respond_with_handler(echo)
    src_settings = replace(DEFAULT_SOURCES["pixabay"], base_url=f"{base}/api/", api_key=Secret(key),
                           requests_per_second=0.0, max_retries=0, timeout_s=5.0)
    settings = Settings(db_url=db_url, data_dir=tmp_path / "data", sources={**DEFAULT_SOURCES, "pixabay": src_settings})
    src = make_source("pixabay", settings)
    try:
        rep = harvest(engine, settings, {"pixabay": src}, HarvestOptions("sport", languages=("en",), license_policy="any-open"))
    finally:
        src.close()
    assert rep.kept == 1
    with Session(engine) as s:
        row = s.scalar(select(Image))
        dump = json.dumps([{c.name: getattr(r, c.name) for c in r.__table__.columns}
                           for r in [row, *s.scalars(select(HarvestRun))]], default=str)
    assert row.landing_url and row.author and row.attribution
    assert key not in dump and "***" in row.author
    cached = [p.read_text() for p in (tmp_path / "data" / "cache").rglob("*.json")]
    assert cached and not any(key in c for c in cached)


# -- item 14: the best copy of a near-duplicate is kept ----------------------------------------


def _smaller_copy(data: bytes, size=(512, 288), quality=70) -> bytes:
    im = PILImage.open(io.BytesIO(data)).resize(size)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_near_duplicates_keep_the_largest_copy_whichever_comes_first(engine, seeded, hsettings, httpserver, api):
    """A smaller Openverse copy is found first (an earlier run); the Commons original comes later:
    the original is kept, the copy becomes the near-duplicate pointing at it."""
    original = make_jpeg(12, size=(1024, 576), quality=92)
    serve_image(httpserver, "/img/copy.jpg", _smaller_copy(original))
    serve_image(httpserver, "/img/orig.jpg", original)
    api.add("beta", "tennis player", [Item("ov-copy", "/img/copy.jpg")])
    api.install(httpserver, "beta")
    rep = harvest(engine, hsettings, {"beta": LocalSource("beta", httpserver.url_for("/"))}, OPTS)
    assert rep.kept == 1
    copy_path = images(engine)[0].local_path

    api.add("alpha", "tennis player", [Item("commons-orig", "/img/orig.jpg")])
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    by_id = {i.source_image_id: i for i in images(engine)}
    orig, copy = by_id["commons-orig"], by_id["ov-copy"]
    assert orig.status == "stored" and (orig.width, orig.height) == (1024, 576)
    assert copy.status == "rejected" and copy.reject_reason == "near_duplicate" and copy.duplicate_of_id == orig.id
    assert copy.local_path is None and not (hsettings.data_dir / copy_path).exists()
    with Session(engine) as s:  # the original inherits the copy's queries (so its class keeps it)
        assert {h.source_image_id for h in s.scalars(select(ImageHit).where(ImageHit.image_id == orig.id))} == {
            "commons-orig", "ov-copy"}
    assert rep.kept == 1 and rep.rejected == {"near_duplicate": 1}
    assert_store_consistent(engine, hsettings.data_dir)
    # Reruns change nothing.
    harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert {i.source_image_id: i.status for i in images(engine)} == {"ov-copy": "rejected", "commons-orig": "stored"}


def test_near_duplicate_in_one_run_keeps_the_larger_copy(engine, seeded, hsettings, httpserver, api):
    original = make_jpeg(13, size=(1024, 576), quality=92)
    serve_image(httpserver, "/img/copy.jpg", _smaller_copy(original))
    serve_image(httpserver, "/img/orig.jpg", original, delay_s=0.3)  # arrives second
    api.add("alpha", "tennis player", [Item("copy", "/img/copy.jpg"), Item("orig", "/img/orig.jpg")])
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    by_id = {i.source_image_id: i for i in images(engine)}
    assert by_id["orig"].status == "stored" and by_id["copy"].reject_reason == "near_duplicate"
    assert by_id["copy"].duplicate_of_id == by_id["orig"].id
    assert rep.kept == 1
    # The summary's counts per language and source are of kept images too: the superseded copy
    # is not counted with its better one.
    assert sum(rep.by_language.values()) == sum(rep.by_source.values()) == 1
    assert [c.kept for c in rep.classes.values()] == [1]
    assert_store_consistent(engine, hsettings.data_dir)


# -- items 8 and 11: second harvests, killed runs, deadlines, Ctrl-C ----------------------------


def _running_child(repo_root, engine, db_url, data_dir, slow_server):
    """A real harvest process (tests.harvest.harvest_child) held up by slow downloads; returns
    it once its run row is there."""
    import time

    from tests.harvest.test_kill import run_child

    api = FakeApi()
    for i in range(6):
        serve_image(slow_server, f"/a/{i}.jpg", make_jpeg(200 + i), delay_s=2.0)
    api.add("alpha", "tennis player", [Item(f"a{i}", f"/a/{i}.jpg") for i in range(6)])
    api.install(slow_server, "alpha")
    api.install(slow_server, "beta")
    proc = run_child(repo_root, db_url, data_dir, slow_server.url_for("/").rstrip("/"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with Session(engine) as s:
            if s.scalar(select(HarvestRun.id).where(HarvestRun.status == "running")) is not None:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the child harvest did not start: {proc.communicate()}")


def test_a_killed_run_is_marked_interrupted_by_the_next_harvest(repo_root, engine, seeded, db_url, tmp_path,
                                                                slow_server, httpserver, api):
    import signal

    proc = _running_child(repo_root, engine, db_url, tmp_path / "data", slow_server)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with Session(engine) as s:
        killed = s.scalar(select(HarvestRun))
        assert killed.status == "running" and killed.pid == proc.pid and killed.host
    publish(httpserver, api, "alpha", "tennis player", 1)
    settings = settings_for(tmp_path / "data", db_url)
    rep = harvest(engine, settings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.status == "done" and rep.stale_runs == [killed.id]
    with Session(engine) as s:
        runs = s.scalars(select(HarvestRun).order_by(HarvestRun.id)).all()
    assert [r.status for r in runs] == ["interrupted", "done"]
    assert f"process {proc.pid}" in runs[0].summary["error"] and "gone" in runs[0].summary["error"]


def test_a_run_whose_heartbeat_stopped_on_another_host_is_stale(engine, seeded, hsettings, httpserver, api):
    import datetime as dt

    from corpus.store.models import utcnow

    with Session(engine) as s:
        old = utcnow() - dt.timedelta(minutes=10)
        s.add(HarvestRun(status="running", host="elsewhere", pid=1, started_at=old, heartbeat_at=old))
        s.add(HarvestRun(status="running", host="elsewhere", pid=2, started_at=utcnow(), heartbeat_at=utcnow()))
        s.commit()
    publish(httpserver, api, "alpha", "tennis player", 1)
    from corpus.harvest.lock import HarvestLocked

    with pytest.raises(HarvestLocked, match="another harvest is running on this store: run 2 .process 2 on elsewhere"):
        harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    with Session(engine) as s:
        first = s.get(HarvestRun, 1)
        assert first.status == "interrupted" and "no heartbeat for" in first.summary["error"]
        assert s.get(HarvestRun, 2).status == "running"


def test_a_second_harvest_on_the_same_store_or_folder_is_a_clear_message(repo_root, engine, seeded, db_url, tmp_path,
                                                                          slow_server, _migrated_template):
    from typer.testing import CliRunner

    from cli import app
    from corpus.harvest.lock import HarvestLock

    runner = CliRunner()
    env = {"CORPUS_COMMONS_BASE_URL": "http://127.0.0.1:9/w/api.php", "CORPUS_COMMONS_MAX_RETRIES": "0"}
    args = ["harvest", "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en", "--sources", "commons"]
    # The same store, another data folder, while a real harvest process runs on it.
    proc = _running_child(repo_root, engine, db_url, tmp_path / "data", slow_server)
    try:
        r = runner.invoke(app, ["--db", db_url, "--data-dir", str(tmp_path / "other"), *args], env=env)
    finally:
        proc.kill()
        proc.wait(10)
    assert r.exit_code == 1, r.output
    assert "another harvest is running on this store" in r.output and f"process {proc.pid}" in r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)
    # The same data folder, another store, while a harvest holds the folder's lock.
    other_db = tmp_path / "other.db"
    shutil.copyfile(_migrated_template, other_db)
    with HarvestLock(tmp_path / "shared"):
        r = runner.invoke(app, ["--db", f"sqlite:///{other_db}", "--data-dir", str(tmp_path / "shared"), *args], env=env)
    assert r.exit_code == 1, r.output
    assert "another harvest is running on" in r.output and "shared" in r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)


def test_a_dripping_download_gives_up_at_the_deadline_and_says_so(engine, seeded, hsettings, httpserver, api):
    from tests.harvest.support import drip_image

    drip_image(httpserver, "/img/drip.jpg", make_jpeg(50), bytes_per_s=200)
    publish(httpserver, api, "alpha", "tennis player", 1)
    api.add("alpha", "tennis player", [Item("drip", "/img/drip.jpg")])
    opts = HarvestOptions("sport", languages=("en",), per_page=10, download_deadline_s=1.0)
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, opts)
    assert rep.kept == 1 and rep.failed == {"deadline": 1}
    row = {i.source_image_id: i for i in images(engine)}["drip"]
    assert (row.status, row.reject_reason, row.extra["attempts"]) == ("failed", "deadline", 1)
    assert "gave up after 1 s" in row.extra["detail"]


@pytest.mark.slow
def test_first_ctrl_c_stops_a_dripping_download_within_seconds(repo_root, engine, db_url, tmp_path, slow_server):
    """Downloads from a server that drips 200 bytes/s; one SIGINT must end the process within a
    few seconds (exit 130), the run marked interrupted and the store consistent."""
    import re
    import signal
    import subprocess
    import sys
    import time

    from tests.harvest.support import drip_image
    from tests.harvest.test_cli import replay_apis

    started: list[str] = []
    drip_image(slow_server, re.compile(r"^/files/"), make_jpeg(300, (1024, 576)), bytes_per_s=200, started=started)
    env, _ = replay_apis(slow_server)
    cmd = [sys.executable, "cli.py", "--db", db_url, "--data-dir", str(tmp_path / "data"), "harvest",
           "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en", "--license-policy", "any-open"]
    proc = subprocess.Popen(cmd, cwd=repo_root, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert started, proc.communicate(timeout=5)
    time.sleep(1.0)  # bytes are flowing
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 130, (out, err)
    assert took < 5.0, f"took {took:.1f} s to stop"
    assert "Traceback" not in err
    with Session(engine) as s:
        assert s.scalar(select(HarvestRun.status)) == "interrupted"
    assert_store_consistent(engine, tmp_path / "data")


def test_two_harvests_starting_at_once_on_one_store_the_later_gives_way(engine, seeded):
    """Both pass the check for running runs before either has its row: the later row must notice
    the earlier one (a real live process: `sleep`) and give way."""
    import subprocess

    from corpus.harvest.lock import HarvestLocked
    from corpus.harvest.runs import claim_store, start_run
    from corpus.store.models import utcnow

    other = subprocess.Popen(["sleep", "30"])
    try:
        with Session(engine, expire_on_commit=False) as s:
            assert claim_store(s, OPTS) == []  # nothing running yet
            s.add(HarvestRun(status="running", host=socket.gethostname()[:255], pid=other.pid,
                             heartbeat_at=utcnow()))  # the other harvest's row lands in between
            s.commit()
            with pytest.raises(HarvestLocked, match=f"run 1 .process {other.pid}"):
                start_run(s, None, OPTS, {})
        with Session(engine) as s:
            runs = s.scalars(select(HarvestRun).order_by(HarvestRun.id)).all()
        assert [(r.id, r.status) for r in runs] == [(1, "running"), (2, "interrupted")]
        assert "gave way to run 1" in runs[1].summary["error"]
    finally:
        other.kill()
        other.wait()


def test_a_team_mode_run_does_not_give_way_to_a_teammate(engine):
    """In team mode (PostgreSQL) harvests share the store on purpose, each with its own class
    leases: a teammate's running row must not make a new run give way (CI saw a team harvest die
    with HarvestLocked while the other held different classes)."""
    import socket
    import subprocess

    from corpus.harvest.runs import claim_store, start_run
    from corpus.store.models import utcnow

    other = subprocess.Popen(["sleep", "30"])
    try:
        with Session(engine, expire_on_commit=False) as s:
            assert claim_store(s, OPTS, team=True) == []
            s.add(HarvestRun(status="running", host=socket.gethostname()[:255], pid=other.pid,
                             heartbeat_at=utcnow()))
            s.commit()
            run = start_run(s, None, OPTS, {}, team=True)
            assert run.status == "running"
        with Session(engine) as s:
            runs = s.scalars(select(HarvestRun).order_by(HarvestRun.id)).all()
        assert [(r.id, r.status) for r in runs] == [(1, "running"), (2, "running")]
    finally:
        other.kill()
        other.wait()
