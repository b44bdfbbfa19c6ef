"""Export for COCO Annotator, review there (simulated as its code behaves), import back: the
store shows exactly what the reviewer did, and importing again changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from pycocotools.coco import COCO
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
from corpus.coco.export import CocoExportOptions, export_coco
from corpus.coco.import_ import import_coco_annotator
from corpus.store import models as m
from tests.coco.ca_sim import coco_annotator_roundtrip


def _state(engine):
    with Session(engine) as s:
        anns = {a.id: (a.status, a.version, a.class_id, a.segmentation) for a in s.scalars(select(m.Annotation))}
        # Decisions on annotations; images declared done add their own events (counted apart).
        n_events = s.scalar(select(func.count()).select_from(m.ReviewEvent).where(m.ReviewEvent.annotation_id.isnot(None)))
    return anns, n_events


def _review(store):
    def review(state, by_name):
        img = {int(n.split("-")[0]): im for n, im in by_name.items()}
        cats = {c["name"]: c["id"] for c in state["categories"]}
        anns = state["annotations"]
        from corpus.coco.coco_annotator import id_color

        def ann_of(key):
            col = id_color(store.anns[key])
            return next(a for a in anns if a["color"] == col)

        anns.remove(ann_of("0:ball"))  # deleted
        a = ann_of("1:player")  # shape edited: moved 6 px right
        a["segmentation"] = [[v + 6 if i % 2 == 0 else v for i, v in enumerate(p)] for p in a["segmentation"]]
        a["bbox"] = [a["bbox"][0] + 6, *a["bbox"][1:]]
        ann_of("1:ball")["category_id"] = cats["tennis player"]  # relabelled
        anns.append({"id": 80001, "image_id": img[store.images[4]]["id"], "category_id": cats["tennis ball"],
                     "segmentation": [[60, 40, 70, 40, 70, 50, 60, 50]], "area": 100, "bbox": [60, 40, 10, 10],
                     "iscrowd": False, "isbbox": False, "color": "#12ab34", "metadata": {}})  # added
        # Everything on image 5 deleted: COCO Annotator's exporter stops there, the image is absent.
        state["annotations"] = [x for x in anns if x["image_id"] != img[store.images[5]]["id"]]

    return review


def test_roundtrip_records_exactly_what_the_reviewer_did(store, tmp_path):
    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir,
                                    AnnotatorExportOptions(chunk_images=2, license_policy="research"))
    assert len(summary.parts) == 3 and summary.images == 5 and summary.annotations == 13
    for part in summary.parts:  # polygons only, unique names, box and area everywhere; pycocotools reads it
        coco = COCO(str(part))
        names = [im["file_name"] for im in coco.dataset["images"]]
        assert len(names) == len(set(names))
        for a in coco.dataset["annotations"]:
            assert isinstance(a["segmentation"], list) and a["bbox"] and isinstance(a["area"], int)
            assert coco.annToMask(a).sum() > 0
    before, n_events_before = _state(store.engine)
    export_file = coco_annotator_roundtrip(summary.parts, _review(store), tmp_path / "downloads")

    report = import_coco_annotator(store.engine, [export_file], who="maria", done="all")
    assert dict(report.counts) == {"deleted": 1, "edited": 1, "relabeled": 1, "added": 1, "accepted": 4, "unchanged": 3}
    assert not report.conflicts
    after, n_events = _state(store.engine)
    a = store.anns
    assert after[a["0:ball"]][0] == "rejected" and after[a["0:ball"]][1] == before[a["0:ball"]][1] + 1
    assert after[a["1:player"]][0] == "edited"
    assert after[a["1:player"]][3][0][0] == before[a["1:player"]][3][0][0] + 6
    assert after[a["1:ball"]][0] == "edited" and after[a["1:ball"]][2] == store.classes["player"]
    for key in ("3:racket", "4:player", "4:ball", "4:racket"):
        assert after[a[key]][0] == "accepted", key
    for key in ("0:player", "0:racket", "3:ball"):  # already accepted/edited, unchanged: untouched
        assert after[a[key]] == before[a[key]], key
    for key in ("5:player", "5:ball", "5:racket"):  # image absent from the file: untouched
        assert after[a[key]] == before[a[key]], key
    new = set(after) - set(before)
    assert len(new) == 1
    assert n_events == n_events_before + 8
    assert report.marked_done == 4  # images 0, 1, 3, 4 (image 5 is absent from the file)
    with Session(store.engine) as s:
        added = s.get(m.Annotation, new.pop())
        assert (added.status, added.origin, added.external_id, added.image_id) == (
            "accepted", "import", "coco-annotator:80001", store.images[4])
        ev = s.scalars(select(m.ReviewEvent).where(m.ReviewEvent.annotation_id == a["1:player"])).one()
        assert (ev.who, ev.action, ev.origin) == ("maria", "edit", f"coco-annotator:{export_file.name}")
        assert ev.before["status"] == "pending" and ev.after["status"] == "edited"
        actions = {e.action for e in s.scalars(select(m.ReviewEvent))}
        assert {"delete", "edit", "relabel", "add", "accept"} <= actions

    # Idempotent: the same file again changes nothing.
    again = import_coco_annotator(store.engine, [export_file], who="maria", done="all")
    assert set(again.counts) == {"unchanged"} and not again.conflicts
    assert _state(store.engine) == (after, n_events)

    # The training export now carries the reviewed truth, edits included.
    out = export_coco(store.engine, tmp_path / "train", store.data_dir, CocoExportOptions(files="none"))
    data = json.loads(out.files["all"].read_text(encoding="utf-8"))
    got = {x["id"]: x for x in data["annotations"]}
    assert a["1:player"] in got and got[a["1:player"]]["bbox"][0] == 11
    assert a["0:ball"] not in got


def test_review_export_applies_the_license_policy(store, tmp_path):
    """An image the policy forbids never leaves the store, not even for review."""
    nc = store.images[5]  # CC BY-NC 4.0
    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir)
    assert summary.skipped_license == {"license:non-commercial": 1} and summary.images == 4
    ids = {im["id"] for p in summary.parts for im in json.loads(p.read_text(encoding="utf-8"))["images"]}
    anns = {a["image_id"] for p in summary.parts for a in json.loads(p.read_text(encoding="utf-8"))["annotations"]}
    assert nc not in ids and nc not in anns
    assert not [f for f in (tmp_path / "ca" / "images").iterdir() if f.name.startswith(f"{nc}-")]
    research = export_coco_annotator(store.engine, tmp_path / "r", store.data_dir,
                                     AnnotatorExportOptions(license_policy="research"))
    assert research.images == 5 and not research.skipped_license
    with pytest.raises(ValueError, match="unknown license-policy token"):
        export_coco_annotator(store.engine, tmp_path / "x", store.data_dir, AnnotatorExportOptions(license_policy="free"))


def test_older_file_never_overwrites_a_newer_review(store, tmp_path):
    from corpus.review import accept, reject
    from corpus.store.db import session_scope

    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir)

    def review(state, by_name):  # the reviewer deleted 4:ball and kept the rest
        from corpus.coco.coco_annotator import id_color
        state["annotations"] = [x for x in state["annotations"] if x["color"] != id_color(store.anns["4:ball"])]

    old_file = coco_annotator_roundtrip(summary.parts, review, tmp_path / "dl", at=time.time())
    time.sleep(0.05)
    with session_scope(store.engine) as s:  # meanwhile, on the command line
        accept(s, store.anns["4:ball"], "ivan")
        reject(s, store.anns["4:player"], "ivan")
    report = import_coco_annotator(store.engine, [old_file], who="maria", done="all")
    assert report.counts["conflict"] == 2
    assert any(f"annotation {store.anns['4:ball']} " in c and "ivan" in c for c in report.conflicts)
    with Session(store.engine) as s:
        assert s.get(m.Annotation, store.anns["4:ball"]).status == "accepted"
        assert s.get(m.Annotation, store.anns["4:player"]).status == "rejected"
        assert s.get(m.Annotation, store.anns["4:racket"]).status == "accepted"  # no conflict there


def test_annotations_created_after_the_export_are_not_deleted(store, tmp_path):
    from corpus.review import add
    from corpus.store.db import session_scope

    summary = export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir)
    f = coco_annotator_roundtrip(summary.parts, lambda st, bn: None, tmp_path / "dl", at=time.time())
    time.sleep(0.05)
    with session_scope(store.engine) as s:
        new, _ = add(s, store.images[4], store.classes["ball"], "ivan", bbox=[1, 1, 5, 5])
        new.status = "pending"
    report = import_coco_annotator(store.engine, [f], who="maria")
    assert report.counts["new-since-export"] == 1 and "deleted" not in report.counts
