"""One instance type from model to file: a real model's instances, stored, read back, reviewed,
and written by every COCO writer, stay the same instances (corpus.instances)."""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from annotators.base import Instance as BackendInstance
from annotators.base import load_rgb
from annotators.onnx_yolo import OnnxYoloSeg
from corpus import masks
from corpus.annotate import AnnotateOptions, annotate_domain
from corpus.instances import Instance
from corpus.store import models as m
from corpus.store.db import session_scope

REPO = Path(__file__).resolve().parents[2]


def test_backends_return_the_one_type():
    assert BackendInstance is Instance


@pytest.mark.slow
def test_model_to_store_to_every_coco_writer(store, yolo_onnx, assets, tmp_path):
    from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
    from corpus.coco.evaluate import evaluate
    from corpus.coco.export import CocoExportOptions, export_coco
    from corpus.review import decide_matching, list_annotations

    engine, data, ids = store
    model = OnnxYoloSeg(yolo_onnx, score_threshold=0.4)
    (direct,) = model.annotate([load_rgb(assets / "bus.jpg")])
    annotate_domain(engine, model, "testsport", data, AnnotateOptions(batch_size=2))

    with session_scope(engine) as s:
        props = list(s.scalars(select(m.Proposal).where(m.Proposal.image_id == ids["bus"]).order_by(m.Proposal.id)))
        back = [Instance.from_proposal(p) for p in props]
    # Model -> store -> instance: the same masks, boxes, scores and areas as the model returned.
    assert len(back) == len(direct) >= 5
    for d in direct:
        (b,) = [b for b in back if b.label == d.label and abs(b.score - d.score) < 1e-9]
        assert b.rle() == d.rle() and b.area == d.area == np.count_nonzero(d.mask_array())
        assert np.allclose(b.box, d.box) and b.image_id == ids["bus"]

    with session_scope(engine) as s:
        dom = s.scalar(select(m.Domain).where(m.Domain.name == "testsport"))
        listed = {i.id: i for i in list_annotations(s, dom, limit=None)}
        assert listed and all(isinstance(i, Instance) and i.status == "pending" for i in listed.values())
        # The listed box is the stored one to the last bit (xywh is not recomputed from xyxy).
        for a in s.scalars(select(m.Annotation)):
            assert listed[a.id].box_xywh == (a.bbox_x, a.bbox_y, a.bbox_w, a.bbox_h)
        decide_matching(s, "accept", "maria", dom)

    export_coco(engine, tmp_path / "coco", data, CocoExportOptions(domain="testsport", segmentation="rle", files="none"))
    coco = [a for part in (tmp_path / "coco" / "annotations").glob("*.json")
            for a in json.loads(part.read_text())["annotations"]]
    export_coco_annotator(engine, tmp_path / "ca", data, AnnotatorExportOptions(
        domain="testsport", statuses=("accepted",), files="none"))
    ca = {a["id"]: a for part in (tmp_path / "ca" / "annotations").glob("*.json")
          for a in json.loads(part.read_text())["annotations"]}
    assert len(coco) == len(ca) == len(listed)
    with session_scope(engine) as s:
        anns = {a.id: a for a in s.scalars(select(m.Annotation))}
        sizes = {i.id: load_rgb(data / i.local_path).shape[:2] for i in s.scalars(select(m.Image).where(
            m.Image.id.in_([a.image_id for a in anns.values()])))}
    for entry in coco:
        inst = Instance.from_annotation(anns[entry["id"]])
        h, w = sizes[entry["image_id"]]
        proposal = {b.id: b for b in back}.get(anns[entry["id"]].proposal_id)
        # The training export writes the stored mask itself; box = its bounds, area = its pixels.
        assert entry["segmentation"] == inst.mask and entry["area"] == masks.rle_area(inst.mask)
        assert entry["bbox"] == list(masks.rle_to_bbox(inst.mask))
        if proposal is not None:
            assert entry["segmentation"] == proposal.rle()
        # COCO Annotator gets the same instance as polygons, tracing the same mask.
        other = ca[entry["id"]]
        assert masks.iou(other["segmentation"], entry["segmentation"], h, w) > 0.9
        # (its area is the traced polygons', which differ from the mask's along the outline)
        assert other["bbox"] == entry["bbox"] and abs(other["area"] - entry["area"]) <= 0.05 * entry["area"]

    # Evaluate converts truth and detections the same way: the model scored against its own
    # accepted proposals finds every mask exactly. (Sizes as a harvest records them.)
    with session_scope(engine) as s:
        for image_id, (h, w) in sizes.items():
            s.get(m.Image, image_id).width, s.get(m.Image, image_id).height = w, h
    (result,) = evaluate(engine, "testsport")
    assert result.truth == len(listed) and result.images == 2
    assert result.segm["AP"] == pytest.approx(1.0)


