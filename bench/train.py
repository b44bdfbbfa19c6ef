"""Benchmark: the training loop at a realistic size, before and after, on the CPU or a GPU.

    python bench/train.py [--images 60] [--epochs 5] [--imgsz 256] [--batch 8] [--device cpu|0]
                          [--base ../shared/models/yolov8n-seg.pt]

One run, on a fresh SQLite store and data folder:

1. a reviewed corpus: ``--images`` photos built from the two real photos in ``../shared/images``
   (random crops, flips and scales as backgrounds) with two kinds of objects pasted in at random
   places and sizes: tennis balls (COCO knows them as "sports ball", which our label table maps
   onto the ontology) and shuttlecocks (COCO has no such class); every instance accepted;
2. before: the COCO base model annotates the domain (its labels mapped onto the ontology);
3. ``Corpus.train`` fine-tunes the base model on the accepted instances (splits train=0.8,
   val=0.2), timing each epoch; then the trained model annotates the domain;
4. ``Corpus.evaluate(held_out=...)``: both models on the reviewed images training held out.

Prints seconds per epoch, the share of ``train`` spent outside ultralytics' epochs (export,
setup, validation, recording), and box/mask AP per class and overall before and after, with
after/before ratios where before is not zero.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def _offline_ultralytics(tmp: Path) -> None:
    """No downloads, settings and fonts in the temporary folder (set before ultralytics loads)."""
    import matplotlib

    cfg = tmp / "ultralytics-config"
    cfg.mkdir(parents=True, exist_ok=True)
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        shutil.copyfile(font, cfg / name)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cfg))
    os.environ.setdefault("NLTK_DATA", str(REPO.parent / "shared" / "nltk_data"))  # hypernyms for the label mapping


def _ball(img: np.ndarray, rng) -> list[float]:
    h, w = img.shape[:2]
    r = rng.uniform(0.03, 0.08) * min(h, w)
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
    n = 32
    poly = [v for k in range(n) for v in (cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n))]
    pts = np.round(np.asarray(poly).reshape(-1, 2)).astype(np.int32)
    cv2.fillPoly(img, [pts], (int(60 + rng.integers(0, 40)), 230, int(200 + rng.integers(0, 40))))  # BGR yellow-green
    cv2.ellipse(img, (int(cx - r * 0.9), int(cy)), (int(r * 0.7), int(r * 0.9)), 0, -60, 60, (245, 245, 245), max(1, int(r / 8)))
    return poly


def _shuttlecock(img: np.ndarray, rng) -> list[float]:
    h, w = img.shape[:2]
    s = rng.uniform(0.05, 0.11) * min(h, w)
    cx, cy = rng.uniform(s, w - s), rng.uniform(s, h - s)
    a = rng.uniform(0, 2 * math.pi)
    rot = lambda x, y: (cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a))  # noqa: E731
    skirt = [rot(-s * 0.6, -s), rot(s * 0.6, -s), rot(s * 0.22, s * 0.55), rot(-s * 0.22, s * 0.55)]
    cork = [rot(-s * 0.22, s * 0.55), rot(s * 0.22, s * 0.55), rot(s * 0.15, s), rot(-s * 0.15, s)]
    cv2.fillPoly(img, [np.round(np.asarray(skirt)).astype(np.int32)], (250, 250, 250))
    cv2.fillPoly(img, [np.round(np.asarray(cork)).astype(np.int32)], (40, 60, 120))
    for t in (-0.3, 0.0, 0.3):  # feather ribs
        p0, p1 = rot(t * s, -s), rot(t * s * 0.4, s * 0.55)
        cv2.line(img, tuple(int(v) for v in p0), tuple(int(v) for v in p1), (200, 200, 200), 1)
    return [v for p in skirt[:3] + [cork[2], cork[3]] + skirt[3:] for v in p]


def build(url: str, data: Path, n: int, seed: int = 0) -> None:
    from corpus.store import models as m
    from corpus.store.db import make_engine, session_scope, upgrade

    upgrade(url)
    engine = make_engine(url)
    rng = np.random.default_rng(seed)
    photos = [cv2.imread(str(REPO.parent / "shared" / "images" / f)) for f in ("bus.jpg", "zidane.jpg")]
    with session_scope(engine) as s:
        dom = m.Domain(name="sport", ontology_version="bench")
        s.add(dom)
        s.flush()
        ball = m.OntologyClass(domain_id=dom.id, synset="tennis_ball.n.01", kind="dominant", name="tennis ball", category_id=1)
        cock = m.OntologyClass(domain_id=dom.id, synset="shuttlecock.n.01", kind="dominant", name="shuttlecock", category_id=2)
        src = m.Source(name="commons")
        s.add_all([ball, cock, src])
        s.flush()
        # Every image is found by both queries, so the COCO model's "sports ball" maps onto tennis ball.
        queries = [m.HarvestQuery(class_id=c.id, lang="en", source_id=src.id, query_text=c.name) for c in (ball, cock)]
        s.add_all(queries)
        s.flush()
        for i in range(n):
            photo = photos[i % 2]
            ph, pw = photo.shape[:2]
            cw, ch = int(pw * rng.uniform(0.5, 0.9)), int(ph * rng.uniform(0.5, 0.9))
            x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
            img = photo[y0:y0 + ch, x0:x0 + cw]
            if rng.random() < 0.5:
                img = img[:, ::-1]
            img = np.ascontiguousarray(cv2.resize(img, (480, int(480 * ch / cw)), interpolation=cv2.INTER_AREA))
            objs = [(ball.id, _ball(img, rng)) for _ in range(int(rng.integers(1, 3)))]
            objs += [(cock.id, _shuttlecock(img, rng)) for _ in range(int(rng.integers(1, 3)))]
            rel = f"img/{i:04d}.jpg"
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(data / rel), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
            h, w = img.shape[:2]
            row = m.Image(source_id=src.id, source_image_id=str(i), sha1=f"{i:040x}", license_code="CC-BY-4.0",
                          license_url="https://creativecommons.org/licenses/by/4.0/", status="stored", width=w, height=h,
                          mime="image/jpeg", local_path=rel)
            s.add(row)
            s.flush()
            s.add_all([m.ImageHit(image_id=row.id, query_id=q.id) for q in queries])
            for cid, poly in objs:
                xs, ys = poly[0::2], poly[1::2]
                s.add(m.Annotation(image_id=row.id, class_id=cid, bbox_x=min(xs), bbox_y=min(ys),
                                   bbox_w=max(xs) - min(xs), bbox_h=max(ys) - min(ys), segmentation=[poly], area=0.0,
                                   origin="manual", status="accepted", reviewed_by="bench"))
    engine.dispose()


def _f(v) -> str:
    return "   -  " if v is None else f"{v:6.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="cpu", help="cpu, or 0 for the first GPU")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--base", default=str(REPO.parent / "shared" / "models" / "yolov8n-seg.pt"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    _offline_ultralytics(tmp)
    import torch

    torch.set_num_threads(args.threads)
    from corpus import Corpus

    url = f"sqlite:///{tmp / 'corpus.db'}"
    t = time.perf_counter()
    build(url, tmp / "data", args.images)
    print(f"corpus: {args.images} images built in {time.perf_counter() - t:.1f} s ({tmp})")
    gpu = torch.cuda.get_device_name(0) if args.device != "cpu" and torch.cuda.is_available() else "none used"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}, GPU: {gpu}, "
          f"Python {platform.python_version()}, torch {torch.__version__}")
    with Corpus.open(db_url=url, data_dir=tmp / "data") as c:
        dev = "cpu" if args.device == "cpu" else f"cuda:{args.device}" if args.device.isdigit() else args.device
        t = time.perf_counter()
        before = c.annotate(domain="sport", model=args.base, score_threshold=0.05, device=dev)
        t_before = time.perf_counter() - t
        t = time.perf_counter()
        result = c.train(domain="sport", base=args.base, name="bench", epochs=args.epochs, imgsz=args.imgsz,
                         batch=args.batch, device=args.device, splits="train=0.8,val=0.2", min_annotations=5)
        t_train = time.perf_counter() - t
        t = time.perf_counter()
        after = c.annotate(domain="sport", model="trained:bench", score_threshold=0.05, device=dev)
        t_after = time.perf_counter() - t
        results = {r.model_name: r for r in c.evaluate(domain="sport", held_out="bench")}
    ds = result.dataset
    epochs = result.epoch_seconds
    print(f"\ndataset: {ds.images['train']} train / {ds.images['val']} val images, "
          f"{ds.instances['train']} / {ds.instances['val']} instances")
    print(f"train: {args.epochs} epochs at imgsz {args.imgsz}, batch {args.batch}, device {args.device}: "
          f"{t_train:.1f} s in all; per epoch {min(epochs):.1f}-{max(epochs):.1f} s (mean {sum(epochs) / len(epochs):.1f} s)")
    print(f"  outside ultralytics' epochs (export, setup, validation, recording): "
          f"{(t_train - sum(epochs)) / t_train:.0%} of the train call")
    print(f"annotate {args.images} images: base {t_before:.1f} s ({before.proposals} proposals), "
          f"trained {t_after:.1f} s ({after.proposals} proposals)")
    from corpus.coco.evaluate import ModelEvaluation

    base_name = next((n for n in results if n.startswith("ultralytics:")), None)
    # A base model none of whose proposals maps onto the domain has no entry: it found nothing (AP 0).
    b = results[base_name] if base_name else ModelEvaluation("base", "", 0, 0, 0, {"AP": 0.0}, {"AP": 0.0})
    a = results["trained:bench"]
    print(f"\nheld-out images: {a.images} (truth instances {a.truth})")
    print(f"{'':24}{'before':>8}{'after':>8}   after/before")
    rows = [("box AP, all", b.bbox["AP"], a.bbox["AP"]), ("mask AP, all", b.segm["AP"], a.segm["AP"])]
    for cls in ("tennis ball", "shuttlecock"):
        cb = next((c for c in b.per_class if c.name == cls), None)
        ca = next((c for c in a.per_class if c.name == cls), None)
        rows.append((f"box AP, {cls}", cb.ap_bbox if cb else None, ca.ap_bbox if ca else None))
        rows.append((f"mask AP, {cls}", cb.ap_segm if cb else None, ca.ap_segm if ca else None))
    for label, x, y in rows:
        ratio = f"{y / x:.2f}x" if x and y is not None else ("new class" if not x and y else "-")
        print(f"{label:24}{_f(x):>8}{_f(y):>8}   {ratio}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
