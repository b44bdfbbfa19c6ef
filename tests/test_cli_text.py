"""Text is printed as written: brackets in messages and help are data, not Rich markup
(issue 11, item 10). Each test checks the exact printed words."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def flat(text: str) -> str:
    """Words as printed, whatever the terminal width did to the lines."""
    return " ".join(text.split())


def test_install_hint_keeps_the_extra_when_ultralytics_is_missing_simulated(tmp_path):
    """ultralytics is installed here, so its absence is simulated: a None entry in sys.modules makes
    `import ultralytics` raise ImportError exactly as on a machine without the extra."""
    code = ("import sys; sys.modules['ultralytics'] = None; from cli import main; "
            f"sys.argv = ['corpus', '--db', 'sqlite:///{tmp_path}/c.db', 'annotate', '--domain', 'sport', "
            "'--model', 'yolov8n-seg.pt']; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300"})
    text = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 1, text
    assert "pip install 'mic-corpus[yolo]'" in text, text


def test_spec_errors_name_their_table(tmp_path):
    domains = tmp_path / "onto" / "domains"
    domains.mkdir(parents=True)
    (domains / "bad.toml").write_text('name = "bad"\nroots = ["sport.n.01"]\nobjects = 3\n', encoding="utf-8")
    r = runner.invoke(app, ["ontology", "build", "--ontology-dir", str(tmp_path / "onto")])
    assert r.exit_code == 1
    assert "bad.toml: [objects] must map synset = synset" in flat(r.output), r.output


def test_add_domain_and_annotate_help_show_their_brackets():
    r = runner.invoke(app, ["ontology", "add-domain", "--help"], env={"COLUMNS": "300"})
    assert "(include/exclude lists, [objects], [attributes])" in flat(r.output), r.output
    r = runner.invoke(app, ["annotate", "--help"], env={"COLUMNS": "300"})
    text = flat(r.output)
    assert "torchvision[:/path/weights.pth]" in text and "detectron2[:CONFIG[@WEIGHTS]]" in text, r.output
    assert "\\[" not in text  # no escape characters leak either


def test_bad_bbox_message_keeps_the_expected_form(engine, tmp_path):
    from corpus.coco.coco_annotator import export_coco_annotator
    from tests.coco.builder import build
    from tests.coco.ca_sim import coco_annotator_roundtrip

    store = build(engine, tmp_path / "data")
    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir)
    good = coco_annotator_roundtrip(summary.parts, lambda state, by_name: None, tmp_path / "dl", at=time.time() + 5)
    data = json.loads(good.read_text(encoding="utf-8"))
    data["annotations"][0]["bbox"] = [1, 2, "x", 4]
    bad = tmp_path / "coco-bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    r = runner.invoke(app, ["--db", store.db_url, "--data-dir", str(store.data_dir), "import", "coco-annotator", str(bad)],
                      env={"COLUMNS": "300"})
    assert r.exit_code == 1
    assert "bbox: expected [x, y, w, h] numbers, got [1, 2, 'x', 4]" in flat(r.output), r.output


def test_every_command_group_prints_help_as_text():
    """A sub-app added later with Typer's default (Rich markup) would eat its help's brackets again."""
    def walk(typer_app, where):
        assert typer_app.rich_markup_mode is None, f"{where}: set rich_markup_mode=None"
        for group in typer_app.registered_groups:
            walk(group.typer_instance, f"{where} {group.name}")

    walk(app, "corpus")


# Console output goes through consoles with markup off; styled labels use Text. A string literal
# with a Rich tag handed to print() would now show its tags, so none may come back.
_TAG = re.compile(r"\.print\(\s*f?[\"'][^\"']*\[(/|bold|yellow|red|green|dim|cyan|italic)[^\]]*\]")


def test_no_rich_markup_literals_in_commands():
    offenders = []
    for path in sorted((REPO / "corpus" / "commands").glob("*.py")) + [REPO / "cli.py"]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _TAG.search(line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