def test_instance_conversions():
    poly = [[2.0, 2.0, 12.0, 2.0, 12.0, 8.0, 2.0, 8.0]]
    inst = Instance("person", None, (2.0, 2.0, 12.0, 8.0), poly, {"status": "pending"}, id=7, image_id=3)
    rle = inst.rle(20, 30)
    assert rle["size"] == [20, 30] and masks.rle_area(rle) == inst.area == 60
    assert inst.mask_array(20, 30).sum() == 60 and inst.status == "pending"
    with pytest.raises(AttributeError, match="no attribute or extra 'nope'"):
        inst.nope
    entry, note = inst.coco(30, 20, "rle", category_id=5)
    assert note == "converted" and entry["segmentation"] == rle and entry["bbox"] == [2.0, 2.0, 10.0, 6.0]
    entry, note = inst.coco(30, 20, "polygon", category_id=5)
    assert note == "" and entry["segmentation"] == poly and entry["id"] == 7 and entry["category_id"] == 5
    # Unsafe and empty shapes: no entry, and the note says which.
    assert Instance("x", None, (0, 0, 1, 1), [[0, 0, float("nan"), 1, 1, 1]]).coco(30, 20, category_id=1) == (None, "invalid")
    assert Instance("x", None, (5, 5, 5, 5), [[1, 1, 5, 5, 9, 9]]).coco(30, 20, category_id=1) == (None, "empty")
    # A prediction keeps the model's box and its score.
    arr = np.zeros((20, 30), bool)
    arr[4:10, 5:9] = True
    det = Instance("person", 0.8, (4.5, 3.5, 9.5, 10.5), arr)
    entry, _ = det.coco(30, 20, "any", category_id=1, prediction=True)
    assert entry["bbox"] == [4.5, 3.5, 5.0, 7.0] and entry["score"] == 0.8 and entry["area"] == 24
    # Sent between processes (Ray) as RLE, and back the same.
    sent = pickle.loads(pickle.dumps(det.with_rle()))
    assert sent.mask == masks.mask_to_rle(arr) and sent.area == 24 and sent.score == 0.8


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{a.name}" for a in node.names)
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_one_conversion_to_coco_and_one_mask_module():
    """The one place an instance becomes COCO is Instance (through shapes.coco_shape), and the
    one mask module is corpus.masks: nothing else calls coco_shape or pycocotools' mask API."""
    sources = [p for d in ("corpus", "annotators") for p in (REPO / d).rglob("*.py")]
    shape_users = {p.relative_to(REPO).as_posix() for p in sources if "corpus.shapes.coco_shape" in _imports(p)}
    assert shape_users == {"corpus/instances.py"}
    codec_users = {p.relative_to(REPO).as_posix() for p in sources
                   if {"pycocotools.mask", "pycocotools"} & _imports(p)}
    assert codec_users == {"corpus/masks.py"}
    assert [p.relative_to(REPO).as_posix() for p in sources if p.name == "masks.py"] == ["corpus/masks.py"]
