"""A file-system mistake (an output path that is a file, a read-only folder) is a clear error, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def corpus_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CORPUS_DB_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [
    ("status", "--charts", "afile"),
    ("ontology", "translations", "export", "--lang", "bg", "afile/bg.csv"),
])
def test_output_path_that_is_a_file_is_a_clear_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "afile").write_text("mine\n")
    done = corpus_cli(tmp_path, *args)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "error:" in done.stderr and "afile" in done.stderr
    assert (tmp_path / "afile").read_text() == "mine\n"  # the user's file is untouched
