"""Deriving classes and labels from real WordNet 3.0 + OMW data."""

from __future__ import annotations

import json
import shutil

import pytest

from ontology import build
from ontology.labels import Overrides, label_for, load_override_file
from ontology.registry import CategoryRegistry
from ontology.spec import SpecError, load_spec, parse_spec


def test_bicycle_has_lemmas_in_bg_fr_ro(wordnet_ready):
    # every source contributes; the wordnet's lemmas come first
    for lang, source in (("bg", "omw:bul"), ("fr", "omw:fra"), ("ro", "omw:ron")):
        label, _ = label_for("bicycle.n.01", lang, Overrides())
        assert label.lemmas and label.source == source, (lang, label)
    assert "велосипед" in label_for("bicycle.n.01", "bg", Overrides())[0].lemmas
    assert "vélo" in label_for("bicycle.n.01", "fr", Overrides())[0].lemmas


def test_languages_without_wordnet_fall_back_to_wiktionary(wordnet_ready):
    label, _ = label_for("bicycle.n.01", "de", Overrides())
    assert "Fahrrad" in label.lemmas and label.source == "extended_omw:wikt"


def test_activities_resolve_to_participants_and_objects_to_themselves(wordnet_ready):
    spec = parse_spec({"name": "t", "roots": ["sport.n.01"]})
    assert build.resolve_object("tennis.n.01", spec) == ("tennis_player.n.01", "lemma pattern")
    assert build.resolve_object("skiing.n.01", spec) == ("skier.n.01", "derivation")
    assert build.resolve_object("ferry.n.01", spec) == ("ferry.n.01", "self")
    obj, how = build.resolve_object("team_sport.n.01", spec)
    assert obj is None


@pytest.mark.slow
def test_no_abstract_synset_becomes_a_visual_class(wordnet_ready):
    spec = parse_spec({"name": "t", "roots": ["sport.n.01"], "exclude": []})
    classes, report = build.derive(spec)
    assert "team_sport.n.01" not in classes and any(u.startswith("team_sport.n.01") for u in report.unresolved)
    for syn in classes:
        assert build.is_physical(syn), syn
    bad = parse_spec({"name": "t", "roots": ["sport.n.01"], "include": ["tennis.n.01"],
                      "objects": {"tennis.n.01": "tennis.n.01"}})
    with pytest.raises(SpecError, match="not a physical object"):
        build.derive(bad)
    stray = parse_spec({"name": "t", "roots": ["sport.n.01"], "objects": {"tennis.n.01": "tennis_player.n.01"}})
    with pytest.raises(SpecError, match="not candidates"):
        build.derive(stray)


def test_parent_chain_stops_at_person_and_below_artifact(wordnet_ready):
    spec = parse_spec({"name": "t", "roots": ["court_game.n.01"], "include": ["ferry.n.01"]})
    classes, _ = build.derive(spec)
    assert "person.n.01" in classes and classes["person.n.01"]["parents"] == ()
    for too_general in ("organism.n.01", "causal_agent.n.01", "artifact.n.01", "instrumentality.n.03"):
        assert too_general not in classes
    assert classes["tennis_player.n.01"]["parents"] == ("athlete.n.01", "player.n.01")
    assert "conveyance.n.03" in classes and classes["conveyance.n.03"]["parents"] == ()


def test_spec_synsets_are_canonicalised(wordnet_ready):
    spec = parse_spec({"name": "t", "roots": ["truck.n.01"], "include": ["police_car.n.01"]})
    classes, _ = build.derive(spec)
    assert "cruiser.n.01" in classes and "police_car.n.01" not in classes


def test_spec_errors_are_clear(tmp_path):
    with pytest.raises(SpecError, match="unknown keys rots"):
        parse_spec({"name": "x", "rots": ["a.n.01"]})
    with pytest.raises(SpecError, match="not synset names"):
        parse_spec({"name": "x", "roots": ["tennis"]})
    p = tmp_path / "bad.toml"
    p.write_text("name = [", encoding="utf-8")
    with pytest.raises(SpecError, match="invalid TOML"):
        load_spec(p)


def test_registry_keeps_ids_and_never_reuses(tmp_path):
    reg = CategoryRegistry({"a.n.01": 1, "b.n.01": 2}, next_id=5)
    assert reg.assign(["b.n.01", "c.n.01", "a.n.01"]) == ["c.n.01"]
    assert reg.ids["c.n.01"] == 5 and reg.next_id == 6
    reg.save(tmp_path / "ids.json")
    again = CategoryRegistry.load(tmp_path / "ids.json")
    assert again.ids == reg.ids and again.next_id == 6


def test_overrides_rank_after_wordnets_and_record_who(tmp_path, wordnet_ready):
    p = tmp_path / "bg.toml"
    p.write_text(
        'provider = "Test Person <t@example.org>"\n'
        '[labels."tennis_player.n.01"]\n'
        'bg = ["тенисист"]\n'
        'de = { lemmas = ["Tennisspieler"], definition = "Sportler, der Tennis spielt" }\n',
        encoding="utf-8",
    )
    ov = load_override_file(p)
    label, _ = label_for("tennis_player.n.01", "bg", ov)
    # bg has no wordnet lemma for it: the human lemma comes first, above Wiktionary's
    assert label.lemmas == ("тенисист", "тенисистка") and label.source == "override:Test Person <t@example.org>"
    assert [p.method for p in label.provenance] == ["human", "wiktionary"]
    label, _ = label_for("tennis_player.n.01", "de", ov)
    assert label.definition == "Sportler, der Tennis spielt"
    nobody = tmp_path / "nobody.toml"
    nobody.write_text('[labels."tennis_player.n.01"]\nbg = ["x"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="must say who provided it"):
        load_override_file(nobody)
    badlang = tmp_path / "badlang.toml"
    badlang.write_text('provider = "x"\n[labels."tennis_player.n.01"]\nxx = ["x"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        load_override_file(badlang)


@pytest.mark.slow
def test_rebuild_is_byte_identical_to_the_committed_data(tmp_path, repo_root, wordnet_ready):
    """Building the committed specs gives exactly the committed files, and again on a rebuild."""
    from ontology.pipeline import build_all

    data = tmp_path / "data"
    data.mkdir()
    onto = repo_root / "ontology"
    shutil.copyfile(onto / "data/category_ids.json", data / "category_ids.json")
    results = build_all(onto / "domains", data, onto / "overrides")
    names = sorted(r.domain.name for r in results)
    assert {"sport", "transport", "arts", "security"} <= set(names)
    for name in names + ["category_ids", "ATTRIBUTION"]:
        suffix = ".md" if name == "ATTRIBUTION" else ".json"
        assert (data / f"{name}{suffix}").read_bytes() == (onto / f"data/{name}{suffix}").read_bytes(), name
    first = (data / "sport.json").read_bytes()
    again = build_all(onto / "domains", data, onto / "overrides", only=["sport"])
    assert not again[0].changed and (data / "sport.json").read_bytes() == first
    assert json.loads(first)["version"] == again[0].domain.version
