"""The training export: valid COCO that pycocotools loads, categories, licenses, splits, files."""

from __future__ import annotations

import json
import os

import pytest
from pycocotools.coco import COCO
from sqlalchemy.orm import Session

from corpus.coco.export import CocoExportOptions, export_coco, parse_statuses
from corpus.coco.splits import parse_splits, split_of
from corpus.store import models as m


def load_all_masks(path) -> COCO:
    coco = COCO(str(path))
    for ann in coco.dataset["annotations"]:
        mask = coco.annToMask(ann)
        assert mask.shape == (coco.imgs[ann["image_id"]]["height"], coco.imgs[ann["image_id"]]["width"])
        assert mask.sum() > 0, ann
    return coco


@pytest.mark.parametrize("seg", ["polygon", "rle"])
def test_export_loads_in_pycocotools_with_every_mask(store, tmp_path, seg):
    out = tmp_path / "out"
    summary = export_coco(store.engine, out, store.data_dir, CocoExportOptions(statuses=parse_statuses("all"), segmentation=seg))
    coco = load_all_masks(summary.files["all"])
    # 6 images, the last one CC BY-NC: left out by the default policy.
    assert len(coco.imgs) == 5
    assert summary.skipped_license == {"license:non-commercial": 1}
    assert len(coco.dataset["annotations"]) == 15
    for ann in coco.dataset["annotations"]:
        if seg == "rle":
            assert isinstance(ann["segmentation"], dict) and isinstance(ann["segmentation"]["counts"], str)
        else:
            assert isinstance(ann["segmentation"], list)
        assert ann["area"] > 0 and len(ann["bbox"]) == 4
    for img in coco.dataset["images"]:
        assert (out / "images" / img["file_name"]).is_file()


def test_categories_stable_ids_supercategory_and_non_latin_names(store, tmp_path):
    s1 = export_coco(store.engine, tmp_path / "a", store.data_dir, CocoExportOptions(files="none"))
    s2 = export_coco(store.engine, tmp_path / "b", store.data_dir, CocoExportOptions(files="none"))
    raw = s1.files["all"].read_text(encoding="utf-8")
    assert "тенисист" in raw  # written as UTF-8, not \u escapes
    d1 = json.loads(raw)
    d2 = json.loads(s2.files["all"].read_text(encoding="utf-8"))
    cats = {c["synset"]: c for c in d1["categories"]}
    assert [c["id"] for c in d1["categories"]] == [c["id"] for c in d2["categories"]]
    player = cats["tennis_player.n.01"]
    assert player["id"] == 2 and player["name"] == "tennis player" and player["supercategory"] == "person"
    assert player["names"] == {"bg": "тенисист", "el": "τενίστας", "en": "tennis player", "ru": "теннисист"}
    assert player["def"] == "someone who plays tennis"
    assert cats["person.n.01"]["supercategory"] == "sport"  # top class: the domain
    # A class without category_id gets a derived id, reported.
    assert cats["tennis_racket.n.01"]["id"] >= 100_000
    assert s1.fallback_categories == ["tennis_racket.n.01"]
    # pycocotools reads the non-Latin names back.
    coco = COCO(str(s1.files["all"]))
    assert coco.loadCats([2])[0]["names"]["el"] == "τενίστας"


def test_only_requested_statuses_and_licenses_entries(store, tmp_path):
    summary = export_coco(store.engine, tmp_path / "o", store.data_dir, CocoExportOptions(files="none"))
    data = json.loads(summary.files["all"].read_text(encoding="utf-8"))
    with Session(store.engine) as s:
        statuses = {a.id: a.status for a in s.query(m.Annotation)}
        images = {i.id: i for i in s.query(m.Image)}
    assert data["annotations"] and all(statuses[a["id"]] in ("accepted", "edited") for a in data["annotations"])
    expected = sum(1 for a in statuses.values() if a in ("accepted", "edited"))
    assert len(data["annotations"]) == expected  # the NC image holds only pending ones
    licenses = {lic["id"]: lic for lic in data["licenses"]}
    for img in data["images"]:
        lic = licenses[img["license"]]
        row = images[img["id"]]
        assert lic["url"] == row.license_url and lic["code"] == row.license_code
        assert lic["name"] in ("CC BY-SA 4.0", "CC0 1.0", "CC BY 4.0") or lic["name"].startswith("CC")
        assert lic["author"] == row.author and lic["attribution"] == row.attribution
        assert lic["source_url"] == row.landing_url
    # Research policy admits the NC image.
    s2 = export_coco(store.engine, tmp_path / "r", store.data_dir,
                     CocoExportOptions(files="none", statuses=("pending",), license_policy="research"))
    assert not s2.skipped_license
    pending_images = {a.image_id for a in _anns(store) if a.status == "pending"}
    assert s2.images["all"] == len(pending_images)


def _anns(store):
    with Session(store.engine) as s:
        return list(s.query(m.Annotation))


def test_splits_are_deterministic_disjoint_and_complete(store, tmp_path):
    opts = CocoExportOptions(statuses=parse_statuses("all"), splits=parse_splits("train=0.5,val=0.3,test=0.2"), seed=7,
                             files="link")
    s1 = export_coco(store.engine, tmp_path / "a", store.data_dir, opts)
    s2 = export_coco(store.engine, tmp_path / "b", store.data_dir, opts)
    ids = {}
    for name, path in s1.files.items():
        d = json.loads(path.read_text(encoding="utf-8"))
        ids[name] = {i["id"] for i in d["images"]}
        assert {a["image_id"] for a in d["annotations"]} <= ids[name]
        for i in d["images"]:
            f = tmp_path / "a" / "images" / name / i["file_name"]
            assert f.is_file() and os.stat(f).st_nlink >= 2  # hard link, not a copy
        assert json.loads(s2.files[name].read_text(encoding="utf-8"))["images"] == d["images"]
    all_ids = [i for v in ids.values() for i in v]
    assert len(all_ids) == len(set(all_ids)) == 5
    for name in ids:
        load_all_masks(s1.files[name]) if s1.annotations[name] else None


