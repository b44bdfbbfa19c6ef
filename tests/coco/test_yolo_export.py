"""`corpus export yolo`: the Ultralytics dataset layout, on the real COCO test store."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from corpus.coco.export import CocoExportOptions, export_coco
from corpus.coco.yolo import ClassError, YoloExportOptions, export_yolo, label_line, one_polygon
from corpus.store import models as m
from tests.coco.builder import H, W

runner = CliRunner()
ALL = ("pending", "accepted", "edited", "rejected")


def _labels(out, split):
    return {p.stem: p.read_text(encoding="utf-8").splitlines() for p in sorted((out / "labels" / split).glob("*.txt"))}


def test_label_lines_are_class_index_and_normalised_polygon(store, tmp_path):
    out = tmp_path / "y"
    s = export_yolo(store.engine, out, store.data_dir, YoloExportOptions(statuses=ALL, splits=[("train", 0.5), ("val", 0.5)]))
    # Classes with instances, contiguous indexes in category id order: player (2), ball (3), racket (fallback id).
    assert [(c.index, c.synset, c.category_id) for c in s.classes][:2] == [(0, "tennis_player.n.01", 2), (1, "tennis_ball.n.01", 3)]
    assert s.classes[2].synset == "tennis_racket.n.01" and s.classes[2].category_id >= 100_000
    lines = {k: v for split in ("train", "val") for k, v in _labels(out, split).items()}
    first = f"{store.images[0]}-00abababab"  # file stem: <image id>-<sha1[:10]>
    player, ball, racket = lines[first]
    # The player's polygon [5,5, 35,5, 35,45, 5,45] divided by 80 x 60.
    assert player == "0 " + " ".join(f"{v:.6f}" for v in (5 / W, 5 / H, 35 / W, 5 / H, 35 / W, 45 / H, 5 / W, 45 / H))
    # The ball is an RLE square (50, 10, 10, 10): traced into a polygon that stays inside its box.
    vals = [float(v) for v in ball.split()]
    assert vals[0] == 1 and len(vals[1:]) >= 8 and len(vals[1:]) % 2 == 0
    xs, ys = np.array(vals[1::2]) * W, np.array(vals[2::2]) * H
    assert 49 <= xs.min() and xs.max() <= 60 and 9 <= ys.min() and ys.max() <= 20
    # The racket has no mask: its box (40, 30, 20, 15) as four corners.
    assert racket == "2 " + " ".join(f"{v:.6f}" for v in (40 / W, 30 / H, 60 / W, 30 / H, 60 / W, 45 / H, 40 / W, 45 / H))
    assert s.box_only == sum(1 for v in lines.values() for line in v if line.startswith("2 "))
    for v in lines.values():
        for line in v:
            coords = [float(x) for x in line.split()[1:]]
            assert all(0.0 <= c <= 1.0 for c in coords)


def test_label_line_clips_and_parts_join_into_one_polygon():
    assert label_line(3, [-4, 0, 100, 0, 100, 60], 80, 60) == "3 0.000000 0.000000 1.000000 0.000000 1.000000 1.000000"
    a = [0, 0, 4, 0, 4, 4, 0, 4]
    b = [10, 0, 14, 0, 14, 4, 10, 4]
    joined = one_polygon([a, b])
    pts = {tuple(p) for p in np.asarray(joined).reshape(-1, 2).tolist()}
    assert pts == {tuple(p) for p in np.asarray(a + b, dtype=float).reshape(-1, 2).tolist()}
    # The bridge runs between the nearest vertices, (4, y) -> (10, y), there and back.
    from corpus import masks

    assert masks.area([joined], 10, 20) == masks.area([a], 10, 20) + masks.area([b], 10, 20)
    assert one_polygon([a]) == [float(v) for v in a]


def test_splits_equal_the_coco_exports(store, tmp_path):
    splits = [("train", 0.5), ("val", 0.3), ("test", 0.2)]
    coco = export_coco(store.engine, tmp_path / "c", store.data_dir,
                       CocoExportOptions(statuses=ALL, splits=splits, seed=7, files="none"))
    yolo = export_yolo(store.engine, tmp_path / "y", store.data_dir,
                       YoloExportOptions(statuses=ALL, splits=splits, seed=7, files="copy"))
    for split, _ in splits:
        doc = json.loads(coco.files[split].read_text(encoding="utf-8"))
        coco_names = sorted(i["file_name"] for i in doc["images"])
        yolo_names = sorted(p.name for p in (tmp_path / "y" / "images" / split).iterdir())
        assert yolo_names == coco_names, split
        assert sorted(p.stem for p in (tmp_path / "y" / "labels" / split).iterdir()) == [n.rsplit(".", 1)[0] for n in coco_names]
        assert yolo.instances[split] == len(doc["annotations"])
    assert sum(yolo.images.values()) == 5  # the sixth image is CC BY-NC: left out by the default policy


def test_data_yaml_names_in_chosen_language_and_ontology_ids(store, tmp_path):
    out = tmp_path / "y"
    s = export_yolo(store.engine, out, store.data_dir, YoloExportOptions(statuses=ALL, lang="bg"))
    data = yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))
    assert data["train"] == "images/train" and data["val"] == "images/val" and data["test"] == "images/test"
    assert "path" not in data  # ultralytics resolves the folder of data.yaml: the export can move
    assert data["nc"] == 3
    assert data["names"] == {0: "тенисист", 1: "тенис топка", 2: "tennis racket"}
    assert s.untranslated == ["tennis_racket.n.01"]
    meta = data["mic_corpus"]
    assert meta["domain"] == "sport" and meta["lang"] == "bg" and meta["seed"] == 0
    assert [c["synset"] for c in meta["classes"]] == ["tennis_player.n.01", "tennis_ball.n.01", "tennis_racket.n.01"]
    assert [c["class_id"] for c in meta["classes"]] == [store.classes["player"], store.classes["ball"], store.classes["racket"]]


def test_ultralytics_reads_the_export(store, tmp_path):
    pytest.importorskip("ultralytics", reason="needs the yolo extra")
    from ultralytics.data.utils import check_det_dataset, verify_image_label

    out = tmp_path / "y"
    export_yolo(store.engine, out, store.data_dir, YoloExportOptions(statuses=ALL, splits=[("train", 0.5), ("val", 0.5)]))
    data = check_det_dataset(str(out / "data.yaml"))
    assert data["nc"] == 3 and data["names"][0] == "tennis player"
    assert data["train"] == str(out / "images" / "train")
    for img in (out / "images" / "train").iterdir():
        label = out / "labels" / "train" / (img.stem + ".txt")
        res = verify_image_label((str(img), str(label), "", False, 3, 0, 0, False))
        # (im_file, lb, shape, segments, keypoint, nm, nf, ne, nc, msg): nf=1 found, nc=0 corrupt
        assert res[6] == 1 and res[8] == 0, res[-1]
        assert len(res[3]) == len(label.read_text().splitlines())


def test_license_file_and_policy(store, tmp_path):
    out = tmp_path / "y"
    s = export_yolo(store.engine, out, store.data_dir, YoloExportOptions(statuses=ALL))
    assert s.skipped_license == {"license:non-commercial": 1}
    entries = json.loads((out / "licenses.json").read_text(encoding="utf-8"))
    assert len(entries) == 5 and all((out / e["file"]).is_file() for e in entries)
    e0 = next(e for e in entries if e["image_id"] == store.images[0])
    assert e0["code"] == "CC-BY-SA-4.0" and e0["author"] == "Автор 0" and e0["attribution"] == '"T0" by Автор 0, CC-BY-SA-4.0'
    md = (out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert md.count("\n| images/") == 5 and "Автор 3" in md and "CC BY-SA 4.0" in md
    assert f"{store.images[-1]}-" not in md
    # research admits the NC image: six images, and its attribution appears.
    out2 = tmp_path / "y2"
    s2 = export_yolo(store.engine, out2, store.data_dir, YoloExportOptions(statuses=ALL, license_policy="research"))
    assert sum(s2.images.values()) == 6 and not s2.skipped_license
    assert "Автор 5" in (out2 / "ATTRIBUTION.md").read_text(encoding="utf-8")
    # public-domain keeps only the CC0 images (1 and 4).
    s3 = export_yolo(store.engine, tmp_path / "y3", store.data_dir, YoloExportOptions(statuses=ALL, license_policy="public-domain"))
    assert sum(s3.images.values()) == 2


def test_statuses_and_classes_select_lines(store, tmp_path):
    s = export_yolo(store.engine, tmp_path / "y", store.data_dir, YoloExportOptions(record=True))
    assert 0 < sum(s.instances.values()) < len(store.anns)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(store.engine) as ses:
        rows = {a.id: (a.version, a.status) for a in ses.scalars(select(m.Annotation))}
    assert {rows[a][1] for a, *_ in s.trained_on} <= {"accepted", "edited"}
    assert all(rows[a][0] == v for a, v, _, _ in s.trained_on)
    assert len(s.trained_on) == sum(s.instances.values())
    only = export_yolo(store.engine, tmp_path / "b", store.data_dir,
                       YoloExportOptions(statuses=ALL, classes=["tennis ball"]))
    assert [c.synset for c in only.classes] == ["tennis_ball.n.01"]
    for split in ("train", "val", "test"):
        for lines in _labels(tmp_path / "b", split).values():
            assert all(line.startswith("0 ") for line in lines)


def test_errors(store, tmp_path):
    from sqlalchemy.orm import Session

    with Session(store.engine) as ses:
        other = m.Domain(name="music")
        ses.add(other)
        ses.flush()
        ses.add(m.OntologyClass(domain_id=other.id, synset="cello.n.01", kind="dominant", name="cello"))
        ses.commit()
    with pytest.raises(ClassError, match="'cello.n.01'.*belongs to domain 'music', not 'sport'"):
        export_yolo(store.engine, tmp_path / "a", store.data_dir, YoloExportOptions(domain="sport", classes=["cello.n.01"]))
    with pytest.raises(ClassError, match="'kite' is not in domain 'sport'"):
        export_yolo(store.engine, tmp_path / "a", store.data_dir, YoloExportOptions(domain="sport", classes=["kite"]))
    with pytest.raises(ValueError, match="needs a train and a val split"):
        export_yolo(store.engine, tmp_path / "a", store.data_dir, YoloExportOptions(domain="sport", splits=[("train", 1.0)]))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not an empty folder"):
        export_yolo(store.engine, tmp_path / "full", store.data_dir, YoloExportOptions(domain="sport"))
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="domain music has no annotations with status rejected"):
        export_yolo(store.engine, tmp_path / "r", store.data_dir, YoloExportOptions(domain="music", statuses=("rejected",)))


def test_cli(store, tmp_path):
    out = tmp_path / "y"
    args = ["--db", store.db_url, "--data-dir", str(store.data_dir), "export", "yolo", "--domain", "sport",
            "--status", "all", "--lang", "el", "--split", "train=0.5,val=0.5", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "3 classes named in 'el'" in " ".join(r.output.split())
    assert yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))["names"][0] == "τενίστας"
    r = runner.invoke(app, args)  # the folder is no longer empty
    assert r.exit_code == 1 and "not an empty folder" in " ".join(r.output.split()) and "Traceback" not in r.output
    r = runner.invoke(app, [*args[:-3], "--split", "train=1", str(tmp_path / "z")])
    assert r.exit_code == 1 and "needs a train and a val split" in " ".join(r.output.split())


def test_python_api_export_yolo_with_progress_and_typed_errors(store, tmp_path):
    from corpus import Corpus
    from corpus.errors import NotFoundError, UsageError

    events = []
    with Corpus.open(db_url=store.db_url, data_dir=store.data_dir) as c:
        s = c.export_yolo(out_dir=tmp_path / "y", domain="sport", statuses="all", splits={"train": 0.5, "val": 0.5},
                          lang="bg", classes="tennis_player.n.01,tennis ball", files="symlink", progress=events.append)
        assert [k.synset for k in s.classes] == ["tennis_player.n.01", "tennis_ball.n.01"]
        assert all(p.is_symlink() for p in (tmp_path / "y" / "images" / "train").iterdir())
        last = events[-1]
        assert last.stage == "annotations" and last.done == last.total == 12  # 6 images x (player, ball)
        with pytest.raises(NotFoundError) as info:
            c.export_yolo(out_dir=tmp_path / "z", domain="sport", classes="kite")
        assert info.value.param == "classes" and "--" not in str(info.value)
        with pytest.raises(UsageError) as info:
            c.export_yolo(out_dir=tmp_path / "z", domain="sport", splits="train=0.5,test=0.5")
        assert info.value.param == "splits" and "--" not in str(info.value)
        with pytest.raises(UsageError) as info:
            c.export_yolo(out_dir=tmp_path / "y", domain="sport")
        assert info.value.param == "out_dir"


def test_an_unknown_language_is_reported_before_anything_else(store, tmp_path):
    """--lang is checked first: not 'no annotations' for a domain with nothing to export, and not a
    silent English export (every class 'untranslated') for one that has."""
    from sqlalchemy.orm import Session

    from corpus import Corpus
    from corpus.errors import NotFoundError

    with Session(store.engine) as ses:  # a domain with nothing accepted
        ses.add(m.Domain(name="music"))
        ses.commit()
    base = ["--db", store.db_url, "--data-dir", str(store.data_dir), "export", "yolo"]
    r = runner.invoke(app, [*base, "--domain", "music", "--lang", "xx", str(tmp_path / "a")],
                      terminal_width=200)
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "unknown language 'xx'" in text and "(--lang)" in text, text
    assert "no annotations" not in text and "Traceback" not in text
    r = runner.invoke(app, [*base, "--domain", "sport", "--status", "all", "--lang", "greek", str(tmp_path / "b")],
                      terminal_width=200)
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "unknown language 'greek': did you mean el (Greek)?" in text, text
    assert not (tmp_path / "b").exists()
    with Corpus.open(db_url=store.db_url, data_dir=store.data_dir) as c:
        with pytest.raises(NotFoundError) as info:
            c.export_yolo(out_dir=tmp_path / "c", domain="sport", statuses="all", lang="xx")
        assert info.value.param == "lang" and "--" not in str(info.value)
        s = c.export_yolo(out_dir=tmp_path / "d", domain="sport", statuses="all", lang=" BG ")
        assert s.lang == "bg" and s.untranslated == ["tennis_racket.n.01"]  # " BG " is bg: two classes named
    # The stage function itself refuses it too (a script calling it directly), before any output.
    from corpus.coco.yolo import YoloExportOptions, export_yolo

    with pytest.raises(NotFoundError, match="unknown language 'xx'"):
        export_yolo(store.engine, tmp_path / "e", store.data_dir, YoloExportOptions(domain="sport", lang="xx"))
    assert not (tmp_path / "e").exists()
