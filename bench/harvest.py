"""Benchmark: our harvest pipeline against img2dataset on the same URLs, same machine, same run.

    python bench/harvest.py [--images 2000] [--workers 16] [--repeat 1] [--skip-img2dataset]

1. Generates N distinct 640x480 JPEGs (cached in $TMPDIR/mic-bench-images-<N>), about 68 KiB each.
2. Serves them from memory by a threaded HTTP/1.1 server in a separate process (its CPU is not
   counted for either side).
3. Runs our pipeline in a child process, end to end (interpreter start, imports, migrations of a
   fresh SQLite store, download, verify, sha1 + pHash, atomic file writes with fsync, rows),
   politeness lifted (``file_concurrency`` = --workers, no rate limits). The search step is a
   local list of URLs in pages of 50, so it measures the download pipeline, not an API.
4. Runs img2dataset 1.47 (``pip install img2dataset``) on the same URLs:
   ``--output_format files --resize_mode no --processes_count 2 --thread_count 32
   --number_sample_per_shard 250``.
5. Prints images/s for both, their ratio, CPU seconds per 1,000 images, and our CPU per stage.

Figures vary by about +-20 % between runs on a 2-core VM; compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# ---------------------------------------------------------------------------------------------
# Images and the server


def make_images(n: int) -> Path:
    import io

    import numpy as np
    from PIL import Image

    folder = Path(tempfile.gettempdir()) / f"mic-bench-images-{n}"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(10_000 + i)
        coarse = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        im = Image.fromarray(coarse, "RGB").resize((640, 480), Image.Resampling.BICUBIC)
        noise = rng.integers(-12, 12, size=(480, 640, 3))
        arr = np.clip(np.asarray(im, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=88)
        (folder / f"{i}.jpg").write_bytes(buf.getvalue())
    return folder


def serve(folder: str, port_file: str) -> None:
    """The image server (run in its own process): a minimal asyncio HTTP/1.1 server with
    keep-alive, serving from memory. Python's ThreadingHTTPServer costs a thread per connection,
    which penalises clients that open a connection per image (img2dataset does)."""
    import asyncio

    blobs = {f"/img/{p.name}".encode(): p.read_bytes() for p in Path(folder).glob("*.jpg")}
    heads = {k: b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(v)
             for k, v in blobs.items()}
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].split(b" ")
                path = line[1] if len(line) > 1 else b""
                data = blobs.get(path)
                if data is None:
                    writer.write(not_found)
                else:
                    writer.write(heads[path])
                    writer.write(data)
                await writer.drain()
                if b"connection: close" in head.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# Our pipeline (child process)


class ListSource:
    """A source whose search returns the benchmark URLs, 50 per page."""

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


def run_ours(url_file: str, workdir: str, workers: int) -> None:
    t0 = time.perf_counter()
    from sqlalchemy.orm import Session

    from corpus.config import Settings, SourceSettings
    from corpus.harvest.run import HarvestOptions, harvest
    from corpus.store.db import make_engine, upgrade
    from corpus.store.models import Domain, Label, OntologyClass

    urls = Path(url_file).read_text().split()
    db_url = f"sqlite:///{workdir}/bench.db"
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
    settings = Settings(db_url=db_url, data_dir=Path(workdir) / "data",
                        sources={"bench": SourceSettings("bench", "", file_concurrency=workers, timeout_s=30)})
    opts = HarvestOptions("bench", languages=("en",), per_class=len(urls), per_page=50, min_size=100)
    t1 = time.perf_counter()
    c1 = time.process_time()
    report = harvest(engine, settings, {"bench": ListSource(urls)}, opts)
    t2 = time.perf_counter()
    c2 = time.process_time()
    tm = report.times
    print(json.dumps({
        "kept": report.kept, "rejected": dict(report.rejected), "failed": dict(report.failed),
        "setup_s": t1 - t0, "harvest_s": t2 - t1, "harvest_cpu_s": c2 - c1,
        "stages": {"download": tm.download, "verify": tm.verify, "hash": tm.hash, "write": tm.write, "store": tm.store},
    }))


# ---------------------------------------------------------------------------------------------
# The comparison


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8, help="our download threads (file_concurrency)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-img2dataset", action="store_true")
    ap.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--ours", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(*a.serve)
        return 0
    if a.ours:
        run_ours(a.ours[0], a.ours[1], int(a.ours[2]))
        return 0

    n = a.images
    print(f"generating {n} images ...", flush=True)
    folder = make_images(n)
    sizes = [p.stat().st_size for p in folder.glob("*.jpg")]
    work = Path(tempfile.mkdtemp(prefix="mic-bench-"))
    port_file = work / "port"
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), str(port_file)])
    try:
        for _ in range(100):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        urls = [f"http://127.0.0.1:{port}/img/{i}.jpg" for i in range(n)]
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        print(f"{n} JPEGs 640x480, mean {sum(sizes) / len(sizes) / 1024:.0f} KiB, served on 127.0.0.1:{port}")
        print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}\n")

        rows = []
        for r in range(a.repeat):
            ours_dir = work / f"ours{r}"
            ours_dir.mkdir()
            wall, cpu, proc = timed([sys.executable, __file__, "--ours", str(url_file), str(ours_dir), str(a.workers)])
            if proc.returncode != 0:
                print(proc.stderr[-3000:])
                return 1
            ours = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(("ours", wall, cpu, ours["kept"], ours))
            if not a.skip_img2dataset:
                out = work / f"i2d{r}"
                env = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1", WANDB_MODE="disabled")
                cmd = [sys.executable, "-m", "img2dataset", "--url_list", str(url_file), "--output_folder", str(out),
                       "--output_format", "files", "--resize_mode", "no", "--processes_count", "2",
                       "--thread_count", "32", "--number_sample_per_shard", "250", "--enable_wandb", "False"]
                if shutil.which("img2dataset"):
                    cmd = ["img2dataset", *cmd[3:]]
                wall2, cpu2, proc2 = timed(cmd, env)
                got = len(list(out.rglob("*.jpg"))) if out.exists() else 0
                if proc2.returncode != 0 or got == 0:
                    print("img2dataset failed:", proc2.stderr[-2000:])
                else:
                    rows.append(("img2dataset", wall2, cpu2, got, None))

        print(f"{'pipeline':<12} {'images':>6} {'wall s':>7} {'images/s':>9} {'CPU s/1k':>9}")
        for name, wall, cpu, got, _ in rows:
            print(f"{name:<12} {got:>6} {wall:>7.2f} {got / wall:>9.1f} {cpu / got * 1000:>9.2f}")
        ours_rows = [r for r in rows if r[0] == "ours"]
        i2d_rows = [r for r in rows if r[0] == "img2dataset"]
        best_ours = max(r[3] / r[1] for r in ours_rows)
        if i2d_rows:
            best_i2d = max(r[3] / r[1] for r in i2d_rows)
            print(f"\nours / img2dataset, end to end (best of {a.repeat}): {best_ours / best_i2d:.2f}x")
        o = ours_rows[-1][4]
        kept = max(o["kept"], 1)
        print(f"\nours, inside harvest() (no start-up): {o['kept'] / o['harvest_s']:.1f} images/s, "
              f"{o['harvest_cpu_s'] / kept * 1000:.2f} ms CPU per image; start-up + fresh store {o['setup_s']:.2f} s")
        print("CPU per image by stage (ms, thread CPU time):")
        for stage, sec in o["stages"].items():
            print(f"  {stage:<9} {sec / kept * 1000:6.2f}")
        if o["rejected"] or o["failed"]:
            print(f"ours not kept: {o['rejected']} {o['failed']}")
    finally:
        server.terminate()
        server.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