def test_split_function():
    splits = parse_splits("train=0.8,val=0.1,test=0.1")
    keys = [f"{i:040x}" for i in range(2000)]
    got = [split_of(k, splits, seed=1) for k in keys]
    assert got == [split_of(k, splits, seed=1) for k in keys]
    assert 1450 < got.count("train") < 1750 and got.count("val") > 120 and got.count("test") > 120
    assert got != [split_of(k, splits, seed=2) for k in keys]


@pytest.mark.parametrize("spec, msg", [
    ("train=0.8,val=0.1", "sum to 0.9"),
    ("train=0.8,val", "NAME=FRACTION"),
    ("train=x", "not a number"),
    ("train=0.5,train=0.5", "twice"),
    ("a/b=1", "letters"),
])
def test_bad_split_specs(spec, msg):
    with pytest.raises(ValueError, match=msg):
        parse_splits(spec)


def test_missing_file_is_left_out_and_reported(store, tmp_path):
    with Session(store.engine) as s:
        img = s.get(m.Image, store.images[0])
        (store.data_dir / img.local_path).unlink()
    summary = export_coco(store.engine, tmp_path / "o", store.data_dir, CocoExportOptions(statuses=parse_statuses("all")))
    data = json.loads(summary.files["all"].read_text(encoding="utf-8"))
    assert summary.missing_files == 1
    assert store.images[0] not in {i["id"] for i in data["images"]}
    assert store.images[0] not in {a["image_id"] for a in data["annotations"]}


def test_unknown_domain_and_status(store, tmp_path):
    from corpus.coco.categories import UnknownDomain

    with pytest.raises(UnknownDomain, match="unknown domain 'music'.*sport"):
        export_coco(store.engine, tmp_path / "o", store.data_dir, CocoExportOptions(domain="music"))
    with pytest.raises(ValueError, match="unknown review status 'done'"):
        parse_statuses("accepted,done")
    assert not (tmp_path / "o" / "annotations").exists()


def _degenerate(store):
    """An empty detector mask, a thin mask whose traced contour encloses no pixel, a zero-width box."""
    import numpy as np
    from pycocotools import mask as mask_utils

    from tests.coco.builder import H, W

    def rle(a):
        return {"size": [H, W], "counts": mask_utils.encode(np.asfortranarray(a.astype(np.uint8)))["counts"].decode()}

    empty = np.zeros((H, W), bool)
    thin = np.zeros((H, W), bool)
    thin[10, 10:20] = True
    thin[10:20, 10] = True
    ball, img = store.classes["ball"], store.images[0]
    rows = [
        m.Annotation(image_id=img, class_id=ball, bbox_x=1, bbox_y=1, bbox_w=4, bbox_h=4, segmentation=rle(empty),
                     area=0.0, origin="proposal", status="accepted"),
        m.Annotation(image_id=img, class_id=ball, bbox_x=10, bbox_y=10, bbox_w=10, bbox_h=10, segmentation=rle(thin),
                     area=19.0, origin="proposal", status="accepted"),
        m.Annotation(image_id=img, class_id=ball, bbox_x=10, bbox_y=10, bbox_w=0, bbox_h=10, segmentation=None,
                     area=0.0, origin="proposal", status="accepted"),
    ]
    with Session(store.engine) as s:
        s.add_all(rows)
        s.commit()
        return [r.id for r in rows]


@pytest.mark.parametrize("seg", ["polygon", "rle"])
def test_no_empty_masks_or_zero_area_boxes_are_exported(store, tmp_path, seg):
    empty_mask, thin_mask, flat_box = _degenerate(store)
    summary = export_coco(store.engine, tmp_path / "o", store.data_dir, CocoExportOptions(files="none", segmentation=seg))
    coco = load_all_masks(summary.files["all"])  # annToMask is non-empty on every annotation
    got = {a["id"]: a for a in coco.dataset["annotations"]}
    assert all(a["area"] > 0 for a in got.values())
    assert flat_box not in got and summary.empty == 1
    assert got[empty_mask]["bbox"] == [1.0, 1.0, 4.0, 4.0]  # sent as its box
    assert thin_mask in got


def test_review_export_sends_no_polygon_that_covers_no_pixel(store, tmp_path):
    from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator

    _, thin_mask, _ = _degenerate(store)
    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir,
                                    AnnotatorExportOptions(files="none", statuses=("accepted",)))
    anns = [a for p in summary.parts for a in COCO(str(p)).dataset["annotations"]]
    thin = next(a for a in anns if a["id"] == thin_mask)
    coco = COCO(str(summary.parts[0]))
    assert coco.annToMask(thin).sum() > 0 and thin["area"] > 0


def test_clashing_category_ids_are_refused(store, tmp_path):
    with Session(store.engine) as s:
        s.get(m.OntologyClass, store.classes["ball"]).category_id = 2  # the tennis player's id
        s.commit()
    with pytest.raises(ValueError, match="category ids used by more than one class: 2: tennis_ball.n.01, tennis_player.n.01"):
        export_coco(store.engine, tmp_path / "o", store.data_dir, CocoExportOptions(files="none"))
    assert not (tmp_path / "o" / "annotations" / "instances.json").exists()
