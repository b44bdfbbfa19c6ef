"""What a user gets from `pip install mic-corpus` (a wheel, not the checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_folder_is_a_listed_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    for top in ("corpus", "ontology", "annotators"):
        for d in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if "__pycache__" in d.parts or not any(d.glob("*.py")):
                continue
            assert (d / "__init__.py").is_file(), f"{d.relative_to(ROOT)} has modules but no __init__.py"
            assert ".".join(d.relative_to(ROOT).parts) in listed, f"{d.relative_to(ROOT)} missing from pyproject packages"


@pytest.mark.slow
def test_wheel_installs_and_migrates_a_store(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(wheel_dir.glob("mic_corpus-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    db = tmp_path / "w.db"
    code = (
        "import corpus.store.db as d, ontology, sys;"
        "assert str(d.__file__).startswith(sys.argv[1]), d.__file__;"
        f"d.upgrade('sqlite:///{db}'); print(d.current_revision('sqlite:///{db}'));"
        "print(len(ontology.load_domain('sport').classes))"
    )
    # Run away from the checkout so only the installed copy can be imported.
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    from corpus.store.db import head_revision

    # The installed copy carries every migration: the store reaches the checkout's head.
    assert out[0] == head_revision(f"sqlite:///{db}") and int(out[1]) > 50
