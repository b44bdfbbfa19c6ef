"""Lemma provenance and custom classes downstream: the store, COCO categories, SKOS, harvest
planning and annotation mapping (issue 10)."""

from __future__ import annotations

from sqlalchemy import select

from corpus.store.db import make_engine, session_scope
from corpus.store.models import Domain, Label, OntologyClass
from ontology import load_domain


def _load(db_url, name):
    from corpus.ontology_load import load_domain_into_store

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        load_domain_into_store(s, load_domain(name))
    return engine


def test_store_keeps_provenance_per_lemma_and_the_unique_name(db_url):
    engine = _load(db_url, "sport")
    sport = load_domain("sport")
    with engine.connect() as conn:
        rows = {(r.synset, r.lang): r for r in conn.execute(
            select(OntologyClass.synset, Label.lang, Label.lemmas, Label.name, Label.provenance, Label.source)
            .join(OntologyClass))}
    tennis_it = rows[("tennis_player.n.01", "it")]
    assert tennis_it.name == "tennista"
    assert [p["method"] for p in tennis_it.provenance] == [p.method for p in sport.get("tennis_player.n.01").labels["it"].provenance]
    assert all({"source", "method", "license", "share_alike"} <= set(p) for r in rows.values() for p in r.provenance)
    assert rows[("swimmer.n.02", "en")].name == "swimmer (traveler)"
    act = [r for r in rows.values() if r.provenance and all(p["method"] == "activity" for p in r.provenance)]
    assert act and all(r.name is None for r in act)
    custom = rows[("mic:handball_player", "en")]
    assert custom.lemmas == ["handball player"] and custom.provenance[0]["source"] == "spec:sport"
    engine.dispose()


def test_coco_categories_use_unique_names_with_their_sources(db_url):
    from corpus.coco.categories import domain_categories

    engine = _load(db_url, "sport")
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        cats = domain_categories(s, s.scalar(select(Domain).where(Domain.name == "sport")))
    by = {c.synset: c for c in cats}
    assert len({c.name.casefold() for c in cats}) == len(cats)
    for lang in ("en", "it", "fr", "bg", "de"):
        names = [c.names[lang].casefold() for c in cats if lang in c.names]
        assert len(names) == len(set(names)), lang
    tennis = by["tennis_player.n.01"].coco()
    assert tennis["names"]["it"] == "tennista"
    assert tennis["name_sources"]["it"]["method"] == "wordnet" and tennis["name_sources"]["it"]["license"]
    assert by["swimmer.n.02"].coco()["names"]["en"] == "swimmer (traveler)"
    hb = by["mic:handball_player"]
    assert hb.name == "handball player" and hb.id == load_domain("sport").get("mic:handball_player").category_id
    assert hb.supercategory == "athlete"
    engine.dispose()


def test_skos_carries_provenance_and_custom_classes_and_parses():
    import rdflib

    from ontology.export import export

    text = export([load_domain("sport")], "skos", ["en", "it"])
    g = rdflib.Graph().parse(data=text, format="turtle")
    SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
    XL = rdflib.Namespace("http://www.w3.org/2008/05/skos-xl#")
    DCT = rdflib.Namespace("http://purl.org/dc/terms/")
    base = "https://w3id.org/mic-corpus/ontology/concept/sport/"
    tennis = rdflib.URIRef(base + "tennis_player.n.01")
    assert (tennis, SKOS.prefLabel, rdflib.Literal("tennista", lang="it")) in g
    xl = {str(g.value(l, XL.literalForm)): l for l in g.objects(tennis, XL.altLabel)}
    assert str(g.value(xl["tennista"], DCT.source)) == "omw:ita"
    assert str(g.value(xl["tennista"], DCT.license)) == "CC BY 3.0"
    hb = rdflib.URIRef(base + "mic%3Ahandball_player")
    assert (hb, SKOS.prefLabel, rdflib.Literal("handball player", lang="en")) in g
    assert (hb, SKOS.broader, rdflib.URIRef(base + "athlete.n.01")) in g


def test_custom_classes_are_harvested_and_annotations_map_onto_them():
    from annotators.mapping import map_synset
    from corpus.harvest.plan import plan_queries, select_classes

    sport = load_domain("sport")
    picked = select_classes(sport.classes, ["mic:handball_player", "figure skater"])
    assert [c.synset for c in picked] == ["mic:handball_player", "mic:figure_skater"]

    class Any_:
        def search_language(self, lang):
            return lang

    queries = plan_queries(picked, {"local": Any_()}, ["en", "de"])
    texts = {(q.synset, q.lang, q.text) for q in queries}
    assert ("mic:handball_player", "en", "handball player") in texts
    # figure skater has no German name: its activity's lemma is the query, recorded as such
    label = sport.get("mic:figure_skater").labels["de"]
    if label.lemmas:
        assert label.provenance[0].method in ("activity", "wiktionary", "wikidata", "human")
    hb = sport.get("mic:handball_player")
    # a detected person in an image harvested for handball players is a handball player
    m = map_synset("person.n.01", {"organism.n.01"}, [hb], sport.classes)
    assert (m.synset, m.rule) == ("mic:handball_player", "harvest")
