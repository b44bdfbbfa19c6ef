"""Benchmark: the scale-out engines against the local ones, in one run.

    python bench/scale.py [--images 24] [--harvest-images 120] [--model ../shared/models/yolov5s-seg.onnx]

1. Annotation throughput (images/s) on the same store and model: the local engine
   (``annotate_domain``, ONNX Runtime on every core) against the Ray engine with 1 and 2 model
   workers on a local Ray cluster (``annotate_domain_ray``). Each worker gets cores/workers ONNX
   threads, so the engines share the machine's cores the same way. Ray start-up is paid once
   before; worker start-up (model load) is part of each Ray run, as in real use, and reported.
2. Object storage overhead for harvest writes: the same harvest (a local HTTP image API, real
   JPEGs, the full pipeline: fetch, verify, hash, dedup, write, store) into a local data folder
   and into an S3 bucket (moto_server on this machine: the protocol cost without a network), and
   the bare content-addressed writes (``Storage.write_atomic``) on both.

Prints ratios against the local baselines. No GPU here: the GPU figure per worker is for a machine
that has one (``--gpus-per-worker 1`` with a CUDA-enabled model).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CORPUS_SHARED_DIR", REPO.parent / "shared"))


def _store(tmp: Path, name: str, n: int) -> tuple[str, Path]:
    from corpus.store.db import make_engine, upgrade
    from tests.scale.support import photo_store

    url = f"sqlite:///{tmp / name}.db"
    upgrade(url)
    data = tmp / "photos"
    eng = make_engine(url)
    photo_store(eng, data, SHARED, n=n)
    eng.dispose()
    return url, data


def bench_annotate(tmp: Path, n: int, model: Path) -> dict[str, float]:
    import ray

    from annotators.onnx_yolo import OnnxYoloSeg
    from corpus.annotate import AnnotateOptions, annotate_domain
    from corpus.annotate_ray import RayOptions, annotate_domain_ray
    from corpus.store.db import make_engine

    cores = os.cpu_count() or 1
    opts = AnnotateOptions(batch_size=4)
    out: dict[str, float] = {}
    url, data = _store(tmp, "local", n)
    eng = make_engine(url)
    s = annotate_domain(eng, OnnxYoloSeg(model, score_threshold=0.25, threads=cores), "sport", data, opts)
    assert s.annotated == n, s.failed
    out["local"] = s.annotated / s.seconds
    print(f"local engine: {n} images in {s.seconds:.1f} s = {out['local']:.2f} images/s "
          f"(store {1000 * s.stage_seconds['store'] / n:.1f} ms/image)", flush=True)

    t = time.perf_counter()
    ray.init(num_cpus=max(4, cores), include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    print(f"ray.init: {time.perf_counter() - t:.1f} s (once)", flush=True)
    try:
        for workers in (1, 2):
            shutil.copyfile(tmp / "local.db", tmp / f"ray{workers}.db")  # same rows, same files
            e2 = make_engine(f"sqlite:///{tmp / f'ray{workers}.db'}")
            from sqlalchemy import delete

            from corpus.store import models as m
            from corpus.store.db import session_scope

            with session_scope(e2) as ses:  # the copy without the local run's results
                for table in (m.ReviewEvent, m.Annotation, m.Proposal, m.AnnotatedImage):
                    ses.execute(delete(table))
            factory = functools.partial(OnnxYoloSeg, model, score_threshold=0.25, threads=max(1, cores // workers))
            r = annotate_domain_ray(e2, factory, "sport", data, opts, RayOptions(workers=workers))
            assert r.annotated == n and r.proposals == s.proposals, (r.annotated, r.proposals, s.proposals)
            out[f"ray{workers}"] = r.annotated / r.seconds
            out[f"store_ms{workers}"] = 1000 * r.stage_seconds["store"] / n
            print(f"ray, {workers} worker(s): {r.seconds:.1f} s = {out[f'ray{workers}']:.2f} images/s "
                  f"({out[f'ray{workers}'] / out['local']:.2f}x local); same {r.proposals} proposals; "
                  f"driver store {out[f'store_ms{workers}']:.1f} ms/image", flush=True)
            e2.dispose()
    finally:
        ray.shutdown()
    eng.dispose()
    return out


def _moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([shutil.which("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_DEFAULT_REGION": "us-east-1"})
    return proc, f"http://127.0.0.1:{port}"


def bench_storage(tmp: Path, n: int) -> dict[str, float]:
    import s3fs
    from pytest_httpserver import HTTPServer

    from corpus.harvest.run import HarvestOptions, harvest
    from corpus.storage import open_storage
    from corpus.store.db import make_engine, upgrade
    from tests.harvest.support import FakeApi, Item, LocalSource, make_jpeg, seed_domain, serve_image, settings_for

    proc, _ = _moto()
    server = HTTPServer(threaded=True)
    server.start()
    out: dict[str, float] = {}
    try:
        fs = s3fs.S3FileSystem()
        fs.mkdir("bench")
        blobs = [make_jpeg(5000 + i, size=(640, 480)) for i in range(n)]
        api = FakeApi()
        for i, b in enumerate(blobs):
            serve_image(server, f"/f/{i}.jpg", b)
        api.add("alpha", "tennis player", [Item(str(i), f"/f/{i}.jpg") for i in range(n)])
        api.install(server, "alpha")
        base = server.url_for("/").rstrip("/")
        print(f"{n} JPEGs of {sum(map(len, blobs)) / n / 1024:.0f} KiB on average", flush=True)

        # Bare content-addressed writes.
        import hashlib

        for label, target in (("local", tmp / "w-local"), ("s3", "s3://bench/w")):
            st = open_storage(target)
            t = time.perf_counter()
            for b in blobs:
                h = hashlib.sha1(b).hexdigest()
                st.write_atomic(f"images/{h[:2]}/{h[2:4]}/{h}.jpg", b)
            out[f"write_{label}"] = time.perf_counter() - t
        print(f"write_atomic x{n}: local {out['write_local']:.2f} s, s3 {out['write_s3']:.2f} s "
              f"({out['write_s3'] / out['write_local']:.2f}x; {1000 * out['write_s3'] / n:.1f} ms per object)", flush=True)

        # Whole harvests.
        for label, target in (("local", str(tmp / "h-local")), ("s3", "s3://bench/h")):
            url = f"sqlite:///{tmp / ('h-' + label)}.db"
            upgrade(url)
            eng = make_engine(url)
            seed_domain(eng)
            settings = settings_for(target, url, file_concurrency=4, names=("alpha",))
            t = time.perf_counter()
            rep = harvest(eng, settings, {"alpha": LocalSource("alpha", base)},
                          HarvestOptions("sport", languages=("en",), per_class=n, per_page=50))
            out[f"harvest_{label}"] = time.perf_counter() - t
            assert rep.kept == n, rep.as_dict()
            eng.dispose()
        print(f"harvest of {n} images: local {out['harvest_local']:.2f} s, s3 {out['harvest_s3']:.2f} s "
              f"({out['harvest_s3'] / out['harvest_local']:.2f}x)", flush=True)
    finally:
        server.stop()
        proc.terminate()
    return out


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--harvest-images", type=int, default=120)
    ap.add_argument("--model", type=Path, default=SHARED / "models" / "yolov5s-seg.onnx")
    ap.add_argument("--skip", choices=("annotate", "storage"), action="append", default=[])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        a = bench_annotate(tmp, args.images, args.model) if "annotate" not in args.skip else {}
        s = bench_storage(tmp, args.harvest_images) if "storage" not in args.skip else {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nsummary")
    if a:
        print(f"  annotate images/s: local {a['local']:.2f}, ray x1 {a['ray1']:.2f} ({a['ray1'] / a['local']:.2f}x), "
              f"ray x2 {a['ray2']:.2f} ({a['ray2'] / a['local']:.2f}x)")
    if s:
        print(f"  S3 / local: write_atomic {s['write_s3'] / s['write_local']:.2f}x, "
              f"harvest {s['harvest_s3'] / s['harvest_local']:.2f}x")


if __name__ == "__main__":
    main()
