"""The layering of docs/architecture.md holds: import-linter's contracts (pyproject.toml) pass."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports not found: pip install import-linter (the dev extra)")
    return [exe]


def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([*_lint_imports(), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 kept, 0 broken" in r.stdout


def test_the_contracts_catch_an_upward_import(tmp_path):
    """A store module importing the review layer must break the layers contract (a check that cannot
    fail would prove nothing)."""
    shutil.copytree(REPO / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("__pycache__"))
    for pkg in ("ontology", "annotators"):
        shutil.copytree(REPO / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copyfile(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "corpus" / "store" / "upward.py").write_text("import corpus.review\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([*_lint_imports(), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0 and "corpus.store.upward -> corpus.review" in r.stdout, r.stdout + r.stderr
    assert not (REPO / "corpus" / "store" / "upward.py").exists()


def test_every_corpus_module_has_a_layer():
    """A new module outside every layer would escape the contract: each one must be placed."""
    import re
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}
    modules = {f"corpus.{p.stem}" for p in (REPO / "corpus").glob("*.py") if p.stem != "__init__"}
    modules |= {f"corpus.{p.parent.name}" for p in (REPO / "corpus").glob("*/__init__.py")}
    missing = sorted(modules - placed)
    assert not missing, f"modules in no layer of pyproject.toml's import contract: {missing}"
