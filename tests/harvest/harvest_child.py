"""A harvest in its own process, for the SIGKILL test: ``python -m tests.harvest.harvest_child
DB_URL DATA_DIR BASE_URL``. Sources alpha and beta of tests.harvest.support.FakeApi."""

from __future__ import annotations

import sys
from pathlib import Path

from corpus.harvest.run import HarvestOptions, harvest
from corpus.store.db import make_engine
from tests.harvest.support import LocalSource, settings_for


def main(argv: list[str]) -> int:
    db_url, data_dir, base_url = argv[:3]
    engine = make_engine(db_url)
    settings = settings_for(Path(data_dir), db_url, file_concurrency=3)
    sources = {n: LocalSource(n, base_url) for n in ("alpha", "beta")}
    opts = HarvestOptions("sport", languages=("en",), per_class=1000, per_page=7, commit_every=4, commit_interval_s=0.1)
    report = harvest(engine, settings, sources, opts)
    print(report.status, report.kept, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
