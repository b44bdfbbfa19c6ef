"""`corpus harvest` end to end: the real ontology, the real Commons and Openverse clients pointed at
a local server replaying recorded API responses (their file URLs rewritten to the same server),
and a real SQLite store."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from corpus.store.models import Image, ImageHit
from tests.harvest.support import make_jpeg, serve_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"
runner = CliRunner()


def invoke(db_url, data_dir, *args, env=None):
    return runner.invoke(app, ["--db", db_url, "--data-dir", str(data_dir), "harvest", *args], env=env or {})


def test_help_says_what_each_source_allows():
    r = runner.invoke(app, ["harvest", "--help"], terminal_width=200)
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    for name in ("commons", "openverse", "pexels", "pixabay", "flickr"):
        assert name in text
    assert "opt-in" in text and "on by default" in text and "no dataset building or ML training" in text
    assert "--license-policy" in text and "--dry-run" in text


def test_dry_run_plans_multilingual_queries_from_the_ontology(db_url, tmp_path):
    r = invoke(db_url, tmp_path, "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en,bg",
               "--dry-run")
    assert r.exit_code == 0, r.output
    assert "tennis player" in r.output and "тенисист" in r.output
    assert "openverse" in r.output and "commons" in r.output
    # Both sources take every language as text: 3 queries each (one en + two bg lemmas).
    assert r.output.count("openverse") == 3 and r.output.count("commons") == 3


def test_unknown_domain_and_source_are_clear_errors(db_url, tmp_path):
    r = invoke(db_url, tmp_path, "--domain", "nosuchdomain", "--dry-run")
    assert r.exit_code == 1 and "nosuchdomain" in r.output and "Traceback" not in r.output
    r = invoke(db_url, tmp_path, "--domain", "sport", "--sources", "bing")
    assert r.exit_code == 1 and "unknown source" in r.output
    r = invoke(db_url, tmp_path, "--domain", "sport", "--sources", "pexels", env={"CORPUS_PEXELS_API_KEY": ""})
    assert r.exit_code == 1 and "pexels" in r.output.lower() and "Traceback" not in r.output


def test_no_network_ends_with_a_message_per_source(db_url, tmp_path):
    env = {
        "CORPUS_COMMONS_BASE_URL": "http://127.0.0.1:9/w/api.php", "CORPUS_COMMONS_MAX_RETRIES": "0",
        "CORPUS_OPENVERSE_BASE_URL": "http://127.0.0.1:9/v1", "CORPUS_OPENVERSE_MAX_RETRIES": "0",
    }
    r = invoke(db_url, tmp_path, "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en", env=env)
    assert r.exit_code == 1, r.output
    assert "commons" in r.output and "openverse" in r.output and "Traceback" not in r.output
    assert "ConnectError" in r.output or "connect" in r.output.lower()


def test_a_stopped_source_is_reported_once_and_whole(db_url, tmp_path):
    """Each source's error is printed once, in full (the cause ends the line), not once cut short
    while the run goes on and again in the summary."""
    env = {
        "CORPUS_COMMONS_BASE_URL": "http://127.0.0.1:9/w/api.php", "CORPUS_COMMONS_MAX_RETRIES": "0",
        "CORPUS_OPENVERSE_BASE_URL": "http://127.0.0.1:9/v1", "CORPUS_OPENVERSE_MAX_RETRIES": "0",
    }
    r = invoke(db_url, tmp_path, "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en", env=env)
    assert r.exit_code == 1, r.output
    text = " ".join(r.output.split())
    for source in ("commons", "openverse"):
        reported = re.findall(rf"{source} stopped: giving up on (\S+) after 1 attempt\(s\): ConnectError: "
                              r"\[Errno 111\] Connection refused", text)
        assert len(reported) == 1 and reported[0].startswith("http://127.0.0.1:9/"), text
    assert text.count("giving up on") == 2 and text.count("Connection refused") == 2, text


def _rewrite(obj, mapping):
    if isinstance(obj, dict):
        return {k: _rewrite(v, mapping) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rewrite(v, mapping) for v in obj]
    return mapping.get(obj, obj) if isinstance(obj, str) else obj


def replay_apis(httpserver, delay_s: float = 0.0):
    """Recorded Commons and Openverse answers, their file URLs pointing at real JPEGs on
    ``httpserver``; returns (env for the CLI, the Commons answer)."""
    base = httpserver.url_for("/").rstrip("/")
    commons = json.loads((FIXTURES / "commons_search_fv2_page1.json").read_text())
    commons.pop("continue", None)  # one page: the query is exhausted after it
    openverse = json.loads((FIXTURES / "openverse_images_page1.json").read_text())
    mapping = {}
    for i, page in enumerate(commons["query"]["pages"]):
        ii = page["imageinfo"][0]
        mapping[ii["thumburl"]] = f"{base}/files/c{i}.jpg"
        serve_image(httpserver, f"/files/c{i}.jpg", make_jpeg(300 + i, (1024, 576)), delay_s=delay_s)
    for i, res in enumerate(openverse["results"]):
        mapping[res["url"]] = f"{base}/files/o{i}.jpg"
    # Openverse's first result is the same picture as Commons' first (it aggregates Commons).
    serve_image(httpserver, "/files/o0.jpg", make_jpeg(300, (1024, 576)), delay_s=delay_s)
    serve_image(httpserver, "/files/o1.jpg", make_jpeg(400, (800, 600)), delay_s=delay_s)
    commons, openverse = _rewrite(commons, mapping), _rewrite(openverse, mapping)
    openverse["page_count"] = 1
    httpserver.expect_request("/w/api.php").respond_with_json(commons)
    httpserver.expect_request("/v1/images/").respond_with_json(openverse)
    env = {"CORPUS_COMMONS_BASE_URL": f"{base}/w/api.php", "CORPUS_OPENVERSE_BASE_URL": f"{base}/v1"}
    return env, commons


def test_harvest_through_the_real_clients(db_url, engine, tmp_path, httpserver):
    env, commons = replay_apis(httpserver)

    r = invoke(db_url, tmp_path, "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en",
               "--license-policy", "any-open", env=env)
    assert r.exit_code == 0, r.output
    assert "harvest done" in r.output and "tennis player" in r.output
    with Session(engine) as s:
        rows = s.scalars(select(Image).where(Image.status == "stored")).all()
        n_hits = len(s.scalars(select(ImageHit)).all())
    n_commons = len(commons["query"]["pages"])
    assert len(rows) == n_commons + 1  # Openverse's copy of a Commons image is one row with two hits
    assert n_hits >= n_commons + 2
    assert all(r.attribution and r.license_code and r.landing_url for r in rows)
    assert all((tmp_path / r.local_path).is_file() for r in rows)
    # Rerun: everything is known, nothing is fetched again.
    before = len([1 for req, _ in httpserver.log if req.path.startswith("/files")])
    r = invoke(db_url, tmp_path, "--domain", "sport", "--classes", "tennis_player.n.01", "--languages", "en",
               "--license-policy", "any-open", env=env)
    assert r.exit_code == 0, r.output
    assert len([1 for req, _ in httpserver.log if req.path.startswith("/files")]) == before


def test_server_text_in_error_messages_is_not_read_as_rich_markup():
    """A source's error carries a snippet of the server's body; '[/x]' in it must print as text,
    not end the harvest with a rich MarkupError."""
    from types import SimpleNamespace

    from corpus.commands import harvest as cmd
    from corpus.commands.common import RichBars, err_console
    from corpus.harvest.run import HarvestReport
    from corpus.progress import ProgressEvent

    hostile = "commons: HTTP 403: '[/oops] [bold]not bold[/bold]'"
    report = HarvestReport(status="done", source_errors={"commons": hostile}, query_errors={"openverse": hostile})
    with err_console.capture() as cap:
        cmd.render_summary(report, "commercial use, derivatives")
        progress = RichBars(enabled=True)
        progress.bar = SimpleNamespace(console=err_console)  # print where we capture, no live bar
        progress(ProgressEvent("harvest", message=f"commons stopped: {hostile}"))
    assert cap.get().count("[/oops] [bold]not bold[/bold]") == 3
