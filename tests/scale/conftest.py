"""Fixtures for the scale-out tests: a real S3-compatible server (moto_server) in a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

# A secret nobody may print: every test that runs a command checks its output for it.
SECRET = "s3cr3t-" + uuid.uuid4().hex[:12]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto_server on a free port (as s3fs's own tests do); yields its endpoint URL.

    Credentials and the endpoint reach s3fs the way they reach it on a real machine: from the
    standard AWS environment variables."""
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.fail("moto_server not found: pip install 'moto[server]' (scripts/test.sh installs it)")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    env = {
        "AWS_ACCESS_KEY_ID": "testing-key",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield endpoint
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def bucket(s3_server):
    """A fresh bucket; yields an s3fs file system and the bucket name."""
    import s3fs

    from corpus import storage

    s3fs.S3FileSystem.clear_instance_cache()
    storage._open_url.cache_clear()
    fs = s3fs.S3FileSystem()
    name = "corpus-" + uuid.uuid4().hex[:8]
    fs.mkdir(name)
    yield fs, name
