"""COCO Annotator import: explicit changes always, untouched proposals accepted only on images the
reviewer declared done; an annotation is found again whatever its colour."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from corpus import review as rv
from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator, id_color
from corpus.coco.import_ import import_coco_annotator
from corpus.coco.validate import InvalidInput
from corpus.store import models as m
from corpus.store.db import session_scope
from tests.coco.ca_sim import coco_annotator_roundtrip


def _statuses(store):
    with Session(store.engine) as s:
        return {a.id: a.status for a in s.scalars(select(m.Annotation))}


def _n_accept_events(store):
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(m.ReviewEvent).where(m.ReviewEvent.action == "accept"))


def _export(store, tmp_path):
    return export_coco_annotator(store.engine, tmp_path / "ca", store.data_dir,
                                 AnnotatorExportOptions(license_policy="research")).parts


def _untouched_file(store, tmp_path):
    return coco_annotator_roundtrip(_export(store, tmp_path), lambda st, bn: None, tmp_path / "dl")


def _pending_on(store, i):
    return [store.anns[f"{i}:{c}"] for c in ("player", "ball", "racket")
            if _statuses(store)[store.anns[f"{i}:{c}"]] == "pending"]


def test_default_never_accepts_an_unopened_image(store, tmp_path):
    f = _untouched_file(store, tmp_path)
    before = _statuses(store)
    report = import_coco_annotator(store.engine, [f], who="maria")
    assert "accepted" not in report.counts
    # The builder leaves 9 pending annotations on images 0, 1, 3, 4 and 5: all untouched.
    assert report.counts["untouched"] == 9
    assert report.untouched_left == 9 and report.untouched_accepted == 0
    assert report.done_images == 0 and report.images_not_done == 5
    assert _statuses(store) == before and _n_accept_events(store) == 0


def test_done_all_accepts_untouched_on_every_image_of_the_file_and_records_done(store, tmp_path):
    f = _untouched_file(store, tmp_path)
    report = import_coco_annotator(store.engine, [f], who="maria", done="all")
    assert report.counts["accepted"] == 9 and "untouched" not in report.counts
    assert report.untouched_accepted == 9 and report.done_images == 5 and report.images_not_done == 0
    assert "pending" not in _statuses(store).values()
    with Session(store.engine) as s:
        assert rv.done_image_ids(s) == {store.images[i] for i in (0, 1, 3, 4, 5)}
        ev = s.scalars(select(m.ReviewEvent).where(m.ReviewEvent.image_id == store.images[4])).one()
        assert (ev.action, ev.who, ev.origin) == ("done", "maria", f"coco-annotator:{f.name}")


def test_done_ids_and_done_in_the_store(store, tmp_path):
    f = _untouched_file(store, tmp_path)
    with session_scope(store.engine) as s:  # image 3 was marked done in the store before the import
        rv.mark_image_done(s, store.images[3], reviewer="ivan")
    p3, p4, p5 = (_pending_on(store, i) for i in (3, 4, 5))
    report = import_coco_annotator(store.engine, [f], who="maria", done=[store.images[4]])
    st = _statuses(store)
    assert all(st[a] == "accepted" for a in p3 + p4)
    assert all(st[a] == "pending" for a in p5)
    assert report.untouched_accepted == len(p3) + len(p4) == 4
    assert report.untouched_left == 9 - 4  # images 0, 1 and 5
    assert report.done_images == 2
    with Session(store.engine) as s:
        assert rv.done_image_ids(s) == {store.images[3], store.images[4]}


def test_done_ids_must_be_images_of_the_files(store, tmp_path):
    f = _untouched_file(store, tmp_path)
    with pytest.raises(InvalidInput, match="image 424242 is not in the imported file"):
        import_coco_annotator(store.engine, [f], who="maria", done=[424242])


def test_explicit_changes_are_recorded_without_done(store, tmp_path):
    def review(state, by_name):
        anns = state["annotations"]
        cats = {c["name"]: c["id"] for c in state["categories"]}
        img4 = next(im for n, im in by_name.items() if n.startswith(f"{store.images[4]}-"))
        by_col = {a["color"]: a for a in anns}
        anns.remove(by_col[id_color(store.anns["4:ball"])])  # deleted
        by_col[id_color(store.anns["4:racket"])]["category_id"] = cats["tennis player"]  # relabelled
        anns.append({"id": 80001, "image_id": img4["id"], "category_id": cats["tennis ball"],
                     "segmentation": [[60, 40, 70, 40, 70, 50, 60, 50]], "area": 100, "bbox": [60, 40, 10, 10],
                     "iscrowd": False, "isbbox": False, "color": "#12ab34", "metadata": {}})  # added

    f = coco_annotator_roundtrip(_export(store, tmp_path), review, tmp_path / "dl")
    report = import_coco_annotator(store.engine, [f], who="maria")
    assert report.counts["deleted"] == 1 and report.counts["relabeled"] == 1 and report.counts["added"] == 1
    assert "accepted" not in report.counts
    st = _statuses(store)
    assert st[store.anns["4:ball"]] == "rejected" and st[store.anns["4:racket"]] == "edited"
    assert st[store.anns["4:player"]] == "pending"  # untouched, and image 4 not declared done


def test_identity_survives_a_colour_change(store, tmp_path):
    """COCO Annotator keeps the segmentation it imported (it even finds annotations by image,
    category and segmentation itself) and its own annotation id; the colour is the reviewer's to
    change. An annotation recoloured (shape kept, or shape edited) is still ours."""
    def review(state, by_name):
        by_col = {a["color"]: a for a in state["annotations"]}
        kept = by_col[id_color(store.anns["4:player"])]
        kept["color"] = "#00ff00"  # recoloured only
        moved = by_col[id_color(store.anns["4:ball"])]
        moved["color"] = "#ff0000"  # recoloured and moved 2 px right
        moved["segmentation"] = [[v + 2 if i % 2 == 0 else v for i, v in enumerate(p)] for p in moved["segmentation"]]

    f = coco_annotator_roundtrip(_export(store, tmp_path), review, tmp_path / "dl")
    with Session(store.engine) as s:
        n_before = s.scalar(select(func.count()).select_from(m.Annotation))
    report = import_coco_annotator(store.engine, [f], who="maria", done="all")
    assert "added" not in report.counts and "deleted" not in report.counts
    st = _statuses(store)
    assert st[store.anns["4:player"]] == "accepted"
    assert st[store.anns["4:ball"]] == "edited"
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Annotation)) == n_before
        # COCO Annotator's own id is remembered: the next file finds it by that id.
        assert s.get(m.Annotation, store.anns["4:ball"]).external_id.startswith("coco-annotator:")


def test_cli_prints_what_done_affects(store, tmp_path):
    from cli import app

    f = _untouched_file(store, tmp_path)
    runner = CliRunner()
    base = ["--db", store.db_url, "--data-dir", str(store.data_dir), "import", "coco-annotator", "--who", "maria"]
    r = runner.invoke(app, [*base, "--dry-run", str(f)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "9 untouched annotation(s) on 5 image(s) not declared done were left as they are" in text
    r = runner.invoke(app, [*base, "--done", f"{store.images[4]},{store.images[5]}", str(f)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "2 image(s) done: 6 untouched annotation(s) accepted" in text
    r = runner.invoke(app, [*base, "--done", "some", str(f)])
    assert r.exit_code != 0 and "--done takes all or image ids" in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_twin_merged_by_coco_annotator_is_not_deleted(store, tmp_path):
    """COCO Annotator's import merges an annotation identical to one it holds (same image,
    category and segmentation): the twin missing from its export was never deleted."""
    with Session(store.engine) as s:
        orig = s.get(m.Annotation, store.anns["4:player"])
        twin = m.Annotation(image_id=orig.image_id, class_id=orig.class_id, bbox_x=orig.bbox_x, bbox_y=orig.bbox_y,
                            bbox_w=orig.bbox_w, bbox_h=orig.bbox_h, segmentation=orig.segmentation, area=orig.area,
                            origin="manual", status="pending")
        s.add(twin)
        s.commit()
        twin_id = twin.id

    def review(state, by_name):  # what COCO Annotator's import does with the second of two identical ones
        keys, kept = set(), []
        for a in state["annotations"]:
            key = (a["image_id"], a["category_id"], json.dumps(a["segmentation"]))
            if key not in keys:
                kept.append(a)
            keys.add(key)
        state["annotations"] = kept

    f = coco_annotator_roundtrip(_export(store, tmp_path), review, tmp_path / "dl")
    report = import_coco_annotator(store.engine, [f], who="maria", done="all")
    assert "deleted" not in report.counts
    assert _statuses(store)[twin_id] == "pending" and _statuses(store)[store.anns["4:player"]] == "accepted"
