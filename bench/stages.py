"""Benchmark: the pipeline's stages on the code of two git refs, in the same run.

    python bench/stages.py [--before 7283577] [--after HEAD] [--repeat 3]
                           [--harvest-images 500] [--annotate-images 24]
                           [--export-images 10000 --export-annotations 100000]
                           [--eval-images 500] [--stages cli,store,ontology,...]

Each ref is extracted with ``git archive`` into a temp dir (nothing is shared with the working
tree or its git metadata). Every measurement is one fresh child process, ``python bench/stages.py
--worker STAGE`` with ``PYTHONPATH=<that tree>`` (the worker checks that ``corpus`` and
``ontology`` were imported from it), doing the same workload with that tree's library: the
timing code is this file for both, the code under test is the tree's. Each tree builds its own
stores with its own migrations (``corpus.store.db.upgrade``); no database is shared between trees.
Runs alternate before/after (ABBA: before first in even rounds, after first in odd ones) so a
drifting machine load hits both alike.

Stages (each timed inside the child, around the library call; setup is not counted):

* ``cli``: ``corpus export coco --help`` in its own interpreter (start-up and imports);
* ``store``: ``upgrade()`` of an empty SQLite file (all migrations);
* ``ontology``: ``load_domain`` of every committed domain, from the tree's own JSON, and from the
  before tree's JSON (the same data for both codes, so the code's share of any change shows);
* ``harvest``: ``corpus.harvest.run.harvest`` against a real local HTTP server (bench/harvest.py's
  asyncio server in its own process) serving N distinct 640x480 JPEGs, through a list source of
  50 URLs a page, 8 download threads, no rate limit; CPU per image is the robust figure;
* ``annotate``: ``annotate_domain`` with ``OnnxYoloSeg`` (../shared/models/yolov5s-seg.onnx) on
  flipped/scaled copies of ../shared/images; also the model's own time inside the run, whose
  complement (our overhead) does not depend on how fast the shared machine runs the model;
* ``export-polygon`` / ``export-rle``: ``export_coco`` (``files="none"``) of a generated store of
  polygons (bench/export.py's generator, written with the tree's models);
* ``annotator-export``: ``export_coco_annotator`` of the same store (``files="none"``);
* ``evaluate``: ``corpus.coco.evaluate.evaluate`` on a generated store of accepted polygons and
  one model's RLE proposals (jittered copies plus false positives).

Prints, per stage, the median wall and CPU seconds of each ref and after/before ratios. The
machine may be shared: read the ratios, and the CPU ones first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DIR", REPO.parent / "shared"))
# Python puts this script's folder first on sys.path, and bench/ontology.py would shadow the
# tree's ontology package in the children: only PYTHONPATH (the tree) may provide the code.
if sys.path and Path(sys.path[0] or ".").resolve() == HERE.parent:
    del sys.path[0]

ALL_STAGES = ("cli", "store", "ontology", "harvest", "annotate", "export-polygon", "export-rle",
              "annotator-export", "evaluate")


# =============================================================================================
# Child side: runs with PYTHONPATH=<tree>, imports only that tree's corpus/ontology/annotators.


def _check_tree(tree: str) -> None:
    import corpus
    import ontology

    for mod in (corpus, ontology):
        if not Path(mod.__file__).resolve().is_relative_to(Path(tree).resolve()):
            raise SystemExit(f"{mod.__name__} imported from {mod.__file__}, not from {tree}")


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> dict[str, float]:
    return {"wall": time.perf_counter() - start[0], "cpu": time.process_time() - start[1]}


def w_cli(a: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cli; cli.main()", "export", "coco", "--help"],
                   check=True, capture_output=True, cwd=a["tree"])
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime}


def w_store(a: dict) -> dict:
    from corpus.store.db import upgrade

    url = f"sqlite:///{a['work']}/empty.db"
    t = _clock()
    upgrade(url)
    return _since(t)


def w_ontology(a: dict) -> dict:
    from ontology import list_domains, load_domain

    data = Path(a["data"]) if a.get("data") else None
    t = _clock()
    doms = [load_domain(d, data) if data else load_domain(d) for d in list_domains(data)]
    r = _since(t)
    r["classes"] = sum(len(d.classes) for d in doms)
    return r


class ListSource:
    """A source whose search returns the benchmark URLs, 50 per page (as bench/harvest.py's)."""

    name = "bench"
    terms = "benchmark images"

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    def search_language(self, lang: str) -> str | None:
        return ""

    def search(self, query, lang, state=None, per_page=50):
        from corpus.licenses import from_code
        from corpus.sources.base import Hit, Page

        start = int((state or {}).get("start", 0))
        chunk = self.urls[start:start + per_page]
        lic = from_code("CC0-1.0")
        hits = [Hit("bench", str(start + i), u, u, lic, "cc0", title=f"image {start + i}", rank=start + i + 1)
                for i, u in enumerate(chunk)]
        nxt = start + per_page
        return Page(hits, {"start": nxt} if nxt < len(self.urls) else None)

    def close(self) -> None:
        pass


def w_harvest(a: dict) -> dict:
    from sqlalchemy.orm import Session

    from corpus.config import Settings, SourceSettings
    from corpus.harvest.run import HarvestOptions, harvest
    from corpus.store.db import make_engine, upgrade
    from corpus.store.models import Domain, Label, OntologyClass

    urls = Path(a["urls"]).read_text().split()
    work = Path(a["work"])
    db_url = f"sqlite:///{work}/harvest.db"
    upgrade(db_url)
    engine = make_engine(db_url)
    with Session(engine) as s:
        dom = Domain(name="bench", description="", root_synsets=[])
        s.add(dom)
        s.flush()
        cls = OntologyClass(domain_id=dom.id, synset="thing.n.01", kind="dominant", name="thing")
        s.add(cls)
        s.flush()
        s.add(Label(class_id=cls.id, lang="en", lemmas=["thing"], source="bench"))
        s.commit()
    settings = Settings(db_url=db_url, data_dir=work / "data",
                        sources={"bench": SourceSettings("bench", "", file_concurrency=8, timeout_s=30)})
    opts = HarvestOptions("bench", languages=("en",), per_class=len(urls), per_page=50, min_size=100)
    t = _clock()
    report = harvest(engine, settings, {"bench": ListSource(urls)}, opts)
    r = _since(t)
    if report.kept != len(urls):
        raise SystemExit(f"harvest kept {report.kept} of {len(urls)}: {dict(report.rejected)} {dict(report.failed)}")
    tm = report.times
    r.update(n=report.kept, stages={k: getattr(tm, k) for k in ("download", "verify", "hash", "write", "store")})
    return r


def w_annotate(a: dict) -> dict:
    from annotators.onnx_yolo import OnnxYoloSeg
    from corpus.annotate import AnnotateOptions, annotate_domain
    from corpus.store import models as m
    from corpus.store.db import make_engine, session_scope, upgrade

    data = Path(a["images"]).parent
    paths = sorted(Path(a["images"]).glob("*.jpg"))
    work = Path(a["work"])
    template = work / "annotate.db"
    upgrade(f"sqlite:///{template}")
    engine = make_engine(f"sqlite:///{template}")
    with session_scope(engine) as s:  # as bench/annotate.py's store
        dom = m.Domain(name="bench")
        s.add(dom)
        s.flush()
        person = m.OntologyClass(domain_id=dom.id, synset="person.n.01", kind="parent", name="person")
        player = m.OntologyClass(domain_id=dom.id, synset="tennis_player.n.01", kind="dominant", name="tennis player")
        s.add_all([person, player])
        src = m.Source(name="bench")
        s.add(src)
        s.flush()
        q = m.HarvestQuery(class_id=player.id, lang="en", source_id=src.id, query_text="tennis player")
        s.add(q)
        s.flush()
        for i, p in enumerate(paths):
            img = m.Image(source_id=src.id, source_image_id=p.name, license_code="CC-BY-4.0", status="stored",
                          local_path=str(p.relative_to(data)), sha1=f"{i:040d}")
            s.add(img)
            s.flush()
            s.add(m.ImageHit(image_id=img.id, query_id=q.id))
    engine.dispose()
    model = OnnxYoloSeg(a["model"], score_threshold=0.25)
    # Warm-up on a copy (session, WordNet for the mapping, statement caches), then the timed run.
    shutil.copyfile(template, work / "warm.db")
    engine = make_engine(f"sqlite:///{work / 'warm.db'}")
    annotate_domain(engine, model, "bench", data, AnnotateOptions(batch_size=8, limit=2))
    engine.dispose()
    shutil.copyfile(template, work / "run.db")
    engine = make_engine(f"sqlite:///{work / 'run.db'}")
    model.infer_seconds = 0.0
    t = _clock()
    summary = annotate_domain(engine, model, "bench", data, AnnotateOptions(batch_size=8))
    r = _since(t)
    if summary.failed or summary.annotated != len(paths):
        raise SystemExit(f"annotate: {summary.annotated} of {len(paths)} images, failed {summary.failed}")
    r.update(n=summary.annotated, proposals=summary.proposals, annotations=summary.annotations,
             infer=model.infer_seconds, stages=dict(summary.stage_seconds))
    return r


def _generate_export_store(url: str, n_images: int, n_annotations: int, n_classes: int = 80, seed: int = 1) -> None:
    """bench/export.py's generator: one domain of 80 classes (labels in three scripts), accepted
    polygon annotations, written with this tree's models."""
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
                 "attribution": f'"File {i}" by Author {i}, CC BY-SA 4.0',
                 "landing_url": f"https://commons.wikimedia.org/wiki/File:{i}.jpg",
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


def _add_proposals(url: str, seed: int = 2) -> None:
    """One model's proposals for every annotation of the store: the polygon shifted by a few
    pixels as a compressed RLE, a score, plus one false positive per five."""
    import numpy as np
    from pycocotools import mask as mask_utils
    from sqlalchemy import insert, select

    from corpus.store import models as m
    from corpus.store.db import make_engine

    rnd = random.Random(seed)
    engine = make_engine(url)
    with engine.begin() as c:
        anns = c.execute(select(m.Annotation.image_id, m.Annotation.class_id, m.Annotation.segmentation)).all()
        rows = []
        for k, (image_id, class_id, seg) in enumerate(anns):
            dx, dy = rnd.randint(-4, 4), rnd.randint(-4, 4)
            poly = [[v + (dx if i % 2 == 0 else dy) for i, v in enumerate(seg[0])]]
            if k % 5 == 0:  # a false positive elsewhere in the image
                poly = [[max(0, v - 60) if i % 2 == 0 else min(470, v + 40) for i, v in enumerate(seg[0])]]
            rle = mask_utils.merge(mask_utils.frPyObjects(poly, 480, 640))
            x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
            rows.append({"image_id": image_id, "class_id": class_id if k % 7 else rnd.randint(1, 80),
                         "detector_label": "thing", "model_name": "bench-model", "model_version": "1", "params": {},
                         "score": float(np.round(rnd.random(), 4)), "bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h,
                         "mask_rle": {"size": [480, 640], "counts": rle["counts"].decode("ascii")},
                         "area": float(mask_utils.area(rle))})
        c.execute(insert(m.Proposal), rows)
    engine.dispose()


def w_gen_export(a: dict) -> dict:
    t = _clock()
    _generate_export_store(a["url"], a["images"], a["annotations"])
    return _since(t)


def w_gen_eval(a: dict) -> dict:
    t = _clock()
    _generate_export_store(a["url"], a["images"], a["annotations"], seed=3)
    _add_proposals(a["url"])
    return _since(t)


def w_export(a: dict) -> dict:
    from corpus.coco.export import CocoExportOptions, export_coco
    from corpus.store.db import make_engine

    engine = make_engine(a["url"])
    out = Path(a["work"]) / "coco"
    opts = CocoExportOptions(files="none", statuses=("accepted",), segmentation=a["mode"])
    t = _clock()
    s = export_coco(engine, out, out, opts)
    r = _since(t)
    r.update(n=s.annotations["all"], converted=s.converted, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return r


def w_annotator_export(a: dict) -> dict:
    from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
    from corpus.store.db import make_engine

    engine = make_engine(a["url"])
    out = Path(a["work"]) / "ca"
    t = _clock()
    s = export_coco_annotator(engine, out, out, AnnotatorExportOptions(statuses=("accepted",), files="none"))
    r = _since(t)
    r.update(n=s.annotations, parts=len(s.parts))
    return r


def w_evaluate(a: dict) -> dict:
    from corpus.coco.evaluate import evaluate
    from corpus.store.db import make_engine

    engine = make_engine(a["url"])
    t = _clock()
    res = evaluate(engine, "sport")
    r = _since(t)
    me = res[0]
    r.update(n=me.truth, proposals=me.proposals, segm_ap=(me.segm or {}).get("AP"), bbox_ap=(me.bbox or {}).get("AP"))
    return r


WORKERS = {"cli": w_cli, "store": w_store, "ontology": w_ontology, "harvest": w_harvest, "annotate": w_annotate,
           "export": w_export, "annotator-export": w_annotator_export, "evaluate": w_evaluate,
           "gen-export": w_gen_export, "gen-eval": w_gen_eval}


def worker(stage: str, args_json: str) -> None:
    a = json.loads(args_json)
    _check_tree(a["tree"])
    r = WORKERS[stage](a)
    print("RESULT " + json.dumps(r, default=str))


# =============================================================================================
# Parent side: no corpus import here.


def extract(ref: str, dest: Path) -> str:
    """``git archive REF`` unpacked into ``dest``; returns the commit id."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=REPO, stdout=subprocess.PIPE)
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(dest, filter="data")
    if archive.wait() != 0:
        raise SystemExit(f"git archive {ref} failed")
    return commit


def child(tree: Path, stage: str, work: Path, **kw) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORPUS_")}  # no user store or settings
    env.update(PYTHONPATH=str(tree), CORPUS_SHARED_DIR=str(SHARED),
               NLTK_DATA=os.environ.get("NLTK_DATA", str(SHARED / "nltk_data")),
               YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", PYTHONDONTWRITEBYTECODE="1")
    args = json.dumps({"tree": str(tree), "work": str(work), **kw})
    proc = subprocess.run([sys.executable, str(HERE), "--worker", stage, args], cwd=tree, env=env,
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{stage} in {tree.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def make_annotate_images(folder: Path, n: int) -> None:
    """bench/annotate.py's images: bus.jpg and zidane.jpg, flipped and scaled, as JPEG files."""
    import cv2
    import numpy as np

    folder.mkdir(parents=True)
    base = [cv2.imread(str(SHARED / "images" / name)) for name in ("bus.jpg", "zidane.jpg")]
    for i in range(n):
        img = base[i % 2]
        if (i // 2) % 2:
            img = img[:, ::-1]
        scale = (1.0, 0.8, 1.25)[(i // 4) % 3]
        img = cv2.resize(np.ascontiguousarray(img), (int(img.shape[1] * scale), int(img.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"img{i:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])


def _harvest_bench():
    spec = importlib.util.spec_from_file_location("bench_harvest", REPO / "bench" / "harvest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="7283577", help="git ref of the code before (default 7283577)")
    ap.add_argument("--after", default="HEAD", help="git ref of the code after (default HEAD)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per stage and ref; medians are reported")
    ap.add_argument("--stages", default=",".join(ALL_STAGES), help=f"comma-separated subset of {','.join(ALL_STAGES)}")
    ap.add_argument("--harvest-images", type=int, default=500)
    ap.add_argument("--annotate-images", type=int, default=24)
    ap.add_argument("--model", default=str(SHARED / "models" / "yolov5s-seg.onnx"))
    ap.add_argument("--export-images", type=int, default=10_000)
    ap.add_argument("--export-annotations", type=int, default=100_000)
    ap.add_argument("--eval-images", type=int, default=500, help="evaluate's store: images (10 annotations each)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (trees, stores) and print its path")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker)
        return 0

    stages = [s for s in a.stages.split(",") if s]
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        ap.error(f"unknown stages: {', '.join(sorted(unknown))} (choose from {', '.join(ALL_STAGES)})")
    tmp = Path(tempfile.mkdtemp(prefix="mic-bench-stages-"))
    server = None
    try:
        trees = {}
        commits = {}
        for side, ref in (("before", a.before), ("after", a.after)):
            commits[side] = extract(ref, tmp / side)
            trees[side] = tmp / side
        load = os.getloadavg()
        print(f"before: {a.before} = {commits['before'][:10]}   after: {a.after} = {commits['after'][:10]}")
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start; {a.repeat} runs per stage and ref, ABBA order\n",
              flush=True)

        # Shared inputs (read-only for the children) and per-tree stores.
        inputs: dict[str, dict] = {}
        if "harvest" in stages:
            hb = _harvest_bench()
            folder = hb.make_images(a.harvest_images)
            port_file = tmp / "port"
            server = subprocess.Popen([sys.executable, str(REPO / "bench" / "harvest.py"), "--serve", str(folder), str(port_file)])
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            port = int(port_file.read_text())
            url_file = tmp / "urls.txt"
            url_file.write_text("".join(f"http://127.0.0.1:{port}/img/{i}.jpg\n" for i in range(a.harvest_images)))
            inputs["harvest"] = {"urls": str(url_file)}
        if "annotate" in stages:
            make_annotate_images(tmp / "annotate-data" / "img", a.annotate_images)
            inputs["annotate"] = {"images": str(tmp / "annotate-data" / "img"), "model": a.model}
        if {"export-polygon", "export-rle", "annotator-export"} & set(stages):
            for side, tree in trees.items():
                url = f"sqlite:///{tmp}/export-{side}.db"
                g = child(tree, "gen-export", tmp / f"gen-{side}", url=url, images=a.export_images,
                          annotations=a.export_annotations)
                print(f"generated the export store with {side}'s code: {a.export_images:,} images, "
                      f"{a.export_annotations:,} annotations ({g['wall']:.1f} s)", flush=True)
                inputs[f"export-{side}"] = {"url": url}
        if "evaluate" in stages:
            for side, tree in trees.items():
                url = f"sqlite:///{tmp}/eval-{side}.db"
                g = child(tree, "gen-eval", tmp / f"gen-eval-{side}", url=url, images=a.eval_images,
                          annotations=a.eval_images * 10)
                print(f"generated the evaluate store with {side}'s code: {a.eval_images:,} images, "
                      f"{a.eval_images * 10:,} annotations + proposals ({g['wall']:.1f} s)", flush=True)
                inputs[f"eval-{side}"] = {"url": url}

        def jobs(stage: str, side: str) -> list[tuple[str, str, dict]]:
            """(row name, worker, arguments) for one stage on one side."""
            if stage == "ontology":
                return [("ontology (own data)", "ontology", {}),
                        ("ontology (before's data)", "ontology", {"data": str(trees["before"] / "ontology" / "data")})]
            if stage in ("export-polygon", "export-rle"):
                return [(stage, "export", {**inputs[f"export-{side}"], "mode": stage.split("-")[1]})]
            if stage == "annotator-export":
                return [(stage, stage, inputs[f"export-{side}"])]
            if stage == "evaluate":
                return [(stage, stage, inputs[f"eval-{side}"])]
            return [(stage, stage, inputs.get(stage, {}))]

        results: dict[str, dict[str, list[dict]]] = {}
        failures: dict[str, str] = {}
        for stage in stages:
            for rep in range(a.repeat):
                order = ("before", "after") if rep % 2 == 0 else ("after", "before")
                for side in order:
                    for row, wname, kw in jobs(stage, side):
                        if row in failures:
                            continue
                        try:
                            r = child(trees[side], wname, tmp / f"run-{wname}-{side}-{rep}", **kw)
                        except RuntimeError as e:
                            failures[row] = f"{side}: {str(e).strip().splitlines()[-1]}"
                            print(f"  {row}: {failures[row]}", flush=True)
                            continue
                        results.setdefault(row, {}).setdefault(side, []).append(r)
                        print(f"  {row:<26} {side:<6} run {rep + 1}: {r['wall']:7.2f} s wall, {r['cpu']:7.2f} s CPU", flush=True)
                        shutil.rmtree(tmp / f"run-{wname}-{side}-{rep}", ignore_errors=True)

        def med(rows: list[dict], key: str) -> float:
            return statistics.median(r[key] for r in rows)

        load = os.getloadavg()
        print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"\n{'stage':<26} {'before s':>9} {'after s':>9} {'ratio':>6}   {'before CPU':>10} {'after CPU':>9} {'ratio':>6}")
        for row, sides in results.items():
            if "before" not in sides or "after" not in sides:
                continue
            b, f = sides["before"], sides["after"]
            print(f"{row:<26} {med(b, 'wall'):9.2f} {med(f, 'wall'):9.2f} {med(f, 'wall') / med(b, 'wall'):5.2f}x"
                  f"   {med(b, 'cpu'):10.2f} {med(f, 'cpu'):9.2f} {med(f, 'cpu') / med(b, 'cpu'):5.2f}x")
        # Stage-specific figures that hold up on a busy machine.
        notes = []
        if "harvest" in results and len(results["harvest"]) == 2:
            h = results["harvest"]
            per = {s: statistics.median(r["cpu"] / r["n"] * 1000 for r in h[s]) for s in h}
            notes.append(f"harvest: CPU per image inside harvest() {per['before']:.2f} -> {per['after']:.2f} ms "
                         f"({per['after'] / per['before']:.2f}x); by stage, ms/image (thread CPU), before -> after:")
            for k in h["before"][0]["stages"]:
                sb = statistics.median(r["stages"][k] / r["n"] * 1000 for r in h["before"])
                sa = statistics.median(r["stages"][k] / r["n"] * 1000 for r in h["after"])
                notes.append(f"    {k:<9} {sb:5.2f} -> {sa:5.2f}")
        if "annotate" in results and len(results["annotate"]) == 2:
            an = results["annotate"]
            ov = {s: statistics.median(r["wall"] - r["infer"] for r in an[s]) / an[s][0]["n"] * 1000 for s in an}
            pct = {s: statistics.median(r["wall"] / r["infer"] - 1 for r in an[s]) for s in an}
            notes.append(f"annotate: time outside the model {ov['before']:.1f} -> {ov['after']:.1f} ms/image "
                         f"({ov['after'] / ov['before']:.2f}x); in-run overhead (e2e / model time) "
                         f"{pct['before']:+.1%} -> {pct['after']:+.1%}; proposals {an['before'][0]['proposals']} / "
                         f"{an['after'][0]['proposals']}; annotate_domain's stages, ms/image, before -> after:")
            for k in an["before"][0]["stages"]:
                sb = statistics.median(r["stages"][k] / r["n"] * 1000 for r in an["before"])
                sa = statistics.median(r["stages"].get(k, float("nan")) / r["n"] * 1000 for r in an["after"])
                notes.append(f"    {k:<9} {sb:6.1f} -> {sa:6.1f}")
        for row in ("export-polygon", "export-rle", "annotator-export", "evaluate"):
            if row in results and len(results[row]) == 2:
                n = {s: results[row][s][0].get("n") for s in results[row]}
                extra = ""
                if row.startswith("export"):
                    rss = {s: max(r["rss_mib"] for r in results[row][s]) for s in results[row]}
                    extra = f", peak RSS {rss['before']:.0f} / {rss['after']:.0f} MiB"
                if row == "evaluate":
                    ap_ = {s: results[row][s][0].get("segm_ap") for s in results[row]}
                    extra = f", segm AP {ap_['before']} / {ap_['after']}"
                notes.append(f"{row}: annotations out before / after {n['before']} / {n['after']}{extra}")
        if "ontology (own data)" in results:
            c = {s: results["ontology (own data)"][s][0]["classes"] for s in results["ontology (own data)"]}
            notes.append(f"ontology: classes in the committed data, before / after: {c.get('before')} / {c.get('after')}")
        if notes:
            print()
            print("\n".join(notes))
        if failures:
            print("\nnot measured (the code of one ref could not run the workload):")
            for row, why in failures.items():
                print(f"  {row}: {why}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(5)
        if a.keep:
            print(f"\nkept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
