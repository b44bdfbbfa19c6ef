"""`corpus review serve` as an operator runs it: refusals with a clear message, and a real start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from cli import app
from tests.coco.builder import build

runner = CliRunner()


def test_refuses_to_listen_beyond_localhost_without_a_token(db_url, engine, tmp_path):
    build(engine, tmp_path / "data")
    def run(*args: str, **env: str) -> str:
        r = runner.invoke(app, ["--db", db_url, "review", "serve", *args], env={"CORPUS_REVIEW_TOKEN": "", **env})
        assert r.exit_code == 1 and "Traceback" not in r.output
        return " ".join(r.output.split())

    assert "give a token for reviewers to enter, or listen on 127.0.0.1 only (--token (or CORPUS_REVIEW_TOKEN))" in run("--host", "0.0.0.0")
    assert "give a token" in run("--host", "::")
    assert "at least 8 characters" in run("--host", "0.0.0.0", "--token", "short")
    assert "unknown language 'xx'" in run("--lang", "xx") and "(--lang)" in run("--lang", "xx")
    assert "music" in run("--domain", "music") and "(--domain)" in run("--domain", "music")
    assert "public URL must be an http(s) address" in run("--public-url", "review.example.org")
    assert "(--public-url)" in run("--public-url", "ftp://review.example.org")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_a_server(db_url, engine, tmp_path, repo_root):
    build(engine, tmp_path / "data")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(repo_root), "CORPUS_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, str(repo_root / "cli.py"), "--db", db_url, "review", "serve",
                             "--lang", "bg", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and "Кой преглежда?" in r.text
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/" in out and "'sport'" in out


def test_a_port_out_of_range_is_a_usage_error(db_url):
    r = runner.invoke(app, ["--db", db_url, "review", "serve", "--port", "99999"])
    assert r.exit_code == 2  # refused by the option, before any server starts (was an OverflowError traceback)
    assert "Traceback" not in r.output and "--port" in r.output and "65535" in r.output
