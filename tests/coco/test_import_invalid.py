"""Bad files get a clear error and change nothing in the store."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus.coco.coco_annotator import export_coco_annotator, id_color
from corpus.coco.import_ import import_coco_annotator
from corpus.coco.validate import InvalidInput
from corpus.store import models as m
from tests.coco.ca_sim import coco_annotator_roundtrip


def snapshot(engine):
    with Session(engine) as s:
        return ([(a.id, a.status, a.version, a.class_id) for a in s.scalars(select(m.Annotation).order_by(m.Annotation.id))],
                s.scalar(select(func.count()).select_from(m.ReviewEvent)))


@pytest.fixture
def good_file(store, tmp_path):
    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir)

    def review(state, by_name):  # a real change, so that a partial write would show
        state["annotations"] = [a for a in state["annotations"] if a["color"] != id_color(store.anns["4:ball"])]

    return coco_annotator_roundtrip(summary.parts, review, tmp_path / "dl", at=time.time() + 5)


def _write(tmp_path, name, content: bytes):
    p = tmp_path / name
    p.write_bytes(content)
    return p


def _mutate(good_file, tmp_path, fn):
    data = json.loads(good_file.read_text(encoding="utf-8"))
    fn(data)
    return _write(tmp_path, good_file.name.replace("coco-", "coco-bad-"), json.dumps(data).encode())


CASES = {
    "missing key": (lambda d: d.pop("annotations"), "missing key 'annotations'"),
    "wrong type": (lambda d: d.__setitem__("images", {"a": 1}), "'images' must be a list"),
    "id not int": (lambda d: d["annotations"][0].__setitem__("id", "7"), r"annotations\[0\].id: expected an integer"),
    "unknown image id": (lambda d: d["annotations"][0].__setitem__("image_id", 123456), "unknown image_id 123456"),
    "unknown category id": (lambda d: d["annotations"][1].__setitem__("category_id", 999), "unknown category_id 999"),
    "bad polygon": (lambda d: d["annotations"][0].__setitem__("segmentation", [[1, 2, 3]]), "expected polygons"),
    "bad bbox": (lambda d: d["annotations"][0].__setitem__("bbox", [1, 2, "x", 4]), r"bbox: expected \[x, y, w, h\]"),
    "image not ours": (lambda d: d["images"][0].__setitem__("file_name", "holiday.jpg"), "'holiday.jpg' is not an image of this store"),
    "category not in ontology": (
        lambda d: next(c for c in d["categories"] if c["id"] == d["annotations"][0]["category_id"]).__setitem__("name", "referee"),
        "'referee' is not a class of this domain"),
    "top level list": (lambda d: (d.clear()), "missing key"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_content_changes_nothing(store, tmp_path, good_file, case):
    fn, msg = CASES[case]
    bad = _mutate(good_file, tmp_path, fn)
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match=msg) as exc:
        import_coco_annotator(store.engine, [good_file, bad], who="t")  # the good one is not applied either
    assert "nothing was imported" in str(exc.value) and bad.name in str(exc.value)
    assert snapshot(store.engine) == before


def test_not_utf8(store, tmp_path, good_file):
    text = good_file.read_text(encoding="utf-8")
    bad = _write(tmp_path, "latin1.json", text.replace('"categories"', '"cat\xe9gories"').encode("latin-1"))
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match="not UTF-8 text: byte 0xe9"):
        import_coco_annotator(store.engine, [bad])
    assert snapshot(store.engine) == before


def test_truncated(store, tmp_path, good_file):
    raw = good_file.read_bytes()
    bad = _write(tmp_path, "cut.json", raw[: len(raw) // 2])
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match="truncated"):
        import_coco_annotator(store.engine, [bad])
    assert snapshot(store.engine) == before


@pytest.mark.parametrize("content, msg", [(b"", "empty"), (b"{'a': 1}", "not valid JSON"), (b"[1, 2]", "expected a JSON object")])
def test_other_garbage(store, tmp_path, content, msg):
    with pytest.raises(InvalidInput, match=msg):
        import_coco_annotator(store.engine, [_write(tmp_path, "g.json", content)])


def test_missing_file(store, tmp_path):
    with pytest.raises(InvalidInput, match="cannot read the file"):
        import_coco_annotator(store.engine, [tmp_path / "nope.json"])


def test_good_file_then_dry_run(store, tmp_path, good_file):
    before = snapshot(store.engine)
    report = import_coco_annotator(store.engine, [good_file], dry_run=True)
    assert report.counts["deleted"] == 1 and snapshot(store.engine) == before
    import_coco_annotator(store.engine, [good_file])
    assert snapshot(store.engine) != before


def test_our_own_review_file_is_refused(store, tmp_path):
    summary = export_coco_annotator(store.engine, tmp_path / "ca2", store.data_dir)
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match="not COCO Annotator's export"):
        import_coco_annotator(store.engine, summary.parts)
    assert snapshot(store.engine) == before


def _seg(i, seg):
    return lambda d: d["annotations"][i].__setitem__("segmentation", seg)


# Python's json reads NaN/Infinity, and pycocotools crashes the whole process (segfault, or
# gigabytes allocated) on such coordinates; shapes that do not fit the image would reach the
# training export as empty masks or masks of the wrong size.
SHAPE_CASES = {
    "NaN coordinate": (_seg(0, [[float("nan"), 2, 3, 4, 5, 6]]), "must be finite numbers"),
    "huge coordinate": (_seg(0, [[1e300, 1, 5, 5, 9, 9]]), "must be finite numbers"),
    "infinite bbox": (lambda d: d["annotations"][0].__setitem__("bbox", [1, 2, float("inf"), 4]), r"bbox: expected"),
    "RLE counts not a string": (_seg(0, {"size": [60, 80], "counts": 5}), "RLE counts must be"),
    "RLE counts empty": (_seg(0, {"size": [60, 80], "counts": ""}), "RLE counts must be"),
    "RLE counts garbage": (_seg(0, {"size": [60, 80], "counts": "zzzzzzzz"}), "do not decode"),
    "RLE runs do not add up": (_seg(0, {"size": [60, 80], "counts": [10, 5]}), "adding up to height x width"),
    "RLE of another size": (_seg(0, {"size": [10, 10], "counts": [0, 100]}), r"RLE size \[10, 10\] is not the image's"),
    "polygon outside the image": (_seg(0, [[500, 500, 600, 500, 600, 600]]), "covers no pixel of the 80x60 image"),
    "degenerate polygon": (_seg(0, [[1, 1, 5, 5, 9, 9]]), "covers no pixel"),
}


@pytest.mark.parametrize("case", list(SHAPE_CASES))
def test_unusable_shapes_are_refused_and_change_nothing(store, tmp_path, good_file, case):
    fn, msg = SHAPE_CASES[case]
    bad = _mutate(good_file, tmp_path, fn)
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match=msg):
        import_coco_annotator(store.engine, [bad], who="t")
    assert snapshot(store.engine) == before


def test_a_full_image_rle_of_the_right_size_is_imported(store, tmp_path, good_file):
    bad = _mutate(good_file, tmp_path, _seg(0, {"size": [60, 80], "counts": [0, 60 * 80]}))
    report = import_coco_annotator(store.engine, [bad], who="t")
    assert report.counts["edited"] == 1


def test_very_deep_json_is_a_clear_error(store, tmp_path):
    bad = _write(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(InvalidInput, match="nested too deeply"):
        import_coco_annotator(store.engine, [bad])


def test_an_image_id_beyond_any_store_is_not_ours(store, tmp_path, good_file):
    def fn(d):
        d["images"][0]["file_name"] = "100000000000000000000000-" + d["images"][0]["file_name"].split("-", 1)[1]

    bad = _mutate(good_file, tmp_path, fn)
    before = snapshot(store.engine)
    with pytest.raises(InvalidInput, match="is not an image of this store"):
        import_coco_annotator(store.engine, [bad])
    assert snapshot(store.engine) == before


def test_an_added_annotation_with_a_zero_size_box_takes_its_mask_bounds(store, tmp_path, good_file):
    """COCO Annotator's bbox is whatever the file says; the mask decides (no ReviewError)."""
    def fn(d):
        a = dict(d["annotations"][0])
        a.update(id=99999, color="#123456", bbox=[60, 40, 0, 0], segmentation=[[60, 40, 70, 40, 70, 50, 60, 50]])
        d["annotations"].append(a)

    bad = _mutate(good_file, tmp_path, fn)
    report = import_coco_annotator(store.engine, [bad], who="t")
    assert report.counts["added"] == 1
    added = next(o for o in report.outcomes if o.kind == "added")
    with Session(store.engine) as s:
        ann = s.get(m.Annotation, added.annotation_id)
        assert (ann.bbox_x, ann.bbox_y, ann.bbox_w, ann.bbox_h) == (60, 40, 10, 10)
