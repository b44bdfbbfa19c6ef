"""The committed data through the runtime API (no WordNet needed)."""

from __future__ import annotations

import json

import pytest

from ontology import LANGUAGES, DATA_DIR, OntologyDataError, list_domains, load_domain

MIC21_EXAMPLES = {
    "sport": ["chess_player.n.01", "skier.n.01", "tennis_player.n.01", "oarsman.n.01", "boxer.n.01"],
    "transport": ["streetcar.n.01", "ferry.n.01", "forklift.n.01", "jinrikisha.n.01"],
    "arts": ["cellist.n.01", "sculptor.n.01", "ballet_dancer.n.01"],
    "security": ["fire_engine.n.01", "mountie.n.01", "ambulance.n.01"],
}


def test_languages_are_the_25_of_mic21():
    assert LANGUAGES == ("en", "bg", "sq", "eu", "ca", "hr", "da", "nl", "de", "el", "fi", "fr", "gl",
                         "is", "it", "lt", "pl", "pt", "ro", "ru", "sr", "sk", "sl", "es", "sv")


def test_four_domains_with_mic21_examples_and_enough_dominant_classes():
    assert set(list_domains()) >= {"sport", "transport", "arts", "security"}
    total = 0
    for name, examples in MIC21_EXAMPLES.items():
        dom = load_domain(name)
        dominant = {c.synset for c in dom.dominant}
        assert set(examples) <= dominant, set(examples) - dominant
        total += len(dominant)
    assert total >= 130


def test_tennis_player_is_the_resolved_activity_and_its_chain_ends_at_person():
    sport = load_domain("sport")
    c = sport.get("tennis_player.n.01")
    assert (c.kind, c.name, c.origin_synset) == ("dominant", "tennis player", "tennis.n.01")
    assert c.is_a("person.n.01") and "entity.n.01" in c.hypernym_closure
    # Every way up the parent classes ends at person.n.01, never above it.
    tops, todo = set(), [c.synset]
    while todo:
        cur = sport.get(todo.pop())
        if not cur.parents:
            tops.add(cur.synset)
        todo.extend(cur.parents)
    assert tops == {"person.n.01"}
    assert sport.get("organism.n.01") is None and sport.get("causal_agent.n.01") is None
    attrs = {a.synset for a in sport.classes if "tennis_player.n.01" in a.attribute_of}
    assert {"tennis_ball.n.01", "tennis_racket.n.01"} <= attrs


def test_no_abstract_class_and_no_too_general_parent():
    for name in list_domains():
        for c in load_domain(name).classes:
            assert "whole.n.02" in c.hypernym_closure or c.is_a("person.n.01"), (name, c.synset)
            assert c.synset not in ("artifact.n.01", "instrumentality.n.03", "object.n.01", "organism.n.01")


def test_every_class_has_labels_for_all_languages_with_provenance():
    sport = load_domain("sport")
    for c in sport.classes:
        assert list(c.labels) == sorted(LANGUAGES) or set(c.labels) == set(LANGUAGES)
        assert c.labels["en"].lemmas
        assert c.labels["en"].source == ("spec:sport" if c.custom else "wordnet:pwn-3.0")
        for lang, label in c.labels.items():
            assert bool(label.lemmas) == bool(label.source), (c.synset, lang)
    bike_like = load_domain("transport").get("bicycle.n.01")
    assert bike_like.labels["fr"].lemmas and bike_like.labels["fr"].source == "omw:fra"


def test_category_ids_are_stable_unique_and_registered():
    registry = json.loads((DATA_DIR / "category_ids.json").read_text(encoding="utf-8"))
    ids = registry["ids"]
    assert len(set(ids.values())) == len(ids)
    assert registry["next_id"] > max(ids.values())
    for name in list_domains():
        for c in load_domain(name).classes:
            assert ids[c.synset] == c.category_id
    # The same synset has the same id in every domain.
    assert load_domain("transport").get("helicopter.n.01").category_id == load_domain("security").get("helicopter.n.01").category_id


def test_data_carries_attribution_and_share_alike_notice():
    doc = json.loads((DATA_DIR / "sport.json").read_text(encoding="utf-8"))
    assert "share" in doc["license_notice"].lower()
    wikt = [s for entries in doc["sources"].values() for s in entries if s["source"] == "extended_omw:wikt"]
    assert wikt and all(s["share_alike"] for s in wikt)
    assert set(doc["sources"]) == set(LANGUAGES)
    text = (DATA_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Share-alike" in text and "BulTreeBank" in text and "CC BY-SA" in text


def test_version_is_a_content_hash():
    from ontology.model import content_version

    doc = json.loads((DATA_DIR / "arts.json").read_text(encoding="utf-8"))
    assert doc["version"] == content_version(doc) == load_domain("arts").version


def test_unknown_domain_says_what_exists(tmp_path):
    with pytest.raises(OntologyDataError, match="known: .*sport"):
        load_domain("nope")
    with pytest.raises(OntologyDataError, match="known: none"):
        load_domain("sport", tmp_path)
