"""The whole pipeline as a user runs it, through the CLI only: harvest from a local server that
replays a recorded Openverse answer and serves real photos, annotate with the real ONNX model,
review in (a faithful simulation of) COCO Annotator, import, export COCO, evaluate, status."""

from __future__ import annotations


import pytest
from pycocotools.coco import COCO
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus.store.models import Annotation, Image, Proposal, ReviewEvent
from tests.coco.ca_sim import coco_annotator_roundtrip

runner = CliRunner()


@pytest.mark.slow
def test_harvest_annotate_review_export_evaluate(db_url, engine, tmp_path, openverse, yolo_onnx):
    data = tmp_path / "data"

    def corpus(*args, env=None):
        r = runner.invoke(app, ["--db", db_url, "--data-dir", str(data), *args], env=env or {}, terminal_width=200)
        assert r.exit_code == 0, r.output
        return r.output

    # Two openly licensed hits, their files the real photos bus.jpg and zidane.jpg.
    env = {"CORPUS_OPENVERSE_BASE_URL": openverse}

    out = corpus("harvest", "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en",
                 "--sources", "openverse", env=env)
    assert "harvest done" in out
    with Session(engine) as s:
        images = s.scalars(select(Image).where(Image.status == "stored")).all()
        assert len(images) == 2 and {i.license_code for i in images} == {"CC0-1.0", "CC-BY-2.0"}

    corpus("annotate", "--domain", "sport", "--model", f"onnx:{yolo_onnx}", "--score-threshold", "0.5")
    with Session(engine) as s:
        n_props = s.scalar(select(func.count()).select_from(Proposal))
        pending = s.scalars(select(Annotation).where(Annotation.status == "pending")).all()
    assert n_props >= 5 and len(pending) >= 3  # bus.jpg: persons and a bus; zidane.jpg: two persons
    corpus("preview", "--domain", "sport", str(tmp_path / "preview"))
    assert list((tmp_path / "preview").rglob("*.png"))

    review_dir = tmp_path / "review"
    corpus("export", "coco-annotator", "--domain", "sport", str(review_dir))
    parts = sorted((review_dir / "annotations").glob("part-*.json"))
    assert parts

    deleted = []

    def reviewer(state, by_name):  # deletes one annotation, lets the others through
        deleted.append(state["annotations"].pop(0)["id"])

    reviewed = coco_annotator_roundtrip(parts, reviewer, tmp_path / "from-ca")
    # The reviewer finished every image: untouched proposals count as kept.
    out = corpus("import", "coco-annotator", "--domain", "sport", "--who", "ann", "--done", "all", str(reviewed))
    ann_events = (select(func.count()).select_from(ReviewEvent)
                  .where(ReviewEvent.who == "ann", ReviewEvent.annotation_id.isnot(None)))
    with Session(engine) as s:
        statuses = dict(s.execute(select(Annotation.status, func.count()).group_by(Annotation.status)).all())
        n_events = s.scalar(ann_events)
    assert statuses.get("rejected") == 1 and statuses.get("accepted") == len(pending) - 1
    assert n_events == len(pending)
    # Importing the same file again changes nothing.
    corpus("import", "coco-annotator", "--domain", "sport", "--who", "ann", "--done", "all", str(reviewed))
    with Session(engine) as s:
        assert s.scalar(ann_events) == n_events

    export_dir = tmp_path / "export"
    corpus("export", "coco", "--domain", "sport", "--status", "accepted", "--split", "train=0.5,val=0.5",
           "--license-policy", "any-open", str(export_dir))
    files = sorted((export_dir / "annotations").glob("instances_*.json"))
    assert [f.name for f in files] == ["instances_train.json", "instances_val.json"]
    n_anns = 0
    for f in files:
        coco = COCO(str(f))
        for ann in coco.dataset["annotations"]:
            assert coco.annToMask(ann).sum() > 0
        n_anns += len(coco.dataset["annotations"])
        for img in coco.dataset["images"]:
            lic = next(l for l in coco.dataset["licenses"] if l["id"] == img["license"])
            assert lic["name"] and lic["url"]
            split = f.stem.removeprefix("instances_")
            assert (export_dir / "images" / split / img["file_name"]).is_file()
    assert n_anns == len(pending) - 1

    out = corpus("evaluate", "--domain", "sport", "--plot", str(tmp_path / "eval.png"))
    assert "yolov5s-seg" in out
    assert (tmp_path / "eval.png").is_file()
    out = corpus("status")
    assert "sport" in out
