"""Person refinement (issue 11): not every person in an image becomes the image's class.

The boxes in the first tests are the ones yolov8n-seg finds in the real photos (bus.jpg: four
pedestrians and a skateboard under one of them; zidane.jpg: two men), so the rule is checked on
the geometry it meets in practice; the last test runs the real model on the real photos."""

from __future__ import annotations

import pytest

from annotators.mapping import LabelMapper, Mapped
from tests.annotators.test_mapping import ATHLETE_UP, DOMAIN, FOOTBALLER, PERSON_UP, TENNIS_PLAYER, onto

SKATER = onto("skateboarder.n.01", "dominant", PERSON_UP | {"person.n.01", "skater.n.01"})
SKATEBOARD = onto("skateboard.n.01", "attribute", frozenset({"board.n.02", "artifact.n.01", "entity.n.01"}),
                  frozenset({"skateboarder.n.01"}))
CLASSES = DOMAIN + [SKATER, SKATEBOARD]

BUS_SIZE = (1080, 810)  # h, w
BUS = [("person", (670, 389, 810, 877)), ("person", (48, 396, 242, 904)), ("person", (223, 408, 344, 862)),
       ("bus", (3, 228, 800, 722)), ("person", (0, 552, 78, 876)), ("skateboard", (669, 823, 810, 882))]
ZIDANE_SIZE = (720, 1280)
ZIDANE = [("person", (136, 202, 1119, 712)), ("person", (737, 39, 1147, 709)), ("tie", (434, 436, 522, 714))]


def mapper():
    closures = {"person.n.01": PERSON_UP, "skateboard.n.01": SKATEBOARD.hypernym_closure,
                "bus.n.01": frozenset({"artifact.n.01", "entity.n.01"}), "necktie.n.01": frozenset({"entity.n.01"})}
    return LabelMapper(CLASSES, policy="keep", closure=lambda s: closures.get(s, frozenset()))


def synsets(result):
    return [m.synset if m else None for m in result]


def test_pedestrians_in_a_street_photo_are_not_the_image_class():
    out = mapper().map_image(BUS, {"footballer.n.01"}, BUS_SIZE)
    people = [m for (label, _), m in zip(BUS, out) if label == "person"]
    # four people of similar size, no football: nobody stands out as the photo's subject
    assert [m.synset for m in people] == ["person.n.01"] * 4
    assert {m.rule for m in people} == {"refined"}


def test_the_attribute_object_picks_the_person_it_touches():
    out = mapper().map_image(BUS, {"skateboarder.n.01"}, BUS_SIZE)
    assert synsets(out) == ["skateboarder.n.01", "person.n.01", "person.n.01", None, "person.n.01", "skateboard.n.01"]
    assert out[0] == Mapped("skateboarder.n.01", "harvest")


def test_a_subject_that_stands_out_keeps_the_class():
    out = mapper().map_image(ZIDANE, {"footballer.n.01"}, ZIDANE_SIZE)
    assert synsets(out)[:2] == ["footballer.n.01", "person.n.01"]


def test_one_person_is_the_image_class_and_exact_matches_are_untouched():
    assert mapper().map_image([("person", (300, 100, 500, 700))], {"tennis_player.n.01"}, (720, 1280)) == \
        [Mapped("tennis_player.n.01", "harvest")]
    # harvested for person itself: every person is one, however many
    out = mapper().map_image(BUS, {"person.n.01"}, BUS_SIZE)
    assert synsets(out).count("person.n.01") == 4


def test_evidence_for_several_players():
    """A tennis doubles: each player holding a racket keeps the class; a spectator does not."""
    racket = next(c for c in DOMAIN if c.synset == "tennis_racket.n.01")
    assert "tennis_player.n.01" in racket.attribute_of
    dets = [("person", (100, 200, 300, 700)), ("tennis racket", (280, 300, 360, 420)),
            ("person", (800, 220, 980, 690)), ("tennis racket", (760, 500, 830, 600)),
            ("person", (1150, 50, 1200, 160))]
    out = LabelMapper(DOMAIN, closure=lambda s: PERSON_UP if s == "person.n.01" else frozenset()).map_image(
        dets, {TENNIS_PLAYER.synset}, (720, 1280))
    assert synsets(out) == ["tennis_player.n.01", "tennis_racket.n.01", "tennis_player.n.01", "tennis_racket.n.01",
                            "person.n.01"]


def test_drop_policy_drops_the_refined_when_no_class_holds_them():
    domain = [TENNIS_PLAYER, FOOTBALLER]  # no person class to keep them under
    out = LabelMapper(domain, policy="drop", closure=lambda s: PERSON_UP if s == "person.n.01" else frozenset()
                      ).map_image(BUS[:3], {"footballer.n.01"}, BUS_SIZE)
    assert out == [None, None, None]
    assert ATHLETE_UP  # the closures used above are WordNet's, trimmed


@pytest.mark.slow
def test_real_photos_with_yolov8n(store, shared_dir):
    """bus.jpg and zidane.jpg through `annotate_domain` with the real yolov8n-seg model, in a store
    whose images were harvested for tennis players (the fixture): the pedestrians of bus.jpg stay
    persons; in zidane.jpg the man in front, much the larger and central, is the subject."""
    from sqlalchemy import select

    from annotators.registry import load_annotator
    from corpus.annotate import AnnotateOptions, annotate_domain
    from corpus.store import models as m
    from corpus.store.db import session_scope

    engine, data, ids = store
    model = load_annotator(str(shared_dir / "models" / "yolov8n-seg.pt"))
    summary = annotate_domain(engine, model, "testsport", data, AnnotateOptions(batch_size=2))
    assert summary.per_rule["refined"] >= 4
    with session_scope(engine) as s:
        def people(key):
            rows = s.scalars(select(m.Proposal).where(m.Proposal.image_id == ids[key], m.Proposal.detector_label == "person")
                             .order_by(m.Proposal.bbox_w * m.Proposal.bbox_h))
            return [(p.class_id, p.params["mapping"]) for p in rows]

        assert people("bus") == [(ids["person"], "refined")] * 4
        # yolov8n's box for the man in front is wide (score 0.93 vs 0.44: he stands out); other models
        # draw it narrower and both stay persons (docs/annotate.md). Never both tennis players.
        zidane = people("zidane")
        assert len(zidane) == 2 and zidane[0] == (ids["person"], "refined")
        assert zidane[-1] in ((ids["player"], "harvest"), (ids["person"], "refined"))
