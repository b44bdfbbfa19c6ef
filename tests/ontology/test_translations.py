"""Translator round trip: export a language as CSV and PO, fill in, import as an override file."""

from __future__ import annotations

import csv
import io
import tomllib

from typer.testing import CliRunner

from cli import app
from ontology import load_domain

runner = CliRunner()


def test_csv_export_has_english_definition_sources_and_suggestions(tmp_path):
    out = tmp_path / "bg.csv"
    res = runner.invoke(app, ["ontology", "translations", "export", "--lang", "bg", "--domain", "sport", str(out)])
    assert res.exit_code == 0, res.output
    rows = {r["synset"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    sport = load_domain("sport")
    assert set(rows) == {c.synset for c in sport.classes}
    t = rows["tennis_player.n.01"]
    assert t["lang"] == "bg" and t["english"] == "tennis player" and "plays tennis" in t["definition"]
    assert t["current"].split(";")[0] == sport.get("tennis_player.n.01").labels["bg"].names[0]
    assert "extended_omw:wikt (wiktionary" in t["sources"] and t["translation"] == t["current"]
    res = runner.invoke(app, ["ontology", "translations", "export", "--lang", "bg", "--missing", "--domain", "sport",
                              str(tmp_path / "m.csv")])
    missing = {r["synset"] for r in csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text(encoding="utf-8")))}
    assert "tennis_player.n.01" in missing  # Wiktionary only
    assert "bicycle.n.01" not in missing and "skier.n.01" in missing
    assert len(missing) < len(rows)


def test_import_writes_an_override_with_who_and_when_and_the_build_reads_it(tmp_path, ontology_dir, wordnet_ready):
    res = runner.invoke(app, ["ontology", "build", "--ontology-dir", str(ontology_dir)])
    assert res.exit_code == 0, res.output
    po = tmp_path / "is.po"
    res = runner.invoke(app, ["ontology", "translations", "export", "--lang", "is", "--ontology-dir", str(ontology_dir), str(po)])
    assert res.exit_code == 0, res.output
    from babel.messages.pofile import read_po, write_po

    with po.open("rb") as fh:
        cat = read_po(fh)
    msg = cat.get("tennis player", context="tennis_player.n.01")
    assert any(c.startswith("Definition: ") for c in msg.auto_comments)
    msg.string = "tennisleikari; tennisspilari"
    with po.open("wb") as fh:
        write_po(fh, cat)
    res = runner.invoke(app, ["ontology", "translations", "import", str(po), "--translator", "Jón Jónsson <jon@example.is>",
                              "--ontology-dir", str(ontology_dir)])
    assert res.exit_code == 0, res.output
    files = list((ontology_dir / "overrides").glob("translations-is-*.toml"))
    assert len(files) == 1
    doc = tomllib.loads(files[0].read_text(encoding="utf-8"))
    assert doc["provider"] == "Jón Jónsson <jon@example.is>" and doc["date"]
    assert doc["labels"]["tennis_player.n.01"]["is"] == ["tennisleikari", "tennisspilari"]
    assert len(doc["labels"]) == 1  # only what changed
    res = runner.invoke(app, ["ontology", "build", "--ontology-dir", str(ontology_dir)])
    assert res.exit_code == 0, res.output
    label = load_domain("mini", ontology_dir / "data").get("tennis_player.n.01").labels["is"]
    assert label.names[:2] == ("tennisleikari", "tennisspilari")
    assert label.provenance[0].source == "override:Jón Jónsson <jon@example.is>" and label.provenance[0].method == "human"


def _out(res) -> str:
    return " ".join(res.output.split())  # rich wraps long messages


def test_import_errors_are_clear(tmp_path, ontology_dir):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    res = runner.invoke(app, ["ontology", "translations", "import", str(bad), "--translator", "T"])
    assert res.exit_code != 0 and "not a translation CSV" in _out(res)
    res = runner.invoke(app, ["ontology", "translations", "export", "--lang", "en", str(tmp_path / "en.csv")])
    assert res.exit_code != 0 and "language must be one of" in _out(res)
    res = runner.invoke(app, ["ontology", "translations", "export", "--lang", "bg", str(tmp_path / "bg.txt")])
    assert res.exit_code != 0 and ".csv or .po" in _out(res)


def test_export_gives_the_thumbnail_of_a_harvested_image(db_url, tmp_path):
    from corpus.ontology_load import load_domain_into_store
    from corpus.store.db import make_engine, session_scope
    from corpus.store.models import HarvestQuery, Image, ImageHit, OntologyClass, Source
    from sqlalchemy import select

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        load_domain_into_store(s, load_domain("sport"))
        s.flush()
        cls = s.scalar(select(OntologyClass).where(OntologyClass.synset == "tennis_player.n.01"))
        src = Source(name="commons")
        s.add(src)
        s.flush()
        q = HarvestQuery(class_id=cls.id, lang="en", source_id=src.id, query_text="tennis player")
        img = Image(source_id=src.id, source_image_id="1", license_code="CC-BY-4.0", status="stored",
                    local_path="images/ab/abcdef.jpg")
        s.add_all([q, img])
        s.flush()
        s.add(ImageHit(image_id=img.id, query_id=q.id, source_image_id="1"))
    engine.dispose()
    out = tmp_path / "bg.csv"
    res = runner.invoke(app, ["--db", db_url, "ontology", "translations", "export", "--lang", "bg", "--domain", "sport", str(out)])
    assert res.exit_code == 0, res.output
    rows = {r["synset"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert rows["tennis_player.n.01"]["thumbnail"] == "images/ab/abcdef.jpg"
    assert rows["skier.n.01"]["thumbnail"] == ""
