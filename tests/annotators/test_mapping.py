import pytest

from annotators.base import COCO80
from annotators.mapping import LabelMapper, Mapped, load_label_synsets, map_synset
from ontology.model import OntologyClassData


def onto(synset, kind, closure, attribute_of=()):
    """An ontology class with what mapping reads (its English name from the synset)."""
    return OntologyClassData(synset, kind, synset.split(".")[0].replace("_", " "),
                             attribute_of=tuple(sorted(attribute_of)), hypernym_closure=tuple(sorted(closure)))


# A small synthetic sport ontology (closures as WordNet 3.0 has them, trimmed to what matters).
PERSON_UP = frozenset({"organism.n.01", "causal_agent.n.01", "physical_entity.n.01", "entity.n.01"})
ATHLETE_UP = PERSON_UP | {"person.n.01", "contestant.n.01"}
BALL_UP = frozenset({"game_equipment.n.01", "equipment.n.01", "instrumentality.n.03", "artifact.n.01", "entity.n.01"})
PERSON = onto("person.n.01", "parent", PERSON_UP)
ATHLETE = onto("athlete.n.01", "parent", ATHLETE_UP)
TENNIS_PLAYER = onto("tennis_player.n.01", "dominant", ATHLETE_UP | {"athlete.n.01"})
FOOTBALLER = onto("footballer.n.01", "dominant", ATHLETE_UP | {"athlete.n.01"})
RACKET = onto("tennis_racket.n.01", "attribute", frozenset({"racket.n.04", "sports_implement.n.01"}),
             frozenset({"tennis_player.n.01"}))
TENNIS_BALL = onto("tennis_ball.n.01", "attribute", BALL_UP | {"ball.n.01"}, frozenset({"tennis_player.n.01"}))
FOOTBALL = onto("football.n.02", "attribute", BALL_UP | {"ball.n.01"}, frozenset({"footballer.n.01"}))
EQUIPMENT = onto("game_equipment.n.01", "parent", BALL_UP - {"game_equipment.n.01"})
DOMAIN = [PERSON, ATHLETE, TENNIS_PLAYER, FOOTBALLER, RACKET, TENNIS_BALL, FOOTBALL, EQUIPMENT]


def test_person_in_a_tennis_player_image_is_a_tennis_player():
    m = map_synset("person.n.01", PERSON_UP, [TENNIS_PLAYER], DOMAIN)
    assert m == Mapped("tennis_player.n.01", "harvest")


def test_most_specific_harvest_class_wins():
    # image harvested for both athlete and tennis player
    assert map_synset("person.n.01", PERSON_UP, [ATHLETE, TENNIS_PLAYER], DOMAIN).synset == "tennis_player.n.01"


def test_racket_goes_to_the_attribute_class():
    up = frozenset({"racket.n.04", "sports_implement.n.01"})
    assert map_synset("tennis_racket.n.01", up, [TENNIS_PLAYER], DOMAIN) == Mapped("tennis_racket.n.01", "attribute")
    # also in an image harvested for something else
    assert map_synset("tennis_racket.n.01", up, [FOOTBALLER], DOMAIN).rule == "attribute"


def test_sports_ball_goes_to_the_attribute_of_the_harvest_class():
    assert map_synset("ball.n.01", BALL_UP, [TENNIS_PLAYER], DOMAIN) == Mapped("tennis_ball.n.01", "attribute")
    assert map_synset("ball.n.01", BALL_UP, [FOOTBALLER], DOMAIN) == Mapped("football.n.02", "attribute")


def test_ambiguous_ball_falls_back_to_the_parent_or_is_dropped():
    # harvested for neither sport: two ball attributes fit, none is preferred
    m = map_synset("ball.n.01", BALL_UP, [PERSON], DOMAIN, policy="keep")
    assert m == Mapped("game_equipment.n.01", "parent")
    assert map_synset("ball.n.01", BALL_UP, [PERSON], DOMAIN, policy="drop") is None


def test_a_hyponym_attribute_needs_a_link_to_the_harvest_class():
    # the only ball in the domain is the tennis ball: not what a ball in a footballer image is
    domain = [PERSON, FOOTBALLER, TENNIS_BALL, EQUIPMENT]
    assert map_synset("ball.n.01", BALL_UP, [FOOTBALLER], domain) == Mapped("game_equipment.n.01", "parent")
    assert map_synset("ball.n.01", BALL_UP, [FOOTBALLER], domain[:3]) == Mapped(None, "unmapped")
    loose = onto("tennis_ball.n.01", "attribute", BALL_UP | {"ball.n.01"})  # attribute of no class
    assert map_synset("ball.n.01", BALL_UP, [FOOTBALLER], [FOOTBALLER, loose]) == Mapped("tennis_ball.n.01", "attribute")


