"""docs/python-api.md runs as written, and every CLI command is documented somewhere.

The examples run in order, in one namespace, in a fresh folder: a real SQLite store, a local HTTP
server standing in for Openverse (a recorded answer, the real photos bus.jpg and zidane.jpg), the
real YOLOv5s-seg ONNX model, WordNet from ../shared. Steps a person does outside Python (reviewing
in COCO Annotator) are marked in the page with an HTML comment and done here.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import typer

from tests.coco.ca_sim import coco_annotator_roundtrip

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "python-api.md"
_CHUNK = re.compile(r"```python\n(?P<code>.*?)```|<!-- docs-test: (?P<step>[\w-]+)[^>]*-->", re.S)


def chunks(text: str):
    """(line, kind, content) for each python block and each marked step, in page order."""
    for m in _CHUNK.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group("code") is not None:
            yield line, "code", m.group("code")
        else:
            yield line, "step", m.group("step")


def review_in_coco_annotator(workdir: Path) -> None:
    """What a reviewer does in COCO Annotator: deletes one annotation, keeps the others, exports."""
    parts = sorted((workdir / "review" / "annotations").glob("part-*.json"))
    assert parts, "the page must export for COCO Annotator before this step"

    def reviewer(state, by_name):
        state["annotations"].pop(0)

    made = coco_annotator_roundtrip(parts, reviewer, workdir / "review", at=1893456000)
    made.rename(workdir / "review" / "coco-1893456000.json")


STEPS = {"review-in-coco-annotator": review_in_coco_annotator}


@pytest.mark.slow
def test_every_example_in_python_api_md_runs(tmp_path, monkeypatch, openverse, shared_dir):
    monkeypatch.chdir(tmp_path)
    for var in ("CORPUS_DB_URL", "CORPUS_DATA_DIR", "CORPUS_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CORPUS_OPENVERSE_BASE_URL", openverse)
    monkeypatch.setenv("CORPUS_REVIEWER", "docs")
    (tmp_path / "models").symlink_to(shared_dir / "models")  # the page's models/yolov5s-seg.onnx
    namespace: dict = {"__name__": "python_api_md"}
    ran = 0
    for line, kind, content in chunks(PAGE.read_text(encoding="utf-8")):
        if kind == "step":
            STEPS[content](tmp_path)
            continue
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(content, f"{PAGE}:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"the example at docs/python-api.md line {line} failed: {exc!r}\n"
                                 f"{content}\nits output:\n{out.getvalue()}") from exc
        ran += 1
    assert ran >= 15
    # What the page claims, checked on what it left behind.
    c = namespace["c"]
    assert namespace["report"].kept == 2
    assert namespace["summary"].proposals >= 5
    assert sum(namespace["imported"].counts.values()) > 0
    assert (tmp_path / "coco" / "annotations" / "instances_train.json").is_file()
    assert (tmp_path / "evaluation.png").is_file() and (tmp_path / "charts" / "licenses.png").is_file()
    assert (tmp_path / "my-ontology" / "domains" / "kitchen.toml").is_file()
    assert c._engine is None  # the page closes what it opened


def cli_commands() -> list[str]:
    """Every command of the typer app, as typed: 'corpus status', 'corpus review list', ..."""
    from cli import app

    def walk(cmd, prefix):
        sub = getattr(cmd, "commands", None)
        if not sub:
            yield prefix
            return
        for name, child in sub.items():
            if not getattr(child, "hidden", False):
                yield from walk(child, f"{prefix} {name}")

    return sorted(walk(typer.main.get_command(app), "corpus"))


def test_every_cli_command_is_documented():
    texts = [(REPO / "README.md").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    corpus_text = "\n".join(texts)
    commands = cli_commands()
    assert "corpus review list" in commands and "corpus export coco-annotator" in commands
    missing = [c for c in commands if not re.search(re.escape(c) + r"(?![\w-])", corpus_text)]
    assert not missing, f"commands not documented in README.md or docs/: {missing}"
