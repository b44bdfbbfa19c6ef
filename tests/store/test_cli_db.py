"""`corpus db ...` and `corpus status` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus.store.db import make_engine
from tests.store.fill import fill

runner = CliRunner()


def test_db_upgrade_current_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    r = runner.invoke(app, ["--db", url, "db", "current"])
    assert r.exit_code == 0 and "current none" in r.output and "run `corpus db upgrade`" in r.output
    r = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", url, "db", "current"])
    assert "up to date" in r.output
    r = runner.invoke(app, ["--db", url, "db", "downgrade", "base", "--yes"])
    assert r.exit_code == 0 and "base (empty)" in r.output


def test_status_counts_per_domain_and_review_status(db_url):
    eng = make_engine(db_url)
    with Session(eng) as s:
        fill(s)
    eng.dispose()
    r = runner.invoke(app, ["--db", db_url, "status"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "sport" in line)
    cells = [c.strip() for c in row.strip("│┃ ").split("│")]
    # domain, classes, images, proposals, pending, accepted, edited, rejected
    assert cells == ["sport", "3", "1", "1", "1", "0", "0", "0"]


def test_db_url_from_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    r = runner.invoke(app, ["db", "upgrade"], env={"CORPUS_DB_URL": url})
    assert r.exit_code == 0 and str(tmp_path / "env.db") in r.output


def test_unreachable_database_gives_a_clear_error_without_password(tmp_path):
    url = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/nope"
    r = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert r.exit_code == 1
    assert "cannot connect to database postgresql+psycopg://bob:***@127.0.0.1:1/nope" in r.output
    assert "s3cret" not in r.output


def test_console_script_help_runs_in_a_fresh_process():
    out = subprocess.run([sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, check=True).stdout
    for group in ("db", "status", "ontology", "harvest", "annotate", "review", "export", "import", "evaluate"):
        assert group in out


def test_status_draws_class_and_license_charts(db_url, tmp_path):
    from PIL import Image as PILImage

    from corpus.store.db import session_scope
    from corpus.store.queries import images_per_class, images_per_language, images_per_license, images_per_source

    eng = make_engine(db_url)
    with Session(eng) as s:
        fill(s)
    with session_scope(eng) as s:
        assert images_per_class(s, "sport") == [("tennis player", 1)]
        assert images_per_license(s) == [("CC-BY-SA-4.0", 1)]
        assert images_per_license(s, "sport") == [("CC-BY-SA-4.0", 1)]
        assert images_per_license(s, "arts") == []
    eng.dispose()
    with session_scope(make_engine(db_url)) as s:
        assert images_per_language(s, "sport") == [("bg", 1)] and images_per_source(s, "sport") == [("commons", 1)]
        assert images_per_language(s, "arts") == [] and images_per_source(s) == [("commons", 1)]
    out = tmp_path / "charts"
    r = runner.invoke(app, ["--db", db_url, "status", "--charts", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "sport: images per language: bg 1" in r.output and "sport: images per source: commons 1" in r.output
    for name in ("classes-sport.png", "languages-sport.png", "sources-sport.png", "licenses.png"):
        with PILImage.open(out / name) as im:
            assert im.format == "PNG" and im.width > 400
