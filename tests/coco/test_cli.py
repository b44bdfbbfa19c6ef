"""The commands as a user runs them (typer's CliRunner on the real app and a real store)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus.store import models as m
from tests.coco.ca_sim import coco_annotator_roundtrip

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("wide_console")  # tests/conftest.py


def run(store, *args):
    result = runner.invoke(app, ["--db", store.db_url, "--data-dir", str(store.data_dir), *args])
    return result, result.output


def test_export_coco_with_splits(store, tmp_path):
    out = tmp_path / "out"
    r, text = run(store, "export", "coco", "--domain", "sport", "--status", "all", "--split", "train=0.6,val=0.4",
                  "--seed", "3", "--segmentation", "rle", str(out))
    assert r.exit_code == 0, text
    assert "license:non-commercial" in text and "derived id" in text
    files = sorted(p.name for p in (out / "annotations").iterdir())
    assert files == ["instances_train.json", "instances_val.json"]
    n = sum(len(json.loads((out / "annotations" / f).read_text(encoding="utf-8"))["images"]) for f in files)
    assert n == 5


@pytest.mark.parametrize("args, msg", [
    (["--split", "train=0.7,val=0.2"], "sum to 0.9"),
    (["--status", "done"], "unknown review status"),
    (["--domain", "music"], "unknown domain 'music'"),
    (["--segmentation", "mask"], "polygon or rle"),
    (["--license-policy", "free-ish"], "unknown license-policy token"),
    (["--link", "--no-images"], "at most one"),
])
def test_export_coco_bad_options(store, tmp_path, args, msg):
    r, text = run(store, "export", "coco", *args, str(tmp_path / "o"))
    assert r.exit_code == 1 and msg in " ".join(text.split()) and "Traceback" not in text


def test_review_export_import_and_cli_decisions(store, tmp_path):
    ca = tmp_path / "ca"
    # The store's last image is CC BY-NC: the default policy keeps it out of review, as from training.
    r, text = run(store, "export", "coco-annotator", "--chunk", "3", str(tmp_path / "ca-default"))
    assert r.exit_code == 0 and "left out 1 image(s): license:non-commercial" in text, text
    r, text = run(store, "export", "coco-annotator", "--chunk", "3", "--license-policy", "research", str(ca))
    assert r.exit_code == 0, text
    parts = sorted((ca / "annotations").glob("part-*.json"))
    assert len(parts) == 2 and (ca / "annotations" / "categories.json").is_file()
    f = coco_annotator_roundtrip(parts, lambda st, bn: None, tmp_path / "dl", at=time.time() + 2)
    r, text = run(store, "import", "coco-annotator", "--who", "maria", "--done", "all", str(f))
    assert r.exit_code == 0, text
    assert "accepted" in text and "from the file name" in text
    r2, text2 = run(store, "import", "coco-annotator", str(f))
    assert r2.exit_code == 0 and "unchanged" in text2 and "accepted " not in text2

    r, text = run(store, "review", "list", "--status", "pending")
    assert r.exit_code == 0 and "Nothing to show" in text  # the reviewer kept every pending one
    r, text = run(store, "review", "list", "--status", "accepted", "--image", str(store.images[5]))
    assert r.exit_code == 0 and text.count("maria") == 3 and "tennis ball" in text
    a = store.anns["5:ball"]
    r, text = run(store, "review", "accept", str(a), "--who", "ivan", "--expect-version", "2")
    assert r.exit_code == 0 and f"annotation {a}: accepted (version 3) by ivan" in text
    r, text = run(store, "review", "reject", str(a), "--expect-version", "2")
    assert r.exit_code == 1 and "at version 3, not 2" in text and "nothing was changed" in text
    r, text = run(store, "review", "relabel", str(a), "tennis_player.n.01", "--who", "ivan")
    assert r.exit_code == 0, text
    r, text = run(store, "review", "edit", str(a), "--bbox", "1,2,10,10")
    assert r.exit_code == 0, text
    r, text = run(store, "review", "add", str(store.images[0]), "tennis ball", "--bbox", "1,1,5,5")
    assert r.exit_code == 0 and "added to image" in text
    r, text = run(store, "review", "relabel", str(a), "referee")
    assert r.exit_code == 1 and "no class 'referee'" in text
    with Session(store.engine) as s:
        ann = s.get(m.Annotation, a)
        assert (ann.status, ann.class_id, ann.version, ann.bbox_w) == ("edited", store.classes["player"], 5, 10)


def test_import_bad_file_is_a_clear_error(store, tmp_path):
    bad = tmp_path / "coco-1700000000.json"
    bad.write_text('{"images": [], "categories": [', encoding="utf-8")
    r, text = run(store, "import", "coco-annotator", str(bad))
    assert r.exit_code == 1 and "truncated" in text and "nothing was imported" in text


def test_evaluate_prints_tables_and_saves_plot(store, tmp_path):
    png = tmp_path / "eval.png"
    r, text = run(store, "evaluate", "--plot", str(png))
    assert r.exit_code == 0, text
    assert "yolo@v1" in text and "kept unchanged" in text and "33.3%" in text and "AP per class" in text
    assert png.is_file()


def test_help_texts_teach():
    for cmd in (["export", "coco"], ["export", "coco-annotator"], ["import", "coco-annotator"], ["review", "accept"],
                ["evaluate"]):
        r = runner.invoke(app, [*cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output, cmd
