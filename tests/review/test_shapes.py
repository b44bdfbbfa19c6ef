"""One shape validation before pycocotools sees anything: clear errors, never a crash.

The hostile cases run in a child process: before the checks existed they crashed the process
(segfault) rather than raising, and a crash must fail the test, not end the whole suite."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus import shapes
from corpus.store import models as m
from tests.coco.builder import H, W

BIG_POLY = [[float(v) for i in range(1000) for v in ((i * 997) % 1000 * 1000.0, (i * 991) % 1000 * 1000.0)]]
ZIGZAG = [[float(v) for i in range(2000) for v in ((0, i % 60) if i % 2 == 0 else (79, i % 60))]]


@pytest.mark.parametrize("seg, bbox, msg", [
    (None, [0, 0, 1e300, 1e300], "does not fit the 80x60 image"),
    (None, [-100000, -100000, 5, 5], "does not fit the 80x60 image"),
    (None, [1, 1, 0, 0], "w, h > 0"),
    (None, [1, 1, float("nan"), 4], "4 finite numbers"),
    (None, [1, 1, True, 4], "4 finite numbers"),
    (BIG_POLY, None, "lie outside the 80x60 image"),
    ([[1.0, 1.0] * 20_001], None, "20001 points: at most 20000"),
    ([[1.0, 1.0, 2.0, 1.0, 2.0, 2.0]] * 1001, None, "1001 polygons"),
    (ZIGZAG, None, "outline is"),
    ([[500, 500, 600, 500, 600, 600]], None, "covers no pixel of the 80x60 image"),
    ([[1, 1, 5, 5, 9, 9]], None, "covers no pixel"),
    ({"size": [10, 10], "counts": [0, 100]}, None, r"RLE size \[10, 10\] is not the image's"),
    ({"size": [60, 80], "counts": "zzzz"}, None, "do not decode"),
])
def test_shape_problems(seg, bbox, msg):
    with pytest.raises(shapes.ShapeError, match=msg):
        shapes.check_shape(seg, bbox, W, H)


def test_good_shapes_pass_within_the_tolerance():
    shapes.check_shape(None, [-1.5, -1.5, 81, 61], W, H)  # a detector's box overshooting by 1.5 px
    shapes.check_shape([[0, 0, 81.9, 0, 81.9, 61.9, 0, 61.9]], None, W, H)
    shapes.check_shape({"size": [60, 80], "counts": [0, 4800]}, [0, 0, 80, 60], W, H)
    assert shapes.tolerance(4000, 3000) == 40


def _cli(store, *args):
    """The real CLI in a child process: a segfault shows as a negative return code."""
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", "--db", store.db_url, "--data-dir",
                           str(store.data_dir), *args], capture_output=True, text=True, timeout=120)


def _n_annotations(store):
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(m.Annotation))


@pytest.mark.parametrize("args, msg", [
    (["add", "IMG", "tennis ball", "--bbox", "0,0,1e300,1e300"], "does not fit the 80x60 image"),
    (["add", "IMG", "tennis ball", "--bbox=-100000,-100000,5,5"], "does not fit the 80x60 image"),
    (["add", "IMG", "tennis ball", "--bbox", "1,1,0,0"], "w, h > 0"),
    (["add", "IMG", "tennis ball", "--segmentation", json.dumps(BIG_POLY)], "lie outside the 80x60 image"),
    (["edit", "ANN", "--segmentation", json.dumps(BIG_POLY)], "lie outside the 80x60 image"),
    (["edit", "ANN", "--bbox", "0,0,1e300,1e300"], "does not fit"),
    (["add", "100000000000000000000000", "tennis ball", "--bbox", "1,1,5,5"], "image 100000000000000000000000 does not exist"),
    (["accept", "100000000000000000000000"], "annotation 100000000000000000000000 does not exist"),
    (["done", "100000000000000000000000"], "image 100000000000000000000000 does not exist"),
])
def test_cli_refuses_hostile_shapes_and_ids_clearly(store, args, msg):
    args = [a.replace("IMG", str(store.images[0])).replace("ANN", str(store.anns["4:player"])) for a in args]
    n = _n_annotations(store)
    r = _cli(store, "review", *args)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 1, (r.returncode, out[-2000:])
    assert msg in out and "Traceback" not in out
    assert _n_annotations(store) == n


def test_exports_survive_a_bad_shape_already_in_the_store(store, tmp_path):
    """A store written before these checks may hold such shapes: the exports leave them out,
    count them, and do not crash."""
    with Session(store.engine) as s:
        s.add(m.Annotation(image_id=store.images[0], class_id=store.classes["ball"], bbox_x=0, bbox_y=0,
                           bbox_w=1e300, bbox_h=1e300, segmentation=None, area=float("inf"), origin="manual",
                           status="accepted"))
        s.add(m.Annotation(image_id=store.images[1], class_id=store.classes["ball"], bbox_x=0, bbox_y=0,
                           bbox_w=5, bbox_h=5, segmentation=BIG_POLY, area=25, origin="manual", status="accepted"))
        s.commit()
    for cmd in (["export", "coco", "--license-policy", "research", "--no-images", str(tmp_path / "t")],
                ["export", "coco-annotator", "--status", "accepted", "--license-policy", "research",
                 str(tmp_path / "ca")]):
        r = _cli(store, *cmd)
        out = " ".join((r.stdout + r.stderr).split())
        assert r.returncode == 0, (r.returncode, out[-2000:])
        assert "2 annotation(s) with an unusable shape left out" in out, out


def test_import_refuses_a_huge_polygon_without_crashing(store, tmp_path):
    from corpus.coco.coco_annotator import export_coco_annotator, id_color
    from tests.coco.ca_sim import coco_annotator_roundtrip

    parts = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir).parts

    def review(state, by_name):
        a = next(x for x in state["annotations"] if x["color"] == id_color(store.anns["4:player"]))
        a["segmentation"] = BIG_POLY

    f = coco_annotator_roundtrip(parts, review, tmp_path / "dl")
    r = _cli(store, "import", "coco-annotator", str(f))
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 1, (r.returncode, out[-2000:])
    assert "lie outside the 80x60 image" in out and "nothing was imported" in out and "Traceback" not in out


def test_yolo_export_survives_bad_shapes_already_in_the_store(store, tmp_path):
    with Session(store.engine) as s:
        s.add(m.Annotation(image_id=store.images[1], class_id=store.classes["ball"], bbox_x=0, bbox_y=0,
                           bbox_w=5, bbox_h=5, segmentation=BIG_POLY, area=25, origin="manual", status="accepted"))
        s.add(m.Annotation(image_id=store.images[1], class_id=store.classes["ball"], bbox_x=1, bbox_y=1,
                           bbox_w=5, bbox_h=5, segmentation=[[float("nan"), 1e300, 5, 5, 9, 1] * 300],
                           area=0, origin="manual", status="accepted"))
        s.commit()
    r = _cli(store, "export", "yolo", "--license-policy", "research", "--no-images", str(tmp_path / "y"))
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, (r.returncode, out[-2000:])
    labels = " ".join(p.read_text() for p in (tmp_path / "y" / "labels").rglob("*.txt"))
    assert "nan" not in labels and "inf" not in labels
