"""User mistakes and unreachable resources end in one clear line and a non-zero exit, never a
traceback (issue 11, item 8): bad database URLs, a PostgreSQL server that is down or a port that is
closed, an export folder that cannot be written or is a file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.coco.builder import build

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_line_error(result, *needles: str) -> str:
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text and "╭" not in text, text  # no plain or rich traceback
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    for needle in needles:
        assert needle in lines[0], text
    return lines[0]


pytestmark = pytest.mark.usefixtures("wide_console")  # tests/conftest.py


@pytest.mark.parametrize("url, needle", [
    ("notaurl", "not a database URL"),
    ("foo://host/db", "unknown database kind 'foo'"),
    ("postgresql+nodriver://u@h/db", "unknown database kind 'postgresql+nodriver'"),
])
@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"], ["db", "current"], ["review", "list"]])
def test_bad_database_url(url, needle, command):
    r = runner.invoke(app, ["--db", url, *command])
    line = assert_one_line_error(r, needle)
    assert "sqlite:///corpus.db" in line  # says what a good one looks like


def test_sqlite_file_in_a_folder_that_cannot_exist(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    r = runner.invoke(app, ["--db", f"sqlite:///{blocker}/sub/c.db", "status"])
    assert_one_line_error(r, "cannot open database", str(blocker))


@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"], ["db", "current"], ["export", "coco", "OUT"]])
def test_closed_port_postgresql(command, tmp_path):
    url = f"postgresql://bob:s3cret@127.0.0.1:{_closed_port()}/corpus"
    args = [a if a != "OUT" else str(tmp_path / "o") for a in command]
    r = runner.invoke(app, ["--db", url, *args])
    line = assert_one_line_error(r, "cannot connect to database", "127.0.0.1")
    assert "s3cret" not in r.output and "***" in line


@pytest.mark.slow
def test_stopped_postgresql_server(tmp_path):
    """A real server that was up (store migrated) and then stopped."""
    from tests.pgserver import PgServer, find_pg_bin

    if find_pg_bin() is None:
        if os.environ.get("CORPUS_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries not found")
        pytest.skip("PostgreSQL binaries not found")
    server = PgServer(find_pg_bin()).start()
    try:
        url = server.create_database("gone")
        assert runner.invoke(app, ["--db", url, "db", "upgrade"]).exit_code == 0
        assert runner.invoke(app, ["--db", url, "status"]).exit_code == 0
    finally:
        server.stop()
    for command in (["status"], ["review", "list"], ["db", "current"]):
        r = runner.invoke(app, ["--db", url, *command])
        assert_one_line_error(r, "cannot connect to database", f"127.0.0.1:{server.port}")


@pytest.fixture
def store(engine, tmp_path):
    return build(engine, tmp_path / "data")


@pytest.mark.parametrize("kind", ["coco", "coco-annotator"])
def test_export_folder_is_a_file(store, tmp_path, kind):
    target = tmp_path / "out.json"
    target.write_text("mine")
    r = runner.invoke(app, ["--db", store.db_url, "--data-dir", str(store.data_dir), "export", kind,
                            "--domain", "sport", "--status", "all", str(target)])
    assert_one_line_error(r, "is a file, not a folder", str(target))
    assert target.read_text() == "mine"  # nothing lost


@pytest.mark.parametrize("kind", ["coco", "coco-annotator"])
def test_export_folder_under_a_file(store, tmp_path, kind):
    target = tmp_path / "out.json"
    target.write_text("mine")
    r = runner.invoke(app, ["--db", store.db_url, "--data-dir", str(store.data_dir), "export", kind,
                            "--domain", "sport", "--status", "all", str(target / "sub")])
    assert_one_line_error(r, "cannot create export folder", str(target))


def _unprivileged(cmd: list[str]) -> list[str]:
    """Root writes anywhere; drop the capabilities that let it, so permissions apply as for a user."""
    if os.geteuid() == 0:
        return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    return cmd


@pytest.mark.parametrize("kind", ["coco", "coco-annotator", "yolo"])
def test_export_folder_not_writable(store, tmp_path, kind):
    """In a fresh process (the console entry point), as a user without write permission."""
    ro = tmp_path / "readonly"
    (ro / "annotations").mkdir(parents=True)
    if kind == "yolo":  # it wants an empty folder
        (ro / "annotations").rmdir()
    ro.chmod(0o555)
    if kind != "yolo":
        (ro / "annotations").chmod(0o555)
    try:
        cmd = _unprivileged([sys.executable, "-m", "cli", "--db", store.db_url, "--data-dir", str(store.data_dir),
                             "export", kind, "--domain", "sport", "--status", "all", str(ro)])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"})
    finally:
        ro.chmod(0o755)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text
    assert "Traceback" not in text and "╭" not in text, text
    errors = [ln for ln in text.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "cannot write" in errors[0] and str(ro) in errors[0], text
    assert "permission denied" in errors[0].lower(), text
