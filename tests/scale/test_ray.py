"""Annotation on a real local Ray cluster (started once for this module) against the local engine."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from annotators.onnx_yolo import OnnxYoloSeg
from corpus.annotate import AnnotateOptions, annotate_domain
from corpus.store import models as m
from corpus.store.db import make_engine, session_scope
from tests.scale.support import DiesOnce, photo_store, proposals

ray = pytest.importorskip("ray", reason="the ray extra")
pytestmark = pytest.mark.slow

from corpus.annotate_ray import RayOptions, annotate_domain_ray  # noqa: E402

N = 4  # photos in the store: two batches of two


@pytest.fixture(scope="module")
def ray_cluster(repo_root):
    # Logical CPUs: two 1-CPU model actors plus room for Ray's own tasks on this 2-core machine.
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(repo_root)}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def two_stores(tmp_path, db_url, shared_dir):
    """The same store twice (SQLite files), sharing one data folder."""
    data = tmp_path / "data"
    eng = make_engine(db_url)
    ids = photo_store(eng, data, shared_dir, n=N)
    eng.dispose()
    other = tmp_path / "other.db"
    shutil.copyfile(db_url.removeprefix("sqlite:///"), other)
    a, b = make_engine(db_url), make_engine(f"sqlite:///{other}")
    yield a, b, data, ids
    a.dispose()
    b.dispose()


def test_ray_matches_local_and_rerun_skips(ray_cluster, two_stores, yolo_onnx):
    local_eng, ray_eng, data, ids = two_stores
    opts = AnnotateOptions(batch_size=2)
    local = annotate_domain(local_eng, OnnxYoloSeg(yolo_onnx, score_threshold=0.4), "sport", data, opts)
    seen = []
    factory = functools.partial(OnnxYoloSeg, yolo_onnx, score_threshold=0.4)
    got = annotate_domain_ray(ray_eng, factory, "sport", data, opts, RayOptions(workers=2),
                              progress=lambda d, t: seen.append((d, t)))
    assert got.annotated == local.annotated == N and got.failed == []
    assert seen[0] == (0, N) and seen[-1] == (N, N) and len(seen) == 1 + N // 2  # one step per stored batch
    assert got.proposals == local.proposals > 8 and got.per_class == local.per_class
    assert got.annotations == local.annotations and got.model_version == local.model_version
    assert proposals(ray_eng) == proposals(local_eng)
    with session_scope(ray_eng) as s:
        assert s.scalar(select(func.count()).select_from(m.AnnotatedImage)) == N
        assert s.scalar(select(func.count()).select_from(m.ReviewEvent)) == got.annotations

    again = annotate_domain_ray(ray_eng, factory, "sport", data, opts, RayOptions(workers=1))
    assert again.to_do == 0 and again.already_done == N and again.annotated == 0
    assert proposals(ray_eng) == proposals(local_eng)


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(ray_cluster, two_stores, yolo_onnx, tmp_path):
    local_eng, ray_eng, data, ids = two_stores
    opts = AnnotateOptions(batch_size=1)
    annotate_domain(local_eng, OnnxYoloSeg(yolo_onnx, score_threshold=0.4), "sport", data, opts)
    marker = tmp_path / "died.pid"
    factory = functools.partial(DiesOnce, yolo_onnx, str(marker), score_threshold=0.4)
    got = annotate_domain_ray(ray_eng, factory, "sport", data, opts, RayOptions(workers=2))
    assert marker.is_file()  # a worker process really died with a batch in hand
    assert got.workers_lost == 1 and got.batches_retried >= 1
    assert got.annotated == N and got.failed == []
    assert proposals(ray_eng) == proposals(local_eng)  # nothing lost, nothing twice
    with session_scope(ray_eng) as s:
        per_image = s.execute(select(m.AnnotatedImage.image_id, func.count()).group_by(m.AnnotatedImage.image_id)).all()
    assert sorted(per_image) == sorted((i, 1) for i in ids.values())


def test_cli_engine_ray_joins_a_cluster(ray_cluster, two_stores, yolo_onnx, repo_root):
    _, ray_eng, data, _ = two_stores
    url = str(ray_eng.url)
    env = {**os.environ, "PYTHONPATH": str(repo_root), "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "cli", "--db", url, "--data-dir", str(data), "annotate", "--domain", "sport",
                        "--model", f"onnx:{yolo_onnx}", "--score-threshold", "0.4", "--engine", "ray",
                        "--address", ray_cluster, "--workers", "2", "--batch-size", "2"],
                       capture_output=True, text=True, env=env, cwd=repo_root, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "images annotated" in r.stdout and f"{N}/{N}" in r.stdout, r.stdout
    with session_scope(ray_eng) as s:
        assert s.scalar(select(func.count()).select_from(m.AnnotatedImage)) == N
    # A wrong option is a clear error before any cluster is touched.
    r = subprocess.run([sys.executable, "-m", "cli", "--db", url, "annotate", "--domain", "sport", "--model",
                        f"onnx:{yolo_onnx}", "--engine", "spark"], capture_output=True, text=True, env=env, cwd=repo_root)
    assert r.returncode != 0 and "--engine" in r.stdout + r.stderr and "Traceback" not in r.stderr


def _register_trained(engine, data, model_file, name="mine") -> None:
    """The real yolov5s-seg ONNX model recorded as a model trained for the domain (as `corpus
    train --onnx` records one): class 0 (COCO's person) is the domain's tennis player, the other
    79 are classes the domain does not have."""
    from annotators.base import COCO80, file_hash

    (data / "models" / name).mkdir(parents=True)
    (data / "models" / name / "best.onnx").symlink_to(model_file)
    classes = [{"index": i, "synset": "tennis_player.n.01" if i == 0 else f"coco:{label}", "name": label}
               for i, label in enumerate(COCO80)]
    with session_scope(engine) as s:
        dom = s.scalar(select(m.Domain).where(m.Domain.name == "sport"))
        s.add(m.TrainedModel(name=name, domain_id=dom.id, base="yolov5s-seg.onnx", base_version=file_hash(model_file),
                             version=file_hash(model_file), weights=f"models/{name}/best.pt",
                             onnx=f"models/{name}/best.onnx", classes=classes, settings={"imgsz": 640}))


def test_a_trained_model_runs_on_ray_as_locally(ray_cluster, two_stores, yolo_onnx):
    from corpus import Corpus

    local_eng, ray_eng, data, _ = two_stores
    _register_trained(local_eng, data, yolo_onnx)
    with session_scope(local_eng) as s:  # the same record in the second store
        rec = s.scalar(select(m.TrainedModel))
        row = {c.name: getattr(rec, c.name) for c in m.TrainedModel.__table__.columns if c.name not in ("id", "created_at")}
    with session_scope(ray_eng) as s:
        s.add(m.TrainedModel(**row))
    runs = {}
    for key, eng, kw in (("local", local_eng, {}), ("ray", ray_eng, {"engine": "ray", "address": ray_cluster})):
        with Corpus.open(db_url=str(eng.url), data_dir=data) as c:
            runs[key] = c.annotate(domain="sport", model="trained-onnx:mine", score_threshold=0.4, batch_size=2, **kw)
    local, got = runs["local"], runs["ray"]
    assert got.model_name == local.model_name == "trained-onnx:mine" and got.annotated == local.annotated == N
    # The trained model names the class itself: people are tennis players, the rest unclassified.
    assert got.per_rule == local.per_rule and got.per_rule["trained"] >= N
    assert got.per_class == local.per_class and got.per_class["tennis player"] >= N
    assert proposals(ray_eng) == proposals(local_eng)
