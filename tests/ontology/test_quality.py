"""Class quality as a lexicographer checks it: right senses, objects that go with a class (not
places), enough security attributes, every lemma resource used, and an honest tree."""

from __future__ import annotations

from rich.console import Console

from ontology import load_domain
from ontology.languages import LANGUAGES, SOURCE_CHAINS
from ontology.render import domain_tree

# Places a person plays in or at: a photo shows the person in them, they do not "go with" him.
PLACE_ANCHORS = ("facility.n.01", "geographical_area.n.01", "location.n.01", "tract.n.01")


def _attrs(dom, synset: str) -> set[str]:
    return {c.synset for c in dom.classes if synset in c.attribute_of}


def test_bowling_resolves_to_the_bowler_at_the_pins_not_the_cricketer():
    sport = load_domain("sport")
    bowler = sport.get("bowler.n.02")
    assert bowler is not None and bowler.kind == "dominant" and bowler.origin_synset == "bowling.n.01"
    assert sport.get("bowler.n.01") is None  # "a cricketer who delivers the ball"
    # auto racing is the race car (a vehicle), not the animal racer.n.03
    assert sport.get("racer.n.02").is_a("car.n.01") and sport.get("racer.n.03") is None


def test_attributes_are_things_not_places(wordnet_ready):
    from ontology.build import closure

    assert any(a in closure("golf_course.n.01") for a in PLACE_ANCHORS)  # the anchors catch it
    assert load_domain("sport").get("boxing_ring.n.01") is None  # a platform, not held or worn
    for name in ("sport", "transport", "arts", "security"):
        dom = load_domain(name)
        for c in dom.classes:
            if c.kind == "attribute":
                assert not any(a in c.hypernym_closure for a in PLACE_ANCHORS), (name, c.synset)
                assert "whole.n.02" in c.hypernym_closure and not c.is_a("person.n.01"), (name, c.synset)


def test_sport_players_have_their_balls_rackets_and_boards():
    sport = load_domain("sport")
    expected = {
        "tennis_player.n.01": {"tennis_racket.n.01", "tennis_ball.n.01"},
        "golfer.n.01": {"golf_club.n.02", "golf_ball.n.01"},
        "boxer.n.01": {"boxing_glove.n.01"},
        "soccer_player.n.01": {"soccer_ball.n.01"},
        "hockey_player.n.01": {"hockey_stick.n.01", "puck.n.02"},
        "cyclist.n.01": {"bicycle.n.01", "helmet.n.02"},
        "skateboarder.n.01": {"skateboard.n.01"},
        "oarsman.n.01": {"oar.n.01"},
    }
    for dominant, attrs in expected.items():
        assert attrs <= _attrs(sport, dominant), (dominant, attrs - _attrs(sport, dominant))


def test_security_has_mounted_police_and_the_kit_of_its_staff():
    sec = load_domain("security")
    trooper = sec.get("trooper.n.02")  # "a mounted policeman"
    assert trooper is not None and trooper.kind == "dominant"
    assert "horse.n.01" in _attrs(sec, "trooper.n.02")
    assert {"truncheon.n.01", "handcuff.n.01", "shield.n.02"} <= _attrs(sec, "constable.n.03")
    assert {"fire_hose.n.01", "helmet.n.02", "ladder.n.01"} <= _attrs(sec, "fireman.n.04")
    assert {"stretcher.n.03", "siren.n.04"} <= _attrs(sec, "ambulance.n.01")
    assert len([c for c in sec.classes if c.kind == "attribute"]) >= 15


def test_arts_musicians_have_their_instruments():
    arts = load_domain("arts")
    for dominant, instrument in [("bassist.n.01", "bass_fiddle.n.01"), ("violist.n.01", "viola.n.01"),
                                 ("piper.n.01", "bagpipe.n.01"), ("cellist.n.01", "cello.n.01")]:
        assert instrument in _attrs(arts, dominant), dominant


def test_every_wordnet_of_a_language_is_in_its_source_chain(wordnet_ready):
    """No lemma list that nltk can read for one of our languages is left out of the chains
    (several wordnets for one language, Wiktionary and CLDR lists)."""
    ours = {"bul": "bg", "als": "sq", "eus": "eu", "cat": "ca", "hrv": "hr", "dan": "da", "nld": "nl",
            "deu": "de", "ell": "el", "fin": "fi", "fra": "fr", "glg": "gl", "isl": "is", "ita": "it",
            "lit": "lt", "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru", "srp": "sr", "slk": "sk",
            "slv": "sl", "spa": "es", "swe": "sv", "hbs": "sr"}
    assert set(ours.values()) == set(LANGUAGES) - {"en"}
    prov = wordnet_ready.provenances

    def tab_file(nltk_lang: str) -> tuple[str, str]:
        # nltk may list one file under two ids (als and als_als after add_omw ran twice)
        return prov[nltk_lang], nltk_lang.split("_")[0]

    for nltk_lang in wordnet_ready.langs():
        lang = ours.get(nltk_lang.split("_")[0])
        if lang is None:
            continue
        used = {tab_file(s.nltk_lang) for s in SOURCE_CHAINS[lang]}
        assert tab_file(nltk_lang) in used, f"{nltk_lang} holds {lang} lemmas but is not in its source chain"


def test_a_second_add_exomw_does_not_break_the_extended_lemmas(wordnet_ready):
    from ontology.wordnet import _add_exomw_once

    _add_exomw_once(wordnet_ready)
    assert wordnet_ready.synset("dog.n.01").lemma_names("deu_wikt")


def test_tree_shows_a_class_under_each_of_its_parents():
    sec = load_domain("security")
    tank = sec.get("tank.n.01")
    assert len(tank.parents) >= 2  # armored vehicle, military vehicle, tracked vehicle
    console = Console(width=400, record=True, color_system=None)
    console.print(domain_tree(sec, "en"))
    text = console.export_text()
    lines = [line for line in text.splitlines() if "[tank.n.01]" in line]
    assert len(lines) == len(tank.parents), lines
    full = [line for line in lines if "also under" in line]
    refs = [line for line in lines if "drawn under" in line]
    assert len(full) == 1 and len(refs) == len(tank.parents) - 1
    assert "military vehicle" in full[0] and "tracked vehicle" in full[0]


def test_an_attributes_key_that_is_not_a_dominant_class_is_an_error(wordnet_ready):
    import pytest

    from ontology.build import derive
    from ontology.spec import SpecError, parse_spec

    spec = parse_spec({
        "name": "mini", "roots": ["court_game.n.01"],
        "exclude": ["fives.n.01", "pallone.n.01", "deck_tennis.n.01", "jai_alai.n.01"],
        # the root is a parent class: before, these attributes were dropped without a word
        "attributes": {"court_game.n.01": ["tennis_ball.n.01"]},
    })
    with pytest.raises(SpecError, match="court_game.n.01, which are not dominant classes"):
        derive(spec)
