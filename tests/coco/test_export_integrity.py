"""Exports other tools read without refusing or damaging them: unique category names (Datumaro
refuses duplicates), boxes that enclose their masks (FiftyOne crops masks to the box)."""

from __future__ import annotations

import json

from pycocotools.coco import COCO

from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
from corpus.coco.export import CocoExportOptions, export_coco
from tests.coco.builder import add_mask_beyond_box, add_name_clash


def _names(categories):
    return [c["name"] for c in categories]


def test_category_names_are_unique_in_both_exports(store, tmp_path):
    add_name_clash(store, case_clash=True)
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


def test_mask_bbox_is_the_mask_bounds_not_the_detector_box(store, tmp_path):
    """A detector's box often differs from its mask's bounds; the file must carry the mask's."""
    ann_id = add_mask_beyond_box(store)  # mask bounds x 40..54, y 20..29
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
