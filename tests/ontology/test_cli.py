"""`corpus ontology ...` through typer's CliRunner, the store through a real migrated SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from corpus.store.db import make_engine
from corpus.store.models import ClassRelation, Domain, Label, OntologyClass

runner = CliRunner()


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_load_twice_creates_no_duplicates(db_url):
    from ontology import load_domain

    r1 = runner.invoke(app, ["--db", db_url, "ontology", "load", "--domain", "sport"])
    assert r1.exit_code == 0, r1.output
    engine = make_engine(db_url)
    sport = load_domain("sport")
    counts = {m: _count(engine, m) for m in (Domain, OntologyClass, Label, ClassRelation)}
    assert counts[Domain] == 1 and counts[OntologyClass] == len(sport.classes)
    assert counts[Label] == sum(1 for c in sport.classes for l in c.labels.values() if l.lemmas)
    assert counts[ClassRelation] == sum(len(c.parents) + len(c.attribute_of) for c in sport.classes)
    r2 = runner.invoke(app, ["--db", db_url, "ontology", "load", "--domain", "sport"])
    assert r2.exit_code == 0, r2.output
    assert {m: _count(engine, m) for m in counts} == counts
    with engine.connect() as conn:
        dom = conn.execute(select(Domain.name, Domain.ontology_version, Domain.root_synsets)).one()
        row = conn.execute(
            select(OntologyClass.kind, OntologyClass.origin_synset, OntologyClass.category_id)
            .where(OntologyClass.synset == "tennis_player.n.01")
        ).one()
        bg = conn.execute(
            select(Label.lemmas, Label.source).join(OntologyClass).where(
                OntologyClass.synset == "ferry.n.01", Label.lang == "bg")
        ).all()
    assert dom == ("sport", sport.version, list(sport.roots))
    assert tuple(row) == ("dominant", "tennis.n.01", sport.get("tennis_player.n.01").category_id)
    assert bg == []  # ferry is not in sport
    engine.dispose()


def test_reload_after_a_change_updates_in_place(db_url):
    from dataclasses import replace

    from corpus.ontology_load import load_domain_into_store
    from corpus.store.db import session_scope
    from ontology import load_domain

    engine = make_engine(db_url)
    arts = load_domain("arts")
    with session_scope(engine) as s:
        first = load_domain_into_store(s, arts)
    assert first.classes_added == len(arts.classes)
    relations_before = _count(engine, ClassRelation)
    with engine.connect() as conn:
        cellist_id = conn.execute(select(OntologyClass.id).where(OntologyClass.synset == "cellist.n.01")).scalar_one()
    # Drop one attribute class and rename another: the rest keeps its ids.
    dropped = "cello.n.01"
    classes = [replace(c, name="cello player") if c.synset == "cellist.n.01" else c
               for c in arts.classes if c.synset != dropped]
    changed = replace(arts, classes=classes, version="changed")
    with session_scope(engine) as s:
        res = load_domain_into_store(s, changed)
    assert (res.classes_added, res.classes_updated, res.classes_removed) == (0, 1, 1)
    # The dropped class takes its attribute_of edge with it (ON DELETE CASCADE).
    assert _count(engine, ClassRelation) == relations_before - 1
    with engine.connect() as conn:
        assert conn.execute(select(OntologyClass.id, OntologyClass.name).where(
            OntologyClass.synset == "cellist.n.01")).one() == (cellist_id, "cello player")
        assert conn.execute(select(Domain.ontology_version)).scalar_one() == "changed"
        assert conn.execute(select(func.count()).select_from(OntologyClass).where(OntologyClass.synset == dropped)).scalar_one() == 0
    engine.dispose()


def test_show_prints_a_tree_in_the_asked_language():
    r = runner.invoke(app, ["ontology", "show", "--domain", "transport", "--lang", "bg"])
    assert r.exit_code == 0, r.output
    assert "bicycle [bicycle.n.01]" in r.output and "велосипед" in r.output
    assert "conveyance [conveyance.n.03]" in r.output
    bad = runner.invoke(app, ["ontology", "show", "--domain", "transport", "--lang", "xx"])
    assert bad.exit_code == 1 and "unknown language" in bad.output
    missing = runner.invoke(app, ["ontology", "show", "--domain", "nope"])
    assert missing.exit_code == 1 and "no built ontology for domain 'nope'" in missing.output


def test_coverage_prints_language_by_domain_table():
    r = runner.invoke(app, ["ontology", "coverage", "--markdown"])
    assert r.exit_code == 0, r.output
    lines = [l for l in r.output.splitlines() if l.startswith("| ")]
    assert len(lines) == 1 + 25
    assert "sport" in lines[0] and lines[1].startswith("| en (English) | yes | 100.0 %")


def test_export_json_csv_skos(tmp_path):
    out = tmp_path / "sport.json"
    r = runner.invoke(app, ["ontology", "export", "--format", "json", "--domain", "sport", "-o", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [d["domain"] for d in doc["domains"]] == ["sport"]

    r = runner.invoke(app, ["ontology", "export", "--format", "csv", "--domain", "arts", "--lang", "en", "--lang", "bg"])
    assert r.exit_code == 0, r.output
    rows = r.output.strip().splitlines()
    from ontology import load_domain

    assert len(rows) == 1 + 2 * len(load_domain("arts").classes)
    assert rows[0].startswith("domain,synset,kind,name,category_id")

    ttl = tmp_path / "arts.ttl"
    r = runner.invoke(app, ["ontology", "export", "--format", "skos", "--domain", "arts", "-o", str(ttl)])
    assert r.exit_code == 0, r.output
    rdflib = pytest.importorskip("rdflib")
    g = rdflib.Graph().parse(ttl, format="turtle")
    skos = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
    cellist = rdflib.URIRef("https://w3id.org/mic-corpus/ontology/concept/arts/cellist.n.01")
    langs = {l.language for l in g.objects(cellist, skos.prefLabel)}
    assert {"en", "fr", "de", "it"} <= langs
    # One prefLabel per language, as SKOS requires.
    labels = list(g.objects(cellist, skos.prefLabel))
    assert len(labels) == len(langs)
    assert (cellist, skos.broader, rdflib.URIRef("https://w3id.org/mic-corpus/ontology/concept/arts/musician.n.01")) in g

    bad = runner.invoke(app, ["ontology", "export", "--format", "xml"])
    assert bad.exit_code == 1 and "unknown export format" in bad.output


@pytest.mark.slow
def test_add_domain_writes_a_spec_and_builds_it(ontology_dir, wordnet_ready):
    r = runner.invoke(app, ["ontology", "add-domain", "kitchen", "--root", "kitchen_utensil.n.01",
                            "--description", "Kitchen tools", "--ontology-dir", str(ontology_dir)])
    assert r.exit_code == 0, r.output
    assert (ontology_dir / "domains" / "kitchen.toml").is_file()
    from ontology import load_domain

    kitchen = load_domain("kitchen", ontology_dir / "data")
    assert len(kitchen.dominant) > 5 and kitchen.roots == ("kitchen_utensil.n.01",)
    again = runner.invoke(app, ["ontology", "add-domain", "kitchen", "--root", "pot.n.01", "--ontology-dir", str(ontology_dir)])
    assert again.exit_code == 1 and "exists" in again.output
    bad = runner.invoke(app, ["ontology", "add-domain", "x", "--root", "no_such_thing.n.01", "--ontology-dir", str(ontology_dir)])
    assert bad.exit_code == 1 and "not a WordNet 3.0 synset" in bad.output


@pytest.mark.slow
def test_build_check_and_summary(ontology_dir, wordnet_ready):
    r = runner.invoke(app, ["ontology", "build", "--ontology-dir", str(ontology_dir)])
    assert r.exit_code == 0, r.output
    assert "mini" in r.output and "written" in r.output
    data = (ontology_dir / "data" / "mini.json").read_bytes()
    ok = runner.invoke(app, ["ontology", "build", "--check", "--ontology-dir", str(ontology_dir)])
    assert ok.exit_code == 0 and "up to date" in ok.output
    (ontology_dir / "data" / "mini.json").write_bytes(data.replace(b'"tennis player"', b'"tennis man"'))
    stale = runner.invoke(app, ["ontology", "build", "--check", "--ontology-dir", str(ontology_dir)])
    assert stale.exit_code == 1 and "out of date" in stale.output


def test_missing_wordnet_says_how_to_get_it(tmp_path, repo_root, ontology_dir):
    """A fresh process with an empty NLTK_DATA (and no ~/nltk_data) gets a clear message."""
    empty = tmp_path / "empty_nltk"
    empty.mkdir()
    env = {**os.environ, "NLTK_DATA": str(empty), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "cli.py", "ontology", "build", "--ontology-dir", str(ontology_dir)],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=120,
    )
    if "WordNet 3.0 was not found" not in proc.stderr and proc.returncode == 0:
        pytest.skip("WordNet is installed system-wide; cannot hide it")
    assert proc.returncode == 1
    assert "WordNet 3.0 was not found" in proc.stderr
    assert "python -m nltk.downloader wordnet omw-1.4 extended_omw" in proc.stderr
    assert "Traceback" not in proc.stderr
