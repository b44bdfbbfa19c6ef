"""Library messages speak of arguments, never of command-line flags; the CLI adds the flag."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from typer.testing import CliRunner

from cli import app

REPO = Path(__file__).resolve().parents[2]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _strings(tree: ast.AST):
    """The string constants of every error raised (f-string parts included): the messages."""
    for raise_ in ast.walk(tree):
        if isinstance(raise_, ast.Raise) and raise_.exc is not None:
            for node in ast.walk(raise_.exc):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield node


def test_no_library_error_names_a_cli_flag():
    found = []
    for pkg in ("corpus", "ontology", "annotators"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            if "commands" in path.relative_to(REPO).parts:
                continue  # the CLI itself
            for node in _strings(ast.parse(path.read_text(encoding="utf-8"))):
                if FLAG.search(node.value):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value[:80]!r}")
    assert not found, "library errors that name CLI flags:\n" + "\n".join(found)


def test_the_scan_finds_a_flag():
    tree = ast.parse('def f():\n    """Docs may say --domain."""\n    x = "--help"\n    raise ValueError(f"choose one with --domain {1}")\n')
    assert [n.value for n in _strings(tree) if FLAG.search(n.value)] == ["choose one with --domain "]


def _cli(db_url, tmp_path, *args):
    r = CliRunner().invoke(app, ["--db", db_url, "--data-dir", str(tmp_path / "data"), *args], terminal_width=200)
    return r, " ".join(r.output.split())


def test_cli_adds_the_flag_to_library_errors(store, db_url, tmp_path):
    r, text = _cli(db_url, tmp_path, "review", "list", "--domain", "nope")
    assert r.exit_code == 1 and "unknown domain 'nope'" in text and "(--domain)" in text
    assert "Traceback" not in text
    r, text = _cli(db_url, tmp_path, "export", "coco", "--segmentation", "mask", str(tmp_path / "o"))
    assert r.exit_code == 1 and "polygon or rle" in text and "(--segmentation)" in text
    r, text = _cli(db_url, tmp_path, "annotate", "--domain", "sport", "--model", f"onnx:{tmp_path / 'none.onnx'}")
    assert r.exit_code == 1 and "not found" in text and "(--model)" in text
    r, text = _cli(db_url, tmp_path, "review", "relabel", "1", "no such class")
    assert r.exit_code == 1 and "no class 'no such class'" in text and "nothing was changed" in text
