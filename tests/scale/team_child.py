"""One member of a team in its own process, for tests/scale/test_team.py.

    python -m tests.scale.team_child harvest DB_URL DATA_DIR BASE_URL SYNSET...
    python -m tests.scale.team_child annotate DB_URL DATA_DIR MODEL DONE_FLAG

``harvest`` runs a team-mode harvest (2 s leases) of the named classes from source alpha of
tests.harvest.support.FakeApi. ``annotate`` annotates in team mode (batches of 1) until the file
DONE_FLAG exists and a pass finds nothing left; with DONE_FLAG "-" it makes one pass. Each prints
its report as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

TTL = 2.0


def harvest(db_url: str, data_dir: str, base_url: str, synsets: list[str]) -> dict:
    from corpus.harvest.run import HarvestOptions, harvest as run
    from corpus.store.db import make_engine
    from tests.harvest.support import LocalSource, settings_for

    engine = make_engine(db_url)
    settings = settings_for(data_dir, db_url, file_concurrency=2, names=("alpha",))
    opts = HarvestOptions("sport", classes=tuple(synsets), languages=("en",), per_class=1000, per_page=4,
                          commit_every=2, commit_interval_s=0.1, team=True, claim_ttl_s=TTL)
    report = run(engine, settings, {"alpha": LocalSource("alpha", base_url)}, opts)
    return {"status": report.status, "kept": report.kept, "rounds": report.rounds,
            "classes": sorted(report.classes), "claimed_elsewhere": report.claimed_elsewhere,
            "rejected": dict(report.rejected), "failed": dict(report.failed)}


def annotate(db_url: str, data_dir: str, model: str, flag: str) -> dict:
    from annotators.onnx_yolo import OnnxYoloSeg
    from corpus.annotate import AnnotateOptions, annotate_domain
    from corpus.store.db import make_engine

    engine = make_engine(db_url)
    annotator = OnnxYoloSeg(model, score_threshold=0.4)
    opts = AnnotateOptions(batch_size=1, team=True, claim_ttl_s=TTL)
    total = passes = 0
    while True:
        finished = flag == "-" or Path(flag).exists()  # read before the pass: then nothing new comes
        s = annotate_domain(engine, annotator, "sport", data_dir, opts)
        total += s.annotated
        passes += 1
        if finished and s.annotated == 0 or flag == "-":
            return {"annotated": total, "passes": passes, "failed": s.failed, "elsewhere": s.done_elsewhere}
        time.sleep(0.3)


def main(argv: list[str]) -> int:
    what, db_url, data_dir = argv[:3]
    out = harvest(db_url, data_dir, argv[3], argv[4:]) if what == "harvest" else annotate(db_url, data_dir, argv[3], argv[4])
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
