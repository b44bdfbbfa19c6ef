"""Benchmark: the streaming COCO writer against building the whole dict in memory and dumping it.

    python bench/export.py                                   # 100,000 images, 1,000,000 annotations
    python bench/export.py --images 10000 --annotations 100000

Generates a SQLite store (polygons, all accepted, one domain of 80 classes), then runs each way of
exporting in its own subprocess, so peak memory (ru_maxrss) belongs to that way alone:

* ``stream``: ``corpus.coco.export.export_coco`` (entries encoded and written as they come);
* ``dict+dump``: the same entries collected into one dict, then ``json.dump(d, f)``;
* ``dict+dumps``: the same dict, then ``f.write(json.dumps(d))`` (the fastest in-memory way).

Both read the store the same way and build the same entries (the files are checked to be equal);
image files are not placed (``--no-images``), so the figures are the JSON writing alone. To show
that memory stays flat, the stream is also run on a tenth of the store (``--status`` filter on a
tenth of the annotations is not the same shape, so a second, smaller store is generated).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(url: str, n_images: int, n_annotations: int, n_classes: int = 80, seed: int = 1) -> None:
    from sqlalchemy import insert

    from corpus.store import models as m
    from corpus.store.db import make_engine, upgrade

    upgrade(url)
    engine = make_engine(url)
    rnd = random.Random(seed)
    with engine.begin() as c:
        c.execute(insert(m.Domain), [{"name": "sport", "description": "", "root_synsets": [], "ontology_version": "b"}])
        c.execute(insert(m.Source), [{"name": "commons", "base_url": "", "terms": ""}])
        c.execute(insert(m.OntologyClass), [
            {"domain_id": 1, "synset": f"class_{i}.n.01", "kind": "dominant", "name": f"class {i}", "category_id": i + 1}
            for i in range(n_classes)])
        c.execute(insert(m.Label), [
            {"class_id": i + 1, "lang": lang, "lemmas": [f"{word} {i}"], "source": "bench"}
            for i in range(n_classes) for lang, word in (("bg", "клас"), ("el", "κλάση"), ("en", "class"))])
        step = 20_000
        for start in range(0, n_images, step):
            c.execute(insert(m.Image), [
                {"source_id": 1, "source_image_id": f"File:{i}.jpg", "sha1": f"{i:040x}", "license_code": "CC-BY-SA-4.0",
                 "license_url": "https://creativecommons.org/licenses/by-sa/4.0/", "author": f"Author {i}",
                 "attribution": f'"File {i}" by Author {i}, CC BY-SA 4.0', "landing_url": f"https://commons.wikimedia.org/wiki/File:{i}.jpg",
                 "file_url": f"https://upload.wikimedia.org/{i}.jpg", "status": "stored", "width": 640, "height": 480,
                 "mime": "image/jpeg", "local_path": f"images/{i}.jpg", "title": f"File {i}", "extra": {}}
                for i in range(start, min(n_images, start + step))])
        per_image = max(1, n_annotations // n_images)
        rows = []
        for k in range(n_annotations):
            img = min(n_images, k // per_image + 1)
            x, y, w, h = rnd.randint(0, 500), rnd.randint(0, 350), rnd.randint(10, 130), rnd.randint(10, 120)
            poly = [[x, y, x + w, y, x + w, y + h // 2, x + w // 2, y + h, x, y + h]]
            rows.append({"image_id": img, "class_id": rnd.randint(1, n_classes), "bbox_x": x, "bbox_y": y, "bbox_w": w,
                         "bbox_h": h, "segmentation": poly, "area": float(w * h * 3 // 4), "iscrowd": False,
                         "origin": "proposal", "status": "accepted", "version": 1})
            if len(rows) == step:
                c.execute(insert(m.Annotation), rows)
                rows = []
        if rows:
            c.execute(insert(m.Annotation), rows)
    engine.dispose()


def build_dict(url: str, opts) -> dict:
    """The in-memory way: the same selection and entries as the streaming writer, in one dict."""
    from sqlalchemy.orm import Session

    from corpus.coco.export import _Selection, annotation_entry
    from corpus.coco.images import file_name, image_entry, license_entry
    from corpus.store.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        sel = _Selection(session, opts)
        info = {"description": f"MIC Corpus, domain {sel.domain.name}", "domain": sel.domain.name}
        d = {"info": info, "categories": [c.coco() for c in sel.categories], "images": [], "licenses": [], "annotations": []}
        sizes = {}
        for row in sel.images():
            if sel.license_reason(row):
                continue
            sizes[row.id] = (row.width, row.height)
            d["images"].append(image_entry(row, file_name(row.id, row.sha1, row.local_path, row.mime), row.width, row.height, row.id))
            d["licenses"].append(license_entry(row, row.id))
        for row in sel.annotations():
            if row.image_id not in sizes:
                continue
            w, h = sizes[row.image_id]
            d["annotations"].append(annotation_entry(row, sel.cat_id[row.class_id], opts.segmentation, w, h)[0])
    return d


def run_one(mode: str, url: str, out: str) -> dict:
    from corpus.coco.export import CocoExportOptions, export_coco
    from corpus.store.db import make_engine

    opts = CocoExportOptions(files="none", statuses=("accepted",))
    t0 = time.perf_counter()
    if mode == "stream":
        s = export_coco(make_engine(url), Path(out), Path(out), opts)
        n = s.annotations["all"]
    else:
        d = build_dict(url, opts)
        n = len(d["annotations"])
        path = Path(out) / "annotations" / "instances.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            if mode == "dict+dump":
                json.dump(d, f, ensure_ascii=False, separators=(",", ":"))
            else:
                f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
    dt = time.perf_counter() - t0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "seconds": dt, "peak_rss_mib": rss_mib, "annotations": n}


def child(mode: str, url: str, out: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, "--db", url, "--out", out],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_content(a: Path, b: Path) -> bool:
    da, db = json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8"))
    return all(da[k] == db[k] for k in ("categories", "images", "licenses", "annotations"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--annotations", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=None, help="Where the stores and outputs go (default: a temp dir).")
    ap.add_argument("--skip-small", action="store_true", help="Skip the tenth-size run that shows flat memory.")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.db, args.out)))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [(args.images, args.annotations)]
    if not args.skip_small:
        sizes.append((max(1, args.images // 10), max(1, args.annotations // 10)))
    results = {}
    for n_img, n_ann in sizes:
        url = f"sqlite:///{work}/store-{n_img}-{n_ann}.db"
        if not Path(f"{work}/store-{n_img}-{n_ann}.db").exists():
            t0 = time.perf_counter()
            generate(url, n_img, n_ann)
            print(f"generated {n_img:,} images / {n_ann:,} annotations in {time.perf_counter() - t0:.1f} s", flush=True)
        modes = ("stream", "dict+dump", "dict+dumps") if (n_img, n_ann) == sizes[0] else ("stream", "dict+dumps")
        for mode in modes:
            out = work / f"out-{n_img}-{mode}"
            results[(n_img, mode)] = r = child(mode, url, str(out))
            print(f"{n_img:>7,} images {mode:<11} {r['seconds']:7.1f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB", flush=True)
    big = args.images
    st, dd, ds = results[(big, "stream")], results[(big, "dict+dump")], results[(big, "dict+dumps")]
    equal = same_content(work / f"out-{big}-stream/annotations/instances.json",
                         work / f"out-{big}-dict+dumps/annotations/instances.json") if big <= 200_000 else None
    print()
    print(f"store: {args.images:,} images, {args.annotations:,} annotations; same content: {equal}")
    print(f"time   stream / dict+dump  = {st['seconds'] / dd['seconds']:.2f}x")
    print(f"time   stream / dict+dumps = {st['seconds'] / ds['seconds']:.2f}x   (goal: <= 1.5x)")
    print(f"memory stream / dict+dumps = {st['peak_rss_mib'] / ds['peak_rss_mib']:.2f}x (peak RSS)")
    if not args.skip_small:
        small = max(1, args.images // 10)
        s_small, d_small = results[(small, "stream")], results[(small, "dict+dumps")]
        print(f"memory growth for 10x the corpus: stream {st['peak_rss_mib'] / s_small['peak_rss_mib']:.2f}x, "
              f"dict {ds['peak_rss_mib'] / d_small['peak_rss_mib']:.2f}x")


if __name__ == "__main__":
    main()
