"""Names with provenance per lemma, name quality, unique names, Galnet and FreeDict, custom classes
(issue 10), checked on the committed data and on small builds from real WordNet."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

from ontology import LANGUAGES, list_domains, load_domain
from ontology.model import METHOD_RANK, METHODS

CUSTOM = {
    "sport": ["mic:handball_player", "mic:figure_skater", "mic:beach_volleyball_player", "mic:rhythmic_gymnast"],
    "security": ["mic:police_helicopter", "mic:military_helicopter", "mic:military_truck"],
    "arts": ["mic:makeup_artist"],
    "transport": ["mic:road_sign"],
}


def test_every_lemma_has_provenance_and_lemmas_are_ranked_best_first():
    for name in list_domains():
        for c in load_domain(name).classes:
            for lang, label in c.labels.items():
                assert len(label.provenance) == len(label.lemmas), (name, c.synset, lang)
                ranks = [METHOD_RANK[p.method] for p in label.provenance]
                assert ranks == sorted(ranks), (name, c.synset, lang, label)
                for p in label.provenance:
                    assert p.source and p.method in METHODS and p.license, (c.synset, lang, p)
                    if p.method == "wiktionary":
                        assert p.share_alike
                if label.lemmas:
                    assert label.source == label.provenance[0].source


def test_no_domain_has_two_classes_with_the_same_name_in_any_language():
    for name in list_domains():
        dom = load_domain(name)
        english = Counter(c.name.casefold() for c in dom.classes)
        assert [n for n, k in english.items() if k > 1] == [], name
        for lang in LANGUAGES:
            keys = Counter(c.labels[lang].key.casefold() for c in dom.classes if c.labels[lang].key)
            assert [n for n, k in keys.items() if k > 1] == [], (name, lang)


def test_senses_sharing_a_name_are_disambiguated_readably():
    sport = load_domain("sport")
    assert sport.get("swimmer.n.01").name == "swimmer"  # the athlete, a dominant class
    assert sport.get("swimmer.n.02").name == "swimmer (traveler)"
    assert sport.get("swimmer.n.02").labels["en"].lemmas == ("swimmer", "natator", "bather")  # lemmas untouched


def test_wrong_names_of_the_issue_are_gone():
    sport = load_domain("sport")
    tennis = sport.get("tennis_player.n.01")
    assert "racchetta" not in tennis.labels["it"].lemmas and tennis.labels["it"].key == "tennista"
    assert sport.get("soccer_player.n.01").labels["fr"].key == "footballeur"
    assert sport.get("soccer_player.n.01").labels["it"].key == "calciatore"
    assert "calciatore" not in sport.get("football_player.n.01").labels["it"].lemmas
    assert all("GAP!" not in l for d in list_domains() for c in load_domain(d).classes
               for lab in c.labels.values() for l in lab.lemmas)


def test_galnet_adds_galician_lemmas_with_its_license():
    found = [
        (c.synset, l, p) for d in list_domains() for c in load_domain(d).classes
        for l, p in c.labels["gl"].lemma_sources() if p.source.startswith("galnet:")
    ]
    assert len(found) > 20
    assert all(p.method == "wordnet" and p.license == "CC BY 4.0" and not p.share_alike for _, _, p in found)
    assert json.loads((load_domain_path("sport")).read_text(encoding="utf-8"))["inputs"]["galnet"] == "3.0.29"


def load_domain_path(name):
    from ontology import DATA_DIR

    return DATA_DIR / f"{name}.json"


def test_dictionary_lemmas_are_cc_by_sa_and_ranked_below_wordnets():
    doc = json.loads(load_domain_path("sport").read_text(encoding="utf-8"))
    assert doc["inputs"]["freedict"] == ["ell-eng", "eng-bul", "eng-fin", "fin-eng", "pol-eng"]
    seen = 0
    for d in list_domains():
        for c in load_domain(d).classes:
            for lang, label in c.labels.items():
                for l, p in label.lemma_sources():
                    if p.method == "dictionary":
                        seen += 1
                        assert p.source.startswith("freedict:") and "ShareAlike" in p.license and p.share_alike
                        assert lang in ("bg", "fi", "pl", "el")
    assert seen > 50
    text = (load_domain_path("ATTRIBUTION").with_suffix(".md")).read_text(encoding="utf-8")
    assert "FreeDict" in text and "Galnet" in text and "CC0" in text


def test_activity_lemmas_are_queries_not_names():
    sport = load_domain("sport")
    hits = [(c.synset, lang) for c in sport.classes for lang, label in c.labels.items()
            if label.lemmas and not label.names]
    assert hits  # some classes have only their activity's lemmas in some language
    synset, lang = hits[0]
    label = sport.get(synset).labels[lang]
    assert label.key is None and all(p.method == "activity" for p in label.provenance)
    assert label.provenance[0].source == f"activity:{sport.get(synset).origin_synset}"
    from ontology.labels import coverage

    assert coverage([sport.get(synset)])[lang] == 0.0  # a query is not a name


def test_custom_classes_are_in_the_data_with_ids_that_never_clash_with_wordnet():
    registry = json.loads(load_domain_path("category_ids").read_text(encoding="utf-8"))["ids"]
    for dname, ids in CUSTOM.items():
        dom = load_domain(dname)
        for cid in ids:
            c = dom.get(cid)
            assert c is not None and c.custom and c.kind == "dominant" and c.ili is None, cid
            assert registry[cid] == c.category_id
            assert c.parents and all(p in dom for p in c.parents)
            assert set(c.parents) <= set(c.hypernym_closure)
            assert c.labels["en"].lemmas and c.labels["en"].provenance[0].method == "human"
    sport = load_domain("sport")
    assert sport.get("mic:figure_skater").origin_synset == "figure_skating.n.01"
    assert sport.get("mic:handball_player").is_a("person.n.01")
    # WordNet synsets of the data carry their ILI (what `enrich --from wikidata` maps through)
    assert sport.get("tennis_player.n.01").ili == "i93599"


def test_mic21_examples_are_covered():
    where = {
        "transport": ["hot-air_balloon.n.01", "sedan.n.01", "camper.n.02", "wheelchair.n.01", "rocket.n.01",
                      "power_shovel.n.01", "pedestrian_crossing.n.01", "mic:road_sign", "dogsled.n.01", "sled.n.01"],
        "arts": ["opera_star.n.01", "rapper.n.01", "cameraman.n.01", "mic:makeup_artist", "writer.n.01"],
        "sport": ["mic:figure_skater", "vaulter.n.01", "mic:handball_player", "mic:beach_volleyball_player",
                  "mic:rhythmic_gymnast"],
        "security": ["traffic_cop.n.01", "trooper.n.02", "mic:police_helicopter", "mic:military_helicopter",
                     "mic:military_truck"],
    }
    for dname, synsets in where.items():
        dom = load_domain(dname)
        for s in synsets:
            assert dom.get(s) is not None and dom.get(s).kind == "dominant", (dname, s)


def test_custom_class_spec_errors_are_clear():
    from ontology.spec import SpecError, parse_spec

    base = {"name": "x", "roots": ["court_game.n.01"]}
    with pytest.raises(SpecError, match="'mic:' and a lowercase identifier"):
        parse_spec({**base, "custom": {"handball_player.n.01": {"name": "h", "parent": "athlete.n.01"}}})
    with pytest.raises(SpecError, match="parent"):
        parse_spec({**base, "custom": {"mic:handball_player": {"name": "h"}}})
    with pytest.raises(SpecError, match="unknown keys colour"):
        parse_spec({**base, "custom": {"mic:h": {"name": "h", "parent": "athlete.n.01", "colour": 1}}})
    spec = parse_spec({**base, "custom": {"mic:h": {"name": "h", "parent": "athlete.n.01"}},
                       "attributes": {"mic:h": ["tennis_ball.n.01"]}})
    assert spec.custom["mic:h"].lemmas == ("h",)


# --- small builds from real WordNet ---------------------------------------------------------

def _write_dictd(folder, name, entries, license_line):
    """A dictd dictionary as dictfmt writes it: .index (word, base64 offset, length) + .dict.dz."""
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def enc(n):
        out = ""
        while True:
            out = b64[n % 64] + out
            n //= 64
            if n == 0:
                return out

    bodies = [("00databaseinfo", f"{name} test dictionary\n\nAvailability:\n\n    {license_line}\n\n")] + entries
    data, index = b"", []
    for head, body in bodies:
        raw = body.encode("utf-8")
        index.append(f"{head}\t{enc(len(data))}\t{enc(len(raw))}")
        data += raw
    (folder / f"freedict-{name}.index").write_text("\n".join(index) + "\n", encoding="utf-8")
    (folder / f"freedict-{name}.dict.dz").write_bytes(gzip.compress(data))


def test_freedict_reader_keeps_one_sense_nouns_and_refuses_gpl(tmp_path):
    from ontology import freedict

    _write_dictd(tmp_path, "eng-bul", [
        ("cellist", "cellist /ˈtʃɛlɪst/ <n>\nвиолончели́ст, виолончелистка\nsomeone who plays a cello\n"),
        ("bank", "bank /bæŋk/ <n>\n1. банка\nfinancial\n 2. бряг\nof a river\n"),
        ("run", "run /ɹʌn/ <v>\nтичам\nto move fast\n"),
    ], "Licensed under the Creative Commons Attribution-ShareAlike 3.0 Unported license")
    _write_dictd(tmp_path, "fin-eng", [
        ("sellisti", "sellisti /ˈselːisti/ <n>\ncellist\nsomeone who plays a cello\n"),
    ], "Licensed under the Creative Commons Attribution-ShareAlike 3.0 Unported license")
    _write_dictd(tmp_path, "eng-ell", [
        ("cellist", "cellist <n>\nβιολοντσελίστας\n"),
    ], "Licensed under the GNU General Public License v3 or later")
    dicts, refused = freedict.load_dir.__wrapped__(str(tmp_path))
    assert sorted(d.name for d in dicts) == ["eng-bul", "fin-eng"]
    assert len(refused) == 1 and "eng-ell" in refused[0] and "GPL dictionaries must not" in refused[0]
    bul = next(d for d in dicts if d.name == "eng-bul")
    assert bul.translations == {"cellist": ["виолончели́ст", "виолончелистка"]}  # bank: two senses; run: a verb
    assert [t for t, _ in freedict.lookup(dicts, "fi", "Cellist")] == ["sellisti"]


def test_build_takes_dictionary_lemmas_for_one_sense_english_lemmas_only(tmp_path, ontology_dir, wordnet_ready):
    from ontology.pipeline import build_all

    fd = tmp_path / "fd"
    fd.mkdir()
    _write_dictd(fd, "eng-bul", [
        ("tennis player", "tennis player <n>\nтенисист-тест\na person who plays tennis\n"),
        ("player", "player <n>\nиграч-тест\n"),  # player has several noun senses in WordNet: unused
    ], "Licensed under the Creative Commons Attribution-ShareAlike 3.0 Unported license")
    (ontology_dir / "enrichment").mkdir()
    res = build_all(ontology_dir / "domains", ontology_dir / "data", ontology_dir / "overrides",
                    freedict=fd, lexicons=None)
    dom = res[0].domain
    label = dom.get("tennis_player.n.01").labels["bg"]
    pairs = dict(label.lemma_sources())
    assert "тенисист-тест" in pairs and pairs["тенисист-тест"].method == "dictionary"
    assert pairs["тенисист-тест"].source == "freedict:eng-bul"
    assert label.lemmas.index("тенисист-тест") > 0  # below the Wiktionary lemma
    assert all("играч-тест" not in c.labels["bg"].lemmas for c in dom.classes)
    doc = json.loads((ontology_dir / "data" / "mini.json").read_text(encoding="utf-8"))
    assert doc["inputs"]["freedict"] == ["eng-bul"]
    assert any(e["source"] == "freedict:eng-bul" and e["share_alike"] for e in doc["sources"]["bg"])
    # a rebuild without the dictionaries says what it lost
    empty = tmp_path / "empty"
    empty.mkdir()
    again = build_all(ontology_dir / "domains", ontology_dir / "data", ontology_dir / "overrides",
                      freedict=empty, lexicons=None)
    assert again[0].lost_inputs == ["FreeDict eng-bul (--freedict / CORPUS_FREEDICT)"]


def test_custom_class_builds_with_names_from_overrides(tmp_path, ontology_dir, wordnet_ready):
    from ontology.pipeline import build_all

    spec = (ontology_dir / "domains" / "mini.toml").read_text(encoding="utf-8")
    spec += ('\n[custom."mic:paddle_player"]\nname = "paddle player"\nparent = "athlete.n.01"\n'
             'definition = "an athlete who plays padel"\n')
    spec = spec.replace('[attributes]\n', '[attributes]\n"mic:paddle_player" = ["tennis_ball.n.01"]\n')
    (ontology_dir / "domains" / "mini.toml").write_text(spec, encoding="utf-8")
    (ontology_dir / "overrides" / "es.toml").write_text(
        'provider = "Test Person <t@example.org>"\n[labels."mic:paddle_player"]\nes = ["jugador de pádel"]\n',
        encoding="utf-8")
    dom = build_all(ontology_dir / "domains", ontology_dir / "data", ontology_dir / "overrides")[0].domain
    c = dom.get("mic:paddle_player")
    assert c.custom and c.kind == "dominant" and c.parents == ("athlete.n.01",) and "person.n.01" in c.hypernym_closure
    assert c.labels["es"].lemmas == ("jugador de pádel",)
    assert c.labels["es"].provenance[0].source == "override:Test Person <t@example.org>"
    assert c.labels["en"].definition == "an athlete who plays padel"
    assert "mic:paddle_player" in dom.get("tennis_ball.n.01").attribute_of
    ids = json.loads((ontology_dir / "data" / "category_ids.json").read_text(encoding="utf-8"))["ids"]
    assert ids["mic:paddle_player"] == c.category_id


def test_override_replace_drops_machine_lemmas(tmp_path, wordnet_ready):
    from ontology.labels import label_for, load_override_file

    p = tmp_path / "fr.toml"
    p.write_text('provider = "T <t@example.org>"\n[labels."bicycle.n.01"]\n'
                 'fr = { lemmas = ["bicyclette"], replace = true }\nit = ["bici-test"]\n', encoding="utf-8")
    ov = load_override_file(p)
    fr, _ = label_for("bicycle.n.01", "fr", ov)
    assert fr.lemmas == ("bicyclette",) and fr.provenance[0].method == "human"
    it, _ = label_for("bicycle.n.01", "it", ov)
    assert it.lemmas[0] != "bici-test" and "bici-test" in it.lemmas  # ranked after the wordnet
    bad = tmp_path / "bad.toml"
    bad.write_text('provider = "T"\n[labels."bicycle.n.01"]\nfr = { lemmas = ["x"], replace = "yes" }\n', encoding="utf-8")
    with pytest.raises(ValueError, match="replace must be true or false"):
        load_override_file(bad)


def test_name_checks_drop_names_of_other_classes_but_never_the_last_name():
    from ontology.labels import drop_wrong_names, unique_names
    from ontology.model import LemmaSource, OntologyClassData

    wn = LemmaSource("omw:ita", "wordnet", "CC BY 3.0", False)
    wikt = LemmaSource("extended_omw:wikt", "wiktionary", "CC BY-SA 3.0", True)
    cands = {
        "tennis_player.n.01": {"it": [("tennista", wn), ("racchetta", wn)]},
        "racket.n.04": {"it": [("racchetta", wn)]},
        "soccer_player.n.01": {"it": [("calciatore", wikt)]},
        "football_player.n.01": {"it": [("calciatore", wn), ("giocatore di football", wn)]},
        "drummer.n.01": {"it": [("tamburo", wn)]},
        "drum.n.01": {"it": [("tamburo", wn)]},
    }
    person = ("causal_agent.n.01", "entity.n.01", "person.n.01", "physical_entity.n.01")  # a person's closure
    info = {
        "tennis_player.n.01": OntologyClassData("tennis_player.n.01", "dominant", "tennis player", hypernym_closure=person),
        "racket.n.04": OntologyClassData("racket.n.04", "attribute", "racket", attribute_of=("tennis_player.n.01",)),
        "soccer_player.n.01": OntologyClassData("soccer_player.n.01", "dominant", "soccer player", hypernym_closure=person),
        "football_player.n.01": OntologyClassData("football_player.n.01", "dominant", "football player",
                                                  hypernym_closure=person),
        "drummer.n.01": OntologyClassData("drummer.n.01", "dominant", "drummer", hypernym_closure=person),
        "drum.n.01": OntologyClassData("drum.n.01", "attribute", "drum"),
    }
    report = drop_wrong_names(cands, info)
    assert [l for l, _ in cands["tennis_player.n.01"]["it"]] == ["tennista"]
    # the Wiktionary "calciatore" names a class the wordnet gives it to, but it is the only name
    assert [l for l, _ in cands["soccer_player.n.01"]["it"]] == ["calciatore"]
    assert [l for l, _ in cands["drummer.n.01"]["it"]] == ["tamburo"]  # its only name stays
    assert ("it", "tennis_player.n.01", "racchetta", "wordnet lemma names the object racket.n.04") in report.dropped
    names = unique_names(cands, info, {"dominant": 0, "parent": 1, "attribute": 2}, {"soccer_player.n.01": "atleta"})
    assert names["football_player.n.01"]["it"] == "calciatore"
    assert names["soccer_player.n.01"]["it"] == "calciatore (atleta)"
    assert names["drummer.n.01"]["it"] == "tamburo" and names["drum.n.01"]["it"] == "tamburo (drum.n.01)"
