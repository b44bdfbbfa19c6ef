"""A small reviewed store to train on: synthetic photos of two classes COCO does not know as such
(a tennis ball drawn as a yellow disc, a shuttlecock as a white triangle), every instance accepted;
ultralytics kept offline with its settings in a temporary folder (tests/conftest.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from corpus.store import models as m
from corpus.store.db import session_scope

W, H = 160, 120


@dataclass
class TrainStore:
    db_url: str
    engine: object
    data_dir: Path
    classes: dict[str, int] = field(default_factory=dict)
    images: list[int] = field(default_factory=list)
    annotations: list[int] = field(default_factory=list)


def _disc(cx: float, cy: float, r: float, n: int = 24) -> list[float]:
    return [v for k in range(n) for v in (cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n))]


def build_train_store(engine, data_dir: Path, n_images: int = 12, seed: int = 0) -> TrainStore:
    import cv2

    rng = np.random.default_rng(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as s:
        dom = m.Domain(name="sport", ontology_version="t")
        music = m.Domain(name="music")
        s.add_all([dom, music])
        s.flush()
        ball = m.OntologyClass(domain_id=dom.id, synset="tennis_ball.n.01", kind="dominant", name="tennis ball", category_id=3)
        cock = m.OntologyClass(domain_id=dom.id, synset="shuttlecock.n.01", kind="dominant", name="shuttlecock", category_id=7)
        cello = m.OntologyClass(domain_id=music.id, synset="cello.n.01", kind="dominant", name="cello", category_id=1)
        s.add_all([ball, cock, cello])
        s.flush()
        s.add_all([m.Label(class_id=ball.id, lang="bg", lemmas=["тенис топка"], source="omw:bul"),
                   m.Label(class_id=cock.id, lang="bg", lemmas=["перце"], source="omw:bul")])
        src = m.Source(name="commons")
        s.add(src)
        s.flush()
        q = m.HarvestQuery(class_id=ball.id, lang="en", source_id=src.id, query_text="tennis ball")
        s.add(q)
        s.flush()
        store = TrainStore(str(engine.url), engine, data_dir, {"ball": ball.id, "shuttlecock": cock.id, "cello": cello.id})
        for i in range(n_images):
            img = np.clip(rng.normal(90, 20, (H, W, 3)), 0, 255).astype(np.uint8)
            bx, by, br = rng.uniform(25, 70), rng.uniform(25, 95), rng.uniform(12, 20)
            disc = _disc(bx, by, br)
            cv2.fillPoly(img, [np.round(np.asarray(disc).reshape(-1, 2)).astype(np.int32)], (40, 230, 220))  # BGR yellow
            tx, ty, ts = rng.uniform(95, 135), rng.uniform(25, 95), rng.uniform(14, 22)
            tri = [tx, ty - ts, tx + ts, ty + ts, tx - ts, ty + ts]
            cv2.fillPoly(img, [np.round(np.asarray(tri).reshape(-1, 2)).astype(np.int32)], (250, 250, 250))
            rel = f"img/{i:03d}.jpg"
            (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(data_dir / rel), img)
            row = m.Image(source_id=src.id, source_image_id=f"File:S{i}.jpg", sha1=f"{i:040x}", license_code="CC-BY-4.0",
                          license_url="https://creativecommons.org/licenses/by/4.0/", author=f"Author {i}",
                          title=f"Shapes {i}", landing_url=f"https://commons.wikimedia.org/wiki/File:S{i}.jpg",
                          status="stored", width=W, height=H, mime="image/jpeg", local_path=rel)
            s.add(row)
            s.flush()
            s.add(m.ImageHit(image_id=row.id, query_id=q.id))
            store.images.append(row.id)
            for cid, poly in ((ball.id, disc), (cock.id, tri)):
                xs, ys = poly[0::2], poly[1::2]
                ann = m.Annotation(image_id=row.id, class_id=cid, bbox_x=min(xs), bbox_y=min(ys), bbox_w=max(xs) - min(xs),
                                   bbox_h=max(ys) - min(ys), segmentation=[poly], area=0.0, origin="manual",
                                   status="accepted", reviewed_by="test")
                s.add(ann)
                s.flush()
                store.annotations.append(ann.id)
    return store


@pytest.fixture
def train_store(engine, tmp_path) -> TrainStore:
    return build_train_store(engine, tmp_path / "data")


@pytest.fixture(scope="session")
def base_weights(shared_dir) -> Path:
    path = shared_dir / "models" / "yolov8n-seg.pt"
    if not path.is_file():
        pytest.fail(f"{path} not found: the training tests fine-tune the shared COCO yolov8n-seg weights")
    return path
