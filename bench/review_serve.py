"""Benchmark `corpus review serve`: the queue query on a big store, and an image page with many
instances, over a real server.

    python bench/review_serve.py [--images 100000 --per-image 10] [--instances 100] [--db PATH]

1. A generated SQLite store (migrated to head) of ``images x per-image`` annotations, each from a
   proposal with a random score (70 % pending, the rest decided; 2 % of images done). The queue's
   first page (50 images, most doubtful first) is timed with our index walk
   (:func:`corpus.web.queue.review_queue`) against the obvious query, one GROUP BY over every
   matching annotation, measured in the same run on the same store. The query plans are printed
   (indexes, not scans). Then a filtered page (one class) and a deep page (offset 1,000), and the
   progress tables.
2. One image with ``--instances`` annotations (half polygons of 24 vertices, half RLE masks traced
   for drawing) is rendered by a live Uvicorn server (GET /image/<id>, and the JSON of
   /api/images/<id>), against a static file from the same server as the baseline.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from corpus.store.db import make_engine, upgrade  # noqa: E402

STATUSES = ["pending"] * 7 + ["accepted", "edited", "rejected"]


def fill(engine, n_images: int, per_image: int, n_classes: int = 80, seed: int = 1) -> None:
    """Bulk rows through the DB-API (the ORM would take minutes for a million)."""
    rng = random.Random(seed)
    now = "2026-11-30 00:00:00"
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        cur.execute("INSERT INTO domains (id, name, description, root_synsets, ontology_version, created_at) "
                    "VALUES (1, 'sport', '', '[]', 'bench', ?)", (now,))
        cur.executemany("INSERT INTO ontology_classes (id, domain_id, synset, kind, name, category_id) VALUES (?, 1, ?, 'dominant', ?, ?)",
                        [(c, f"class_{c}.n.01", f"class {c}", c) for c in range(1, n_classes + 1)])
        cur.executemany("INSERT INTO labels (class_id, lang, lemmas, source) VALUES (?, ?, ?, 'bench')",
                        [(c, lang, f'["{word} {c}"]') for c in range(1, n_classes + 1)
                         for lang, word in (("en", "class"), ("bg", "клас"))])
        cur.execute("INSERT INTO sources (id, name, base_url, terms) VALUES (1, 'commons', '', '')")
        cur.executemany(
            "INSERT INTO images (id, source_id, source_image_id, landing_url, file_url, width, height, sha1, license_code, "
            "license_url, license_raw, author, author_raw, attribution, title, local_path, status, extra, created_at) "
            "VALUES (?, 1, ?, '', '', 640, 480, ?, 'CC-BY-4.0', '', '', 'A', '', 'A, CC-BY-4.0', '', ?, 'stored', '{}', ?)",
            [(i, f"File:{i}.jpg", f"{i:040x}", f"images/{i}.jpg", now) for i in range(1, n_images + 1)])
        props, anns = [], []
        k = 0
        for i in range(1, n_images + 1):
            for _ in range(per_image):
                k += 1
                c = rng.randint(1, n_classes)
                x, y = rng.uniform(0, 500), rng.uniform(0, 380)
                props.append((k, i, c, "yolo", "yolo", "v1", "{}", rng.random(), x, y, 100.0, 80.0, now))
                st = rng.choice(STATUSES)
                anns.append((k, i, c, x, y, 100.0, 80.0, f"[[{x},{y},{x + 100},{y},{x + 100},{y + 80}]]", 4000.0,
                             0, "proposal", k, st, 1, None if st == "pending" else f"r{rng.randint(1, 5)}", now, now))
                if len(props) >= 50_000:
                    _flush(cur, props, anns)
        _flush(cur, props, anns)
        cur.executemany("INSERT INTO image_reviews (image_id, done, changed_by, changed_at, version) VALUES (?, 1, 'r1', ?, 1)",
                        [(i, now) for i in range(1, n_images + 1) if rng.random() < 0.02])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _flush(cur, props, anns) -> None:
    cur.executemany("INSERT INTO proposals (id, image_id, class_id, detector_label, model_name, model_version, params, score, "
                    "bbox_x, bbox_y, bbox_w, bbox_h, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", props)
    cur.executemany("INSERT INTO annotations (id, image_id, class_id, bbox_x, bbox_y, bbox_w, bbox_h, segmentation, area, "
                    "iscrowd, origin, proposal_id, status, version, reviewed_by, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", anns)
    props.clear()
    anns.clear()


NAIVE = """
SELECT a.image_id, MIN(p.score) AS s FROM annotations a
JOIN proposals p ON p.id = a.proposal_id JOIN ontology_classes c ON c.id = a.class_id
WHERE c.domain_id = 1 AND a.status = 'pending' {cls}
AND a.image_id NOT IN (SELECT image_id FROM image_reviews WHERE done = 1)
GROUP BY a.image_id ORDER BY s, a.image_id LIMIT 50 OFFSET {offset}
"""


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def plan(engine, sql: str, params: dict) -> list[str]:
    with engine.connect() as conn:
        return [row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql), params)]


def bench_queue(engine) -> None:
    from corpus.store.models import Annotation
    from corpus.web.queue import QueueFilter, _dense, _sorted_rows, _walk_proposals, progress, review_queue

    def show(title: str, stmt) -> None:
        print(title)
        for line in plan(engine, str(stmt.compile(engine, compile_kwargs={"literal_binds": True})), {}):
            print("   ", line)

    with Session(engine) as s:
        print(f"the store is dense in pending annotations: {_dense(s, QueueFilter())} (so the queue walks proposals)")
        show("plan of one step of the walk: proposals in score order", _walk_proposals(QueueFilter()).limit(2000))
        show("plan of one step of the walk: their annotations", select(Annotation.proposal_id).where(
            Annotation.proposal_id.in_(list(range(1, 2001))), Annotation.status.in_(["pending"]),
            Annotation.class_id.in_(list(range(1, 81)))))
        show("plan of the queue for one class (few rows: read and sorted)", _sorted_rows(1, QueueFilter(class_id=7)).limit(2000))
        print("plan of the obvious GROUP BY query:")
        for line in plan(engine, NAIVE.format(cls="", offset=0), {}):
            print("   ", line)
        rows = []
        for label, f, offset, cls in (("first page", QueueFilter(), 0, ""),
                                      ("one class", QueueFilter(class_id=7), 0, "AND a.class_id = 7"),
                                      ("page at offset 1,000", QueueFilter(), 1000, "")):
            t_ours, ours = timed(lambda: review_queue(s, 1, f, limit=50, offset=offset))
            t_naive, naive = timed(lambda: s.execute(text(NAIVE.format(cls=cls, offset=offset))).all(), repeat=3)
            same = [i.image_id for i in ours] == [r[0] for r in naive]
            rows.append((label, t_ours, t_naive, same))
        t_prog, _ = timed(lambda: progress(s, 1), repeat=3)
    print(f"\n{'queue query':<24}{'ours':>10}{'GROUP BY':>12}{'ratio':>9}  same images")
    for label, a, b, same in rows:
        print(f"{label:<24}{a * 1000:>8.1f}ms{b * 1000:>10.1f}ms{a / b:>8.3f}x  {same}")
    print(f"progress per class and reviewer: {t_prog * 1000:.0f} ms")


class _Server:
    def __init__(self, app) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def bench_page(n_instances: int, workdir: Path) -> None:
    from pycocotools import mask as mask_utils

    from corpus.web.app import create_app

    url = f"sqlite:///{workdir / 'page.db'}"
    upgrade(url)
    engine = make_engine(url)
    data = workdir / "data"
    (data / "images").mkdir(parents=True)
    W, H = 1024, 768
    PILImage.new("RGB", (W, H), (90, 140, 60)).save(data / "images" / "1.jpg", quality=85)
    rng = random.Random(2)
    fill_small(engine, n_instances, W, H, rng, mask_utils)
    app = create_app(engine, data, lang="bg")
    srv = _Server(app)
    try:
        with httpx.Client(base_url=srv.url, timeout=60, follow_redirects=True) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"name": "bench", "lang": "bg", "csrf": token})
            t_static, _ = timed(lambda: c.get("/static/app.css").raise_for_status(), repeat=30)
            t_page, r = timed(lambda: c.get("/image/1").raise_for_status(), repeat=20)
            t_json, j = timed(lambda: c.get("/api/images/1").raise_for_status(), repeat=20)
            n = len(j.json()["instances"])
    finally:
        srv.stop()
    print(f"\nimage page with {n} instances ({n // 2} polygons, {n - n // 2} RLE masks), {W}x{H}, live server:")
    print(f"  static file (baseline)    {t_static * 1000:7.1f} ms  1.00x")
    print(f"  GET /image/1 (page)       {t_page * 1000:7.1f} ms  {t_page / t_static:.1f}x  ({len(r.content) / 1024:.0f} KiB)")
    print(f"  GET /api/images/1 (JSON)  {t_json * 1000:7.1f} ms  {t_json / t_static:.1f}x")


def fill_small(engine, n: int, W: int, H: int, rng, mask_utils) -> None:
    from corpus.store import models as m

    with Session(engine) as s:
        dom = m.Domain(name="sport", root_synsets=[])
        s.add(dom)
        s.flush()
        classes = [m.OntologyClass(domain_id=dom.id, synset=f"c{i}.n.01", kind="dominant", name=f"class {i}") for i in range(20)]
        s.add_all(classes)
        s.flush()
        s.add_all(m.Label(class_id=c.id, lang="bg", lemmas=[f"клас {c.id}"]) for c in classes[:15])
        s.add(m.Source(id=1, name="commons"))
        img = m.Image(id=1, source_id=1, source_image_id="File:1.jpg", license_code="CC-BY-4.0", width=W, height=H,
                      mime="image/jpeg", local_path="images/1.jpg", status="stored")
        s.add(img)
        s.flush()
        for k in range(n):
            cx, cy, r = rng.uniform(60, W - 60), rng.uniform(60, H - 60), rng.uniform(15, 55)
            if k % 2 == 0:
                seg = [[round(cx + r * math.cos(2 * math.pi * t / 24), 1), round(cy + r * math.sin(2 * math.pi * t / 24), 1)]
                       for t in range(24)]
                seg = [[v for pt in seg for v in pt]]
            else:
                mask = np.zeros((H, W), dtype=np.uint8, order="F")
                yy, xx = np.ogrid[:H, :W]
                mask[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 1
                rle = mask_utils.encode(mask)
                seg = {"size": [H, W], "counts": rle["counts"].decode()}
            prop = m.Proposal(image_id=1, class_id=classes[k % 20].id, detector_label="x", model_name="yolo", model_version="v1",
                              score=rng.random(), bbox_x=cx - r, bbox_y=cy - r, bbox_w=2 * r, bbox_h=2 * r)
            s.add(prop)
            s.flush()
            s.add(m.Annotation(image_id=1, class_id=classes[k % 20].id, bbox_x=cx - r, bbox_y=cy - r, bbox_w=2 * r,
                               bbox_h=2 * r, segmentation=seg, area=math.pi * r * r, origin="proposal",
                               proposal_id=prop.id, status="pending"))
        s.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--per-image", type=int, default=10)
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--db", type=Path, help="reuse (or create) this SQLite store for the queue part")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or work / "queue.db"
        url = f"sqlite:///{db}"
        fresh = not db.exists()
        upgrade(url)
        engine = make_engine(url)
        if fresh:
            t = time.perf_counter()
            fill(engine, args.images, args.per_image)
            print(f"store: {args.images:,} images, {args.images * args.per_image:,} annotations and proposals "
                  f"({time.perf_counter() - t:.0f} s to generate)")
        with Session(engine) as s:
            n = s.scalar(text("SELECT count(*) FROM annotations"))
        print(f"annotations in the store: {n:,}\n")
        bench_queue(engine)
        engine.dispose()
        bench_page(args.instances, work)


if __name__ == "__main__":
    main()
