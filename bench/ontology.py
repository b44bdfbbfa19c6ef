"""Benchmark: building the 4 MIC21 domains x 25 languages from WordNet, against baselines.

Each step runs in a fresh Python process (nltk caches what it reads, so a warm process would
flatter the build). Figures are ratios against the baseline measured in the same run: loading
WordNet 3.0 through nltk. The new name sources (Galnet via CILI, FreeDict) are timed alone and
in the build (with and without them). Run: NLTK_DATA=../shared/nltk_data
CORPUS_LEXICONS=../shared/lexicons CORPUS_FREEDICT=~/.cache/mic-corpus/freedict python bench/ontology.py
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STEPS = {
    "wordnet load (baseline)": "from ontology.wordnet import wordnet; wordnet(extended=False).synset('entity.n.01')",
    "wordnet + OMW + extended OMW, all 25 chains read": (
        "from ontology.wordnet import wordnet, lemma_names; from ontology.languages import SOURCE_CHAINS\n"
        "wn = wordnet(); ss = wn.synset('bicycle.n.01')\n"
        "[lemma_names(ss, s.nltk_lang) for chain in SOURCE_CHAINS.values() for s in chain]"
    ),
    "Galnet + CILI read (gl lemmas per ILI)": (
        "import os; from ontology.lexicons import galnet, ili_map\n"
        "d = os.environ['CORPUS_LEXICONS']; galnet(d); ili_map(d)"
    ),
    "FreeDict: 5 dictionaries read": (
        "import os; from ontology.freedict import load_dir; load_dir(os.environ['CORPUS_FREEDICT'])"
    ),
    "full build, WordNet + OMW only": (
        "import shutil, sys; from pathlib import Path; from ontology.pipeline import build_all, PKG_DIR\n"
        "out = Path(sys.argv[1]); out.mkdir(exist_ok=True)\n"
        "shutil.copyfile(PKG_DIR / 'data/category_ids.json', out / 'category_ids.json')\n"
        "build_all(PKG_DIR / 'domains', out, PKG_DIR / 'overrides', freedict=Path(sys.argv[1]) / 'none')"
    ),
    "full build: 4 domains x 25 languages, all sources": (
        "import shutil, sys; from pathlib import Path; from ontology.pipeline import build_all, PKG_DIR\n"
        "out = Path(sys.argv[1]); out.mkdir(exist_ok=True)\n"
        "shutil.copyfile(PKG_DIR / 'data/category_ids.json', out / 'category_ids.json')\n"
        "build_all(PKG_DIR / 'domains', out, PKG_DIR / 'overrides')"
    ),
    "runtime: load_domain x 4 from committed JSON": (
        "from ontology import load_domain, list_domains; [load_domain(d) for d in list_domains()]"
    ),
    "python start + import ontology (overhead)": "import ontology",
}


def run(code: str, arg: str, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, arg], cwd=REPO, check=True, env=env or os.environ.copy())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs per step; the fastest counts (default 2)")
    args = ap.parse_args()
    os.environ.setdefault("NLTK_DATA", str(REPO.parent / "shared" / "nltk_data"))
    os.environ.setdefault("CORPUS_LEXICONS", str(REPO.parent / "shared" / "lexicons"))
    os.environ.setdefault("CORPUS_FREEDICT", str(Path.home() / ".cache" / "mic-corpus" / "freedict"))
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, code) in enumerate(STEPS.items()):
            env = os.environ.copy()
            if name == "full build, WordNet + OMW only":
                env.pop("CORPUS_LEXICONS")  # no Galnet
                (Path(tmp) / "none").mkdir(exist_ok=True)
                code = code.replace("Path(sys.argv[1]) / 'none'", repr(str(Path(tmp) / "none")))
            results[name] = min(run(code, str(Path(tmp) / f"out{i}-{r}"), env) for r in range(args.repeat))
    base = results["wordnet load (baseline)"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'step':52} {'seconds':>8} {'x baseline':>11}")
    for name, secs in results.items():
        print(f"{name:52} {secs:8.2f} {secs / base:11.2f}")
    full = results["full build: 4 domains x 25 languages, all sources"]
    plain = results["full build, WordNet + OMW only"]
    rt = results["runtime: load_domain x 4 from committed JSON"]
    print(f"new sources (Galnet, FreeDict) add {full / plain:.2f}x to the build "
          f"({(full - plain) / base:.2f} WordNet loads)")
    print(f"committed JSON vs build: {full / rt:.1f}x faster to load than to build")


if __name__ == "__main__":
    main()
