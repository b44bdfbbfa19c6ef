"""The whole loop on the CPU, as a user runs it: export yolo -> train (a tiny fine-tune of the
shared COCO yolov8n-seg weights) -> models list/show -> annotate --model trained:NAME (and its
ONNX export) -> evaluate against the base model on the images training held out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus.store import models as m

pytest.importorskip("ultralytics", reason="needs the yolo extra")
runner = CliRunner()


pytestmark = pytest.mark.usefixtures("wide_console")  # tests/conftest.py


@pytest.mark.slow
def test_export_train_annotate_evaluate(train_store, base_weights, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(2)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # anything ultralytics wrote to the working directory would show here
    assert Path(os.environ["YOLO_CONFIG_DIR"]).is_relative_to(Path(os.environ.get("TMPDIR", "/tmp")))
    st = train_store

    def run(*args):
        r = runner.invoke(app, ["--db", st.db_url, "--data-dir", str(st.data_dir), *args])
        text = " ".join(r.output.split())
        assert r.exit_code == 0, r.output
        return text

    split = ["--split", "train=0.6,val=0.4", "--seed", "1"]
    # 1. The export, with names in Bulgarian: ultralytics reads it as it is (next step trains on the same writer's output).
    run("export", "yolo", "--domain", "sport", "--lang", "bg", *split, str(tmp_path / "yolo"))
    data = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text(encoding="utf-8"))
    assert data["names"] == {0: "тенис топка", 1: "перце"}

    # 2. A tiny fine-tune: 1 epoch at 160 px, plus the ONNX export.
    text = run("train", "--domain", "sport", "--base", str(base_weights), "--name", "shapes", "--epochs", "1",
               "--imgsz", "160", "--batch", "4", "--min-annotations", "2", "--lang", "bg", "--onnx", *split)
    assert "trained shapes (sport)" in text and "trained:shapes" in text
    from annotators.base import file_hash
    from corpus.coco.splits import split_key, split_of

    with Session(st.engine) as s:
        rec = s.scalar(select(m.TrainedModel).where(m.TrainedModel.name == "shapes"))
        rows = s.execute(select(m.TrainingAnnotation).where(m.TrainingAnnotation.model_id == rec.id)).scalars().all()
        images = {i.id: i for i in s.scalars(select(m.Image))}
        anns = {a.id: a for a in s.scalars(select(m.Annotation))}
        assert rec.base == str(base_weights) and rec.base_version == file_hash(base_weights)
        assert [(c["index"], c["synset"], c["class_id"]) for c in rec.classes] == [
            (0, "tennis_ball.n.01", st.classes["ball"]), (1, "shuttlecock.n.01", st.classes["shuttlecock"])]
        weights = st.data_dir / rec.weights
        assert weights.is_file() and weights.is_relative_to(st.data_dir / "models" / "shapes")
        assert rec.version == file_hash(weights)
        assert (st.data_dir / rec.onnx).is_file()
        assert rec.settings["epochs"] == 1 and rec.settings["imgsz"] == 160 and rec.settings["splits"] == {"train": 0.6, "val": 0.4}
        assert "metrics/mAP50-95(M)" in rec.metrics["overall"] and len(rec.metrics["epoch_seconds"]) == 1
        # Exactly the accepted annotations, each at its version, in the COCO export's split.
        assert sorted(r.annotation_id for r in rows) == sorted(st.annotations)
        for r in rows:
            assert r.version == anns[r.annotation_id].version
            assert r.split == split_of(split_key(r.image_id, images[r.image_id].sha1), [("train", 0.6), ("val", 0.4)], 1)
        val_images = {r.image_id for r in rows if r.split == "val"}
        assert 0 < len(val_images) < len(st.images)
    from ultralytics import YOLO

    assert YOLO(str(weights)).names == {0: "тенис топка", 1: "перце"}

    # 3. What the store knows of it.
    text = run("models", "list")
    assert "shapes" in text and "yolov8n-seg.pt" in text
    text = run("models", "show", "shapes")
    assert "tennis_ball.n.01" in text and "shuttlecock.n.01" in text and file_hash(base_weights) in text
    assert f"train: {2 * (len(st.images) - len(val_images))}" in text

    # 4. Proposals in the ontology's own classes, with the PyTorch weights and with the ONNX export.
    # A newly harvested image nobody has reviewed: its proposals become pending annotations to review.
    import shutil

    shutil.copyfile(st.data_dir / "img/000.jpg", st.data_dir / "img/new.jpg")
    with Session(st.engine) as s:
        src = s.scalar(select(m.Source))
        q = s.scalar(select(m.HarvestQuery))
        new = m.Image(source_id=src.id, source_image_id="File:New.jpg", sha1="f" * 40, license_code="CC0-1.0",
                      status="stored", width=160, height=120, mime="image/jpeg", local_path="img/new.jpg")
        s.add(new)
        s.flush()
        s.add(m.ImageHit(image_id=new.id, query_id=q.id))
        s.commit()
        new_id = new.id
    n_images = len(st.images) + 1
    text = run("annotate", "--domain", "sport", "--model", "trained:shapes", "--score-threshold", "0.05")
    assert f"images annotated │ {n_images} │" in text
    text = run("annotate", "--domain", "sport", "--model", "trained:shapes", "--score-threshold", "0.05")
    assert "images annotated │ 0 │" in text and f"skipped (done before) │ {n_images} │" in text
    run("annotate", "--domain", "sport", "--model", "trained-onnx:shapes", "--score-threshold", "0.05")
    run("annotate", "--domain", "sport", "--model", str(base_weights), "--score-threshold", "0.05")
    with Session(st.engine) as s:
        for name in ("trained:shapes", "trained-onnx:shapes"):
            props = s.scalars(select(m.Proposal).where(m.Proposal.model_name == name)).all()
            assert props, name
            assert {p.class_id for p in props} <= {st.classes["ball"], st.classes["shuttlecock"]}
            assert {p.detector_label for p in props} <= {"tennis_ball.n.01", "shuttlecock.n.01"}
            assert all(p.params["mapping"] == "trained" and p.mask_rle for p in props)
        # Reviewed images get proposals only: the truth stays as reviewers left it. The new image gets
        # pending annotations from the first model that ran on it, in ontology classes, logged as created.
        opened = s.scalars(select(m.Annotation).where(m.Annotation.origin == "proposal")).all()
        assert opened and {a.image_id for a in opened} == {new_id}
        assert {a.status for a in opened} == {"pending"}
        assert {a.class_id for a in opened} <= {st.classes["ball"], st.classes["shuttlecock"]}
        events = s.scalars(select(m.ReviewEvent).where(m.ReviewEvent.annotation_id.in_([a.id for a in opened]))).all()
        assert len(events) == len(opened) and {e.action for e in events} == {"create"}
        assert all(e.origin.startswith("model:trained:shapes@sha256:") for e in events)
        first_opened = opened[0].id
    run("review", "accept", str(first_opened), "--who", "tester")  # reviewed as any model's proposal
    with Session(st.engine) as s:
        assert s.get(m.Annotation, first_opened).status == "accepted"

    # 5. Both models on the images the trained one never saw.
    from corpus.coco.evaluate import evaluate
    from corpus.trained_models import held_out_images

    held = held_out_images(st.engine, "shapes")
    assert held == val_images
    results = {r.model_name: r for r in evaluate(st.engine, "sport", images=held)}
    assert {"trained:shapes", "trained-onnx:shapes"} <= set(results)
    for r in results.values():
        assert r.images == len(val_images) and r.truth == 2 * len(val_images)
    trained = results["trained:shapes"]
    assert {c.name for c in trained.per_class} == {"tennis ball", "shuttlecock"}
    assert trained.bbox["AP"] is not None
    text = run("evaluate", "--domain", "sport", "--held-out", "shapes", "--plot", str(tmp_path / "eval.png"))
    assert f"on the {len(val_images)} reviewed image(s) shapes held out" in text
    assert "trained:shapes" in text and (tmp_path / "eval.png").is_file()
    assert "box / mask AP on the images shapes held out, model by model" in text
    first = next(iter(results.values()))  # the first model column
    assert f"all classes │ {first.bbox['AP']:.3f} / {first.segm['AP']:.3f} │" in text

    # Nothing written outside the data folder and the temporary folders.
    assert list(cwd.iterdir()) == []
    assert not (st.data_dir / "models" / ".ultralytics").exists()  # YOLO_CONFIG_DIR was given
