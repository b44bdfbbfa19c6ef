"""What `corpus train` and the trained-model commands refuse, and how they say it (no training
runs here: every check comes before the first epoch)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus import Corpus
from corpus.errors import ModelError, NotFoundError, UsageError
from corpus.store import models as m
from corpus.train import TrainError

pytest.importorskip("ultralytics", reason="needs the yolo extra")
runner = CliRunner()


pytestmark = pytest.mark.usefixtures("wide_console")  # tests/conftest.py


@pytest.fixture
def corpus(train_store):
    with Corpus.open(db_url=train_store.db_url, data_dir=train_store.data_dir) as c:
        yield c


def _cli(store, *args):
    r = runner.invoke(app, ["--db", store.db_url, "--data-dir", str(store.data_dir), *args])
    return r.exit_code, " ".join(r.output.split())


def test_too_few_accepted_annotations_says_how_many(corpus, train_store, base_weights):
    from corpus.coco.splits import split_key, split_of

    with Session(train_store.engine) as s:
        sha = dict(s.execute(select(m.Image.id, m.Image.sha1)).all())
    n_train = sum(split_of(split_key(i, sha[i]), [("train", 0.6), ("val", 0.4)], 1) == "train" for i in train_store.images)
    with pytest.raises(TrainError) as info:
        corpus.train(domain="sport", base=str(base_weights), name="x", splits="train=0.6,val=0.4", seed=1,
                     min_annotations=n_train + 1)
    msg = str(info.value)
    assert f"tennis ball (tennis_ball.n.01) has {n_train}" in msg and f"shuttlecock (shuttlecock.n.01) has {n_train}" in msg
    assert f"at least {n_train + 1}" in msg and info.value.param == "min_annotations" and "--" not in msg
    # Nothing is left behind and nothing is recorded.
    assert not (train_store.data_dir / "models" / "x").exists()
    assert corpus.models() == []
    code, text = _cli(train_store, "train", "--domain", "sport", "--base", str(base_weights), "--name", "x",
                      "--split", "train=0.6,val=0.4", "--seed", "1", "--min-annotations", str(n_train + 1))
    assert code == 1 and f"has {n_train} in the train split" in text and "(--min-annotations)" in text
    assert "Traceback" not in text


def test_one_class_short_names_it_alone(corpus, train_store, base_weights):
    with Session(train_store.engine) as s:  # the shuttlecock is rejected on all but three images
        anns = s.scalars(select(m.Annotation).where(m.Annotation.class_id == train_store.classes["shuttlecock"])
                         .order_by(m.Annotation.id)).all()
        for a in anns[3:]:
            a.status = "rejected"
        s.commit()
    with pytest.raises(TrainError, match=r"shuttlecock \(shuttlecock.n.01\) has [0-3] in the train split") as info:
        corpus.train(domain="sport", base=str(base_weights), name="x", min_annotations=4)
    assert "tennis ball" not in str(info.value)


def test_base_model_that_does_not_segment(corpus, base_weights, tmp_path, monkeypatch):
    with pytest.raises(ModelError) as info:
        corpus.train(domain="sport", base="yolov8n.yaml", name="det")  # a detection network (random weights)
    assert "is a 'detect' model" in str(info.value) and info.value.param == "base"
    with pytest.raises(ModelError, match="not found"):
        corpus.train(domain="sport", base="/nowhere/best.pt", name="x")
    monkeypatch.chdir(tmp_path)  # a release name ultralytics would fetch: offline here
    with pytest.raises(ModelError, match=r"could not load base weights yolo11x-seg\.pt .*Offline\?"):
        corpus.train(domain="sport", base="yolo11x-seg.pt", name="x")


def test_not_a_checkpoint(corpus, tmp_path):
    bad = tmp_path / "bad-seg.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="is not a YOLO model"):
        corpus.train(domain="sport", base=str(bad), name="x")


def test_classes_of_another_domain(corpus, train_store, base_weights):
    with pytest.raises(NotFoundError) as info:
        corpus.train(domain="sport", base=str(base_weights), name="x", classes=["tennis ball", "cello.n.01"])
    assert "belongs to domain 'music', not 'sport'" in str(info.value) and info.value.param == "classes"
    code, text = _cli(train_store, "train", "--domain", "sport", "--base", str(base_weights), "--class", "cello")
    assert code == 1 and "belongs to domain 'music'" in text and "(--class)" in text
    # A trained model of the music domain is no base for sport, and proposes no sport classes.
    with Session(train_store.engine) as s:
        music = s.scalar(select(m.Domain).where(m.Domain.name == "music"))
        s.add(m.TrainedModel(name="cellos", domain_id=music.id, base="x.pt", base_version="sha256:0", version="sha256:1",
                             weights="models/cellos/run/weights/best.pt", lang="en",
                             classes=[{"index": 0, "synset": "cello.n.01", "class_id": train_store.classes["cello"]}],
                             settings={}, metrics={}, dataset={}, seconds=0.0))
        s.commit()
    with pytest.raises(TrainError, match="proposes classes of domain 'music', not 'sport'"):
        corpus.train(domain="sport", base="trained:cellos", name="x")
    with pytest.raises(UsageError, match="proposes classes of domain 'music', not 'sport'"):
        corpus.annotate(domain="sport", model="trained:cellos")
    code, text = _cli(train_store, "annotate", "--domain", "sport", "--model", "trained:cellos")
    assert code == 1 and "proposes classes of domain 'music'" in text
    code, text = _cli(train_store, "annotate", "--domain", "sport", "--model", "trained-onnx:cellos")
    assert code == 1 and "music" in text


def test_names_unknown_models_and_options(corpus, train_store, base_weights):
    with pytest.raises(TrainError, match="model name 'a b'") as info:
        corpus.train(domain="sport", base=str(base_weights), name="a b")
    assert info.value.param == "name"
    with pytest.raises(TrainError, match="val split has no image"):
        corpus.train(domain="sport", base=str(base_weights), name="x", splits="train=0.99,val=0.01", min_annotations=1)
    with pytest.raises(NotFoundError, match="no trained model named 'nope'"):
        corpus.model(name="nope")
    with pytest.raises(NotFoundError, match="no trained model named 'nope'"):
        corpus.annotate(domain="sport", model="trained:nope")
    with pytest.raises(NotFoundError) as info:
        corpus.evaluate(domain="sport", held_out="nope")
    assert info.value.param == "held_out"
    code, text = _cli(train_store, "models", "show", "nope")
    assert code == 1 and "no trained model named 'nope'; the store has: none yet" in text
    code, text = _cli(train_store, "models", "list")
    assert code == 0 and "no trained models yet" in text
    code, text = _cli(train_store, "evaluate", "--held-out", "nope")
    assert code == 1 and "no trained model named 'nope'" in text
    from annotators.base import AnnotatorError
    from annotators.registry import load_annotator

    with pytest.raises(AnnotatorError, match="live in the store"):
        load_annotator("trained:x")
    with Session(train_store.engine) as s:
        assert s.scalar(select(func.count()).select_from(m.TrainedModel)) == 0


def test_missing_yolo_extra_blocked_import_is_a_clear_error(train_store, tmp_path):
    # ultralytics is installed here; setting sys.modules["ultralytics"] = None makes Python refuse the
    # import exactly as on a machine without the extra.
    code = (
        "import sys; sys.modules['ultralytics'] = None\n"
        "from cli import app\n"
        f"app(['--db', {train_store.db_url!r}, '--data-dir', {str(train_store.data_dir)!r}, 'train', '--domain', 'sport'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path),
                       env={**__import__("os").environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[2])})
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 1, out
    assert "training needs the `yolo` extra: pip install 'mic-corpus[yolo]'" in out and "Traceback" not in out


def test_ultralytics_settings_live_under_the_data_folder(tmp_path):
    # Without YOLO_CONFIG_DIR, training keeps ultralytics' settings in DATA/models/.ultralytics with its
    # integrations and analytics off (a fresh process: ultralytics reads the variable once, on import).
    import json
    import os
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "YOLO_CONFIG_DIR"}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    env["HOME"] = str(tmp_path / "home")  # where ultralytics would otherwise write (~/.config/Ultralytics)
    code = ("from pathlib import Path\nfrom corpus.train import import_ultralytics\n"
            f"import_ultralytics(Path({str(tmp_path / 'data')!r}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr
    settings = tmp_path / "data" / "models" / ".ultralytics" / "Ultralytics" / "settings.json"
    doc = json.loads(settings.read_text())
    assert doc["sync"] is False and doc["mlflow"] is False and doc["raytune"] is False and doc["comet"] is False
    assert not (tmp_path / "home").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_models_show_json_and_annotations(train_store):
    import json

    with Session(train_store.engine) as s:
        sport = s.scalar(select(m.Domain).where(m.Domain.name == "sport"))
        rec = m.TrainedModel(name="rec", domain_id=sport.id, base="base-seg.pt", base_version="sha256:aa", version="sha256:bb",
                             weights="models/rec/run/weights/best.pt", lang="bg",
                             classes=[{"index": 0, "synset": "tennis_ball.n.01", "class_id": train_store.classes["ball"],
                                       "category_id": 3, "name": "тенис топка"}],
                             settings={"epochs": 7}, metrics={"overall": {"metrics/mAP50-95(B)": 0.5}},
                             dataset={"per_class": {"tennis_ball.n.01": {"train": 2, "val": 1}}}, seconds=3.0)
        s.add(rec)
        s.flush()
        a1, a2, a3 = train_store.annotations[0], train_store.annotations[2], train_store.annotations[4]
        s.add_all([m.TrainingAnnotation(model_id=rec.id, annotation_id=a, version=1, image_id=i, split=sp)
                   for a, i, sp in ((a1, train_store.images[0], "train"), (a2, train_store.images[1], "train"),
                                    (a3, train_store.images[2], "val"))])
        s.commit()
    code, text = _cli(train_store, "models", "list")
    assert code == 0 and "rec" in text and "base-seg.pt" in text and "0.500" in text
    r = runner.invoke(app, ["--db", train_store.db_url, "--data-dir", str(train_store.data_dir), "models", "show", "rec",
                            "--json"])
    doc = json.loads(r.output)
    assert doc["base_version"] == "sha256:aa" and doc["classes"][0]["name"] == "тенис топка"
    assert [(a["id"], a["split"]) for a in doc["annotations"]] == [(a1, "train"), (a2, "train"), (a3, "val")]
    code, text = _cli(train_store, "models", "show", "rec", "--annotations")
    assert code == 0 and "annotations trained on" in text and "train: 2, val: 1" in text and "тенис топка" in text
    from corpus.trained_models import held_out_images

    assert held_out_images(train_store.engine, "rec") == {train_store.images[2]}
