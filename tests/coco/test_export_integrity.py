"""Exports other tools read without refusing or damaging them: unique category names (Datumaro
refuses duplicates), boxes that enclose their masks (FiftyOne crops masks to the box)."""

from __future__ import annotations

import json

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from sqlalchemy.orm import Session

from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
from corpus.coco.export import CocoExportOptions, export_coco
from corpus.store import models as m
from tests.coco.builder import H, W


def _two_swimmers(store):
    with Session(store.engine) as s:
        for synset, cid in (("swimmer.n.01", 10), ("swimmer.n.02", 11)):
            c = m.OntologyClass(domain_id=store.domain_id, synset=synset, kind="dominant", name="swimmer",
                                category_id=cid)
            s.add(c)
            s.flush()
            s.add(m.Annotation(image_id=store.images[0], class_id=c.id, bbox_x=2, bbox_y=2, bbox_w=6, bbox_h=6,
                               segmentation=[[2, 2, 8, 2, 8, 8, 2, 8]], area=36, origin="manual", status="accepted"))
        s.add(m.OntologyClass(domain_id=store.domain_id, synset="tennis_player.n.99", kind="dominant",
                              name="Tennis Player", category_id=12))  # differs from "tennis player" by case only
        s.commit()


def _names(categories):
    return [c["name"] for c in categories]


def test_category_names_are_unique_in_both_exports(store, tmp_path):
    _two_swimmers(store)
    out = export_coco(store.engine, tmp_path / "t", store.data_dir, CocoExportOptions(files="none"))
    cats = json.loads(out.files["all"].read_text(encoding="utf-8"))["categories"]
    names = _names(cats)
    assert len({n.casefold() for n in names}) == len(names)
    by_synset = {c["synset"]: c["name"] for c in cats}
    assert by_synset["swimmer.n.01"] == "swimmer (swimmer.n.01)" and by_synset["swimmer.n.02"] == "swimmer (swimmer.n.02)"
    assert by_synset["tennis_ball.n.01"] == "tennis ball"  # names without a clash stay as they are
    ca = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir,
                               AnnotatorExportOptions(files="none", statuses=("accepted",)))
    ca_names = _names(json.loads(ca.categories_file.read_text(encoding="utf-8"))["categories"])
    assert sorted(ca_names) == sorted(names)


def _rle(mask):
    return {"size": [H, W], "counts": mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()}


def test_mask_bbox_is_the_mask_bounds_not_the_detector_box(store, tmp_path):
    """A detector's box often differs from its mask's bounds; the file must carry the mask's."""
    mask = np.zeros((H, W), bool)
    mask[20:30, 40:55] = True  # bounds x 40..54, y 20..29
    with Session(store.engine) as s:
        a = m.Annotation(image_id=store.images[0], class_id=store.classes["ball"], bbox_x=44, bbox_y=22, bbox_w=8,
                         bbox_h=5, segmentation=_rle(mask), area=150, origin="proposal", status="accepted")
        s.add(a)
        s.commit()
        ann_id = a.id
    for seg in ("polygon", "rle"):
        out = export_coco(store.engine, tmp_path / seg, store.data_dir, CocoExportOptions(files="none", segmentation=seg))
        coco = COCO(str(out.files["all"]))
        for ann in coco.dataset["annotations"]:
            x, y, w, h = ann["bbox"]
            full = coco.annToMask(ann).astype(bool)
            # What FiftyOne keeps: the mask cropped to the rounded box.
            crop = full[int(round(y)):int(round(y + h)), int(round(x)):int(round(x + w))]
            assert crop.sum() == full.sum() == ann["area"], (seg, ann["id"])
        got = coco.anns[ann_id]
        assert got["bbox"] == [40.0, 20.0, 15.0, 10.0], seg
    ca = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir,
                               AnnotatorExportOptions(files="none", statuses=("accepted",)))
    for part in ca.parts:
        coco = COCO(str(part))
        for ann in coco.dataset["annotations"]:
            x, y, w, h = ann["bbox"]
            full = coco.annToMask(ann).astype(bool)
            crop = full[int(round(y)):int(round(y + h)), int(round(x)):int(round(x + w))]
            assert crop.sum() == full.sum() > 0, ann["id"]
