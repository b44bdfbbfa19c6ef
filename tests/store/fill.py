"""Rows in every table, for migration and constraint tests."""

from __future__ import annotations

from corpus.store import models as m


def fill(session) -> dict[str, int]:
    dom = m.Domain(name="sport", description="Sport", root_synsets=["sport.n.01"])
    session.add(dom)
    session.flush()
    person = m.OntologyClass(domain_id=dom.id, synset="person.n.01", kind="parent", name="person")
    player = m.OntologyClass(domain_id=dom.id, synset="tennis_player.n.01", kind="dominant", name="tennis player",
                             origin_synset="tennis.n.01", category_id=1)
    racket = m.OntologyClass(domain_id=dom.id, synset="tennis_racket.n.01", kind="attribute", name="tennis racket")
    session.add_all([person, player, racket])
    session.flush()
    session.add_all([
        m.ClassRelation(class_id=player.id, related_id=person.id, relation="hypernym"),
        m.ClassRelation(class_id=racket.id, related_id=player.id, relation="attribute_of"),
        m.Label(class_id=player.id, lang="bg", lemmas=["тенисист"], definition=None, source="omw:bul"),
    ])
    src = m.Source(name="commons", base_url="http://127.0.0.1/w/api.php")
    session.add(src)
    session.flush()
    run = m.HarvestRun(domain_id=dom.id, params={"per_class": 5})
    session.add(run)
    session.flush()
    q = m.HarvestQuery(class_id=player.id, lang="bg", source_id=src.id, query_text="тенисист", run_id=run.id,
                       page_state={"gsroffset": 20})
    session.add(q)
    session.flush()
    img = m.Image(source_id=src.id, source_image_id="File:A.jpg", sha1="a" * 40, license_code="CC-BY-SA-4.0",
                  license_url="https://creativecommons.org/licenses/by-sa/4.0/", author="Ann",
                  attribution='"A" by Ann, CC BY-SA 4.0', status="stored", width=640, height=480,
                  local_path="images/aa/aa/" + "a" * 40 + ".jpg")
    session.add(img)
    session.flush()
    session.add(m.ImageHit(image_id=img.id, query_id=q.id, source_image_id="File:A.jpg", rank=1))
    prop = m.Proposal(image_id=img.id, class_id=player.id, detector_label="person", model_name="yolov5s-seg",
                      model_version="sha256:00", score=0.9, bbox_x=1, bbox_y=2, bbox_w=3, bbox_h=4,
                      mask_rle={"size": [480, 640], "counts": "abc"})
    session.add(prop)
    session.add(m.AnnotatedImage(image_id=img.id, model_name="yolov5s-seg", model_version="sha256:00", n_proposals=1))
    session.flush()
    ann = m.Annotation(image_id=img.id, class_id=player.id, bbox_x=1, bbox_y=2, bbox_w=3, bbox_h=4,
                       segmentation=[[1, 2, 4, 2, 4, 6]], area=6.0, origin="proposal", proposal_id=prop.id)
    session.add(ann)
    session.flush()
    session.add(m.ReviewEvent(annotation_id=ann.id, who="tester", action="create", after={"status": "pending"}))
    session.commit()
    return {"domain": dom.id, "image": img.id, "annotation": ann.id, "source": src.id, "class": player.id}