def test_person_elsewhere_is_kept_under_the_exact_class():
    # a person in an image harvested for a tennis racket: the domain has person.n.01 itself
    assert map_synset("person.n.01", PERSON_UP, [RACKET], DOMAIN) == Mapped("person.n.01", "exact")
    assert map_synset("person.n.01", PERSON_UP, [RACKET], DOMAIN, policy="drop") == Mapped("person.n.01", "exact")


def test_unrelated_detection_policy():
    bus_up = frozenset({"public_transport.n.01", "conveyance.n.03", "artifact.n.01", "entity.n.01"})
    assert map_synset("bus.n.01", bus_up, [TENNIS_PLAYER], DOMAIN) == Mapped(None, "unmapped")
    assert map_synset("bus.n.01", bus_up, [TENNIS_PLAYER], DOMAIN, policy="drop") is None
    assert map_synset(None, frozenset(), [TENNIS_PLAYER], DOMAIN) == Mapped(None, "unknown-label")
    with pytest.raises(ValueError, match="keep"):
        map_synset("bus.n.01", bus_up, [], DOMAIN, policy="maybe")  # type: ignore[arg-type]


def test_label_table_covers_coco_and_the_examples():
    table = load_label_synsets()
    assert set(COCO80) <= set(table)
    assert table["person"] == "person.n.01"
    assert table["tennis racket"] == "tennis_racket.n.01"
    assert table["sports ball"] == "ball.n.01"
    assert table["bus"] == "bus.n.01"
    assert table["motorbike"] == table["motorcycle"]  # alias


def test_every_synset_in_the_table_exists_in_wordnet():
    wn = pytest.importorskip("nltk.corpus").wordnet
    try:
        wn.ensure_loaded()
    except LookupError:
        pytest.fail("WordNet data not found; set NLTK_DATA (the shared/nltk_data folder)")
    for label, synset in load_label_synsets().items():
        assert wn.synset(synset).pos() == "n", label


def test_table_errors(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("labels: {a: a.n.01}\naliases: {b: c}\n")
    with pytest.raises(ValueError, match="unknown label 'c'"):
        load_label_synsets(bad)
    bad.write_text("labels: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_label_synsets(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_label_synsets(tmp_path / "none.yaml")


def test_label_mapper_with_wordnet_closures():
    pytest.importorskip("nltk")
    mapper = LabelMapper(DOMAIN, policy="keep")
    assert mapper("person", {"tennis_player.n.01"}) == Mapped("tennis_player.n.01", "harvest")
    assert mapper("Sports Ball", {"footballer.n.01"}) == Mapped("football.n.02", "attribute")
    assert mapper("bus", {"tennis_player.n.01"}) == Mapped(None, "unmapped")
    assert mapper("unicorn", {"tennis_player.n.01"}) == Mapped(None, "unknown-label")
    assert LabelMapper(DOMAIN, policy="drop")("bus", {"tennis_player.n.01"}) is None


def test_mapper_accepts_ontology_package_objects():
    ontology_model = pytest.importorskip("ontology.model")
    c = ontology_model.OntologyClassData(
        synset="tennis_player.n.01", kind="dominant", name="tennis player", origin_synset="tennis.n.01",
        parents=("athlete.n.01",), attribute_of=(), hypernym_closure=tuple(sorted(ATHLETE_UP | {"athlete.n.01"})),
        category_id=1,
    )
    assert map_synset("person.n.01", PERSON_UP, [c], [c]) == Mapped("tennis_player.n.01", "harvest")


def test_real_sport_ontology():
    ontology = pytest.importorskip("ontology")
    try:
        sport = ontology.load_domain("sport")
    except LookupError:
        pytest.skip("the sport ontology is not built in ontology/data")
    if "tennis_player.n.01" not in sport or "tennis_racket.n.01" not in sport:
        pytest.skip("this build of the sport ontology has no tennis classes")
    mapper = LabelMapper(sport.classes)
    assert mapper("person", {"tennis_player.n.01"}) == Mapped("tennis_player.n.01", "harvest")
    assert mapper("tennis racket", {"tennis_player.n.01"}) == Mapped("tennis_racket.n.01", "attribute")
    if "tennis_ball.n.01" in sport:
        assert mapper("sports ball", {"tennis_player.n.01"}) == Mapped("tennis_ball.n.01", "attribute")
    assert mapper("bus", {"tennis_player.n.01"}).rule in ("parent", "unmapped")
