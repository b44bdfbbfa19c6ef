"""Images in object storage: a harvest writes into a real S3-compatible server (moto_server in a
subprocess), then annotate, preview and both COCO exports read them back from it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from corpus.harvest.run import HarvestOptions, harvest
from corpus.storage import FsspecStorage, LocalStorage, StorageError, as_data_dir, display, open_storage
from corpus.store import models as m
from corpus.store.db import session_scope
from tests.harvest.support import FakeApi, Item, LocalSource, make_jpeg, seed_domain, serve_image, settings_for
from tests.scale.conftest import SECRET


def _harvest(engine, db_url, url, base):
    settings = settings_for(url, db_url, names=("alpha",))
    return harvest(engine, settings, {"alpha": LocalSource("alpha", base)},
                   HarvestOptions("sport", languages=("en",), per_class=100, per_page=3, commit_every=2))


@pytest.fixture
def originals(shared_dir):
    """What the image API serves: two real photos and three synthetic ones."""
    out = {"bus": (shared_dir / "images" / "bus.jpg").read_bytes(),
           "zidane": (shared_dir / "images" / "zidane.jpg").read_bytes()}
    for i in range(3):
        out[f"syn{i}"] = make_jpeg(700 + i)
    return out


@pytest.fixture
def served(httpserver, originals):
    api = FakeApi()
    for key, data in originals.items():
        serve_image(httpserver, f"/files/{key}.jpg", data)
    api.add("alpha", "tennis player", [Item(key, f"/files/{key}.jpg") for key in originals])
    api.install(httpserver, "alpha")
    return httpserver.url_for("/").rstrip("/")


@pytest.mark.slow
def test_harvest_annotate_preview_export_with_images_in_s3(bucket, engine, db_url, tmp_path, served, originals,
                                                           yolo_onnx, monkeypatch):
    from annotators.base import load_rgb
    from annotators.onnx_yolo import OnnxYoloSeg
    from corpus.annotate import AnnotateOptions, annotate_domain
    from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
    from corpus.coco.export import CocoExportOptions, export_coco
    from corpus.preview import write_previews

    fs, name = bucket
    monkeypatch.chdir(tmp_path)  # a URL mistaken for a path would show up here as ./s3:/...
    seed_domain(engine)
    url = f"s3://{name}/corpus"

    # Harvest: every stored row's file is an object of the same sha1; nothing lands on the disk.
    report = _harvest(engine, db_url, url, served)
    assert report.status == "done" and report.kept == 5, report.as_dict()
    with session_scope(engine) as s:
        rows = {r.source_image_id: r for r in s.scalars(select(m.Image).where(m.Image.status == "stored"))}
    assert set(rows) == set(originals)
    keys = sorted(k.removeprefix(f"{name}/corpus/") for k in fs.find(f"{name}/corpus"))
    assert keys == sorted(r.local_path for r in rows.values())
    for sid, r in rows.items():
        blob = fs.cat_file(f"{name}/corpus/{r.local_path}")
        assert hashlib.sha1(blob).hexdigest() == r.sha1 and len(blob) == r.bytes
    assert hashlib.sha1(originals["bus"]).hexdigest() == rows["bus"].sha1  # stored as served
    assert not [p.name for p in tmp_path.iterdir() if not p.name.startswith("corpus.db")]  # no ./s3:, no data/

    # A rerun finds everything stored: no new rows, no new objects.
    again = _harvest(engine, db_url, url, served)
    assert again.status == "done" and again.kept == 0
    assert sorted(fs.find(f"{name}/corpus")) == sorted(f"{name}/corpus/{k}" for k in keys)

    # Annotate reading from the bucket: the proposals are the model's on the original bytes.
    # A person class, as the real ontologies have: people with no racket near them (all of
    # them in these photos) are annotated as persons, not as tennis players (person refinement).
    with session_scope(engine) as s:
        dom_id = s.scalar(select(m.Domain.id).where(m.Domain.name == "sport"))
        s.add(m.OntologyClass(domain_id=dom_id, synset="person.n.01", kind="parent", name="person"))
    model = OnnxYoloSeg(yolo_onnx, score_threshold=0.4)
    summary = annotate_domain(engine, model, "sport", url, AnnotateOptions(batch_size=2))
    assert summary.failed == [] and summary.annotated == 5
    expected = model.annotate([load_rgb(originals["bus"])])[0]
    with session_scope(engine) as s:
        props = list(s.scalars(select(m.Proposal).where(m.Proposal.image_id == rows["bus"].id).order_by(m.Proposal.id)))
        n_ann = s.scalar(select(func.count()).select_from(m.Annotation))
    assert len(props) == len(expected) >= 4
    assert sorted((p.detector_label, round(p.score, 5), round(p.bbox_x, 2)) for p in props) == \
        sorted((i.label, round(i.score, 5), round(i.box_xywh[0], 2)) for i in expected)
    assert n_ann == summary.annotations > 0

    # Preview reads the same objects.
    prev = write_previews(engine, "sport", tmp_path / "preview", url)
    assert prev.missing == [] and prev.images >= 2
    assert (tmp_path / "preview" / "images" / f"{rows['bus'].id}.png").is_file()

    # COCO export of the pending annotations: files copied out of the bucket, byte for byte.
    out = tmp_path / "coco"
    coco = export_coco(engine, out, url, CocoExportOptions(statuses=("pending",)))
    assert coco.missing_files == 0 and sum(coco.images.values()) >= 2
    doc = json.loads((out / "annotations" / "instances.json").read_text())
    by_sha1 = {r.sha1: sid for sid, r in rows.items()}
    for img in doc["images"]:
        data = (out / "images" / img["file_name"]).read_bytes()
        assert data == originals[by_sha1[img["sha1"]]]
    # A re-export into the same folder keeps what is there (same sizes) and stays complete.
    again = export_coco(engine, out, url, CocoExportOptions(statuses=("pending",)))
    assert again.missing_files == 0 and again.images == coco.images

    # COCO Annotator export: the same files for the review tool.
    ca = tmp_path / "ca"
    cas = export_coco_annotator(engine, ca, url, AnnotatorExportOptions(statuses=("pending",)))
    names = sorted(p.name for p in (ca / "images").iterdir())
    assert len(names) == len(doc["images"]) and names == sorted(i["file_name"] for i in doc["images"])
    assert cas is not None


def test_cli_reads_s3_and_never_prints_the_secret(bucket, engine, db_url, tmp_path, served, repo_root):
    """The CLI takes the URL as --data-dir (a Path would fold s3:// to s3:/), and neither its
    output nor an error shows credentials."""
    fs, name = bucket
    seed_domain(engine)
    url = f"s3://{name}/corpus"
    assert _harvest(engine, db_url, url, served).kept == 5
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    out = tmp_path / "preview"
    r = subprocess.run([sys.executable, "-m", "cli", "--db", db_url, "--data-dir", url, "export", "coco",
                        "--domain", "sport", "--status", "pending", str(tmp_path / "coco")],
                       capture_output=True, text=True, env=env, cwd=repo_root)
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    # An unknown protocol is a clear error, not a traceback.
    r = subprocess.run([sys.executable, "-m", "cli", "--db", db_url, "--data-dir", "nosuchfs://x/y", "preview",
                        "--domain", "sport", str(out)], capture_output=True, text=True, env=env, cwd=repo_root)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "nosuchfs" in r.stdout + r.stderr


def test_object_writes_are_atomic_and_idempotent(bucket):
    fs, name = bucket
    st = open_storage(f"s3://{name}/d")
    assert isinstance(st, FsspecStorage) and st.object_store and not st.is_local
    st.write_atomic("images/ab/cd/x.jpg", b"abc")
    assert st.read_bytes("images/ab/cd/x.jpg") == b"abc" and st.size("images/ab/cd/x.jpg") == 3
    mtime = fs.info(f"{name}/d/images/ab/cd/x.jpg")["LastModified"]
    st.write_atomic("images/ab/cd/x.jpg", b"abc")  # same name, same bytes: no second PUT
    assert fs.info(f"{name}/d/images/ab/cd/x.jpg", refresh=True)["LastModified"] == mtime
    assert list(st.walk("images")) == ["images/ab/cd/x.jpg"]
    assert st.remove("images/ab/cd/x.jpg") and not st.exists("images/ab/cd/x.jpg")
    assert not st.remove("images/ab/cd/x.jpg")
    with pytest.raises(StorageError):
        st.read_bytes("../other/secret.jpg")


def test_data_dir_values(tmp_path):
    assert as_data_dir("s3://b/p/") == "s3://b/p" and isinstance(as_data_dir("data"), Path)
    assert as_data_dir(f"file://{tmp_path}") == tmp_path
    assert display("s3://key:pw@bucket/p") == "s3://bucket/p"
    assert isinstance(open_storage(tmp_path), LocalStorage)
    local = open_storage(tmp_path)
    local.write_atomic("images/a/b.jpg", b"x")
    assert (tmp_path / "images" / "a" / "b.jpg").read_bytes() == b"x"
    assert not [p for p in (tmp_path / "images" / "a").iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(StorageError):
        local.path("../escape")
    with pytest.raises(StorageError, match="nosuchfs"):
        open_storage("nosuchfs://x/y")
