"""Fixtures for the annotator tests (the model, photos and offline ultralytics are in tests/conftest.py)."""

from __future__ import annotations

import shutil

import pytest

from corpus.store import models as m
from corpus.store.db import make_engine, session_scope


@pytest.fixture(scope="session")
def torch_threads():
    torch = pytest.importorskip("torch", reason="needs the torchvision extra")
    torch.set_num_threads(2)
    return torch


@pytest.fixture
def store(db_url, tmp_path, assets):
    """Domain 'testsport' with images of a tennis player harvest (bus.jpg, zidane.jpg, a blank
    picture, a missing file), plus images that must not be selected."""
    from PIL import Image as PILImage

    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    shutil.copyfile(assets / "bus.jpg", data / "img" / "bus.jpg")
    shutil.copyfile(assets / "zidane.jpg", data / "img" / "zidane.jpg")
    PILImage.new("RGB", (320, 240), (0, 0, 0)).save(data / "img" / "blank.png")
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        dom = m.Domain(name="testsport")
        other = m.Domain(name="other")
        s.add_all([dom, other])
        s.flush()
        person = m.OntologyClass(domain_id=dom.id, synset="person.n.01", kind="parent", name="person")
        player = m.OntologyClass(domain_id=dom.id, synset="tennis_player.n.01", kind="dominant", name="tennis player")
        racket = m.OntologyClass(domain_id=dom.id, synset="tennis_racket.n.01", kind="attribute", name="tennis racket")
        car = m.OntologyClass(domain_id=other.id, synset="car.n.01", kind="dominant", name="car")
        s.add_all([person, player, racket, car])
        s.flush()
        s.add_all([m.ClassRelation(class_id=player.id, related_id=person.id, relation="hypernym"),
                   m.ClassRelation(class_id=racket.id, related_id=player.id, relation="attribute_of")])
        src = m.Source(name="commons")
        s.add(src)
        s.flush()
        q = m.HarvestQuery(class_id=player.id, lang="en", source_id=src.id, query_text="tennis player")
        q_other = m.HarvestQuery(class_id=car.id, lang="en", source_id=src.id, query_text="car")
        s.add_all([q, q_other])
        s.flush()
        ids = {}
        for key, path, status, query in [
            ("bus", "img/bus.jpg", "stored", q), ("zidane", "img/zidane.jpg", "stored", q),
            ("blank", "img/blank.png", "stored", q), ("missing", "img/gone.jpg", "stored", q),
            ("pending", "img/bus.jpg", "pending", q), ("other", "img/zidane.jpg", "stored", q_other),
        ]:
            img = m.Image(source_id=src.id, source_image_id=key, license_code="CC-BY-4.0", local_path=path,
                          status=status, sha1=key.ljust(40, "0"))
            s.add(img)
            s.flush()
            s.add(m.ImageHit(image_id=img.id, query_id=query.id))
            ids[key] = img.id
        ids["player"], ids["person"] = player.id, person.id
    yield engine, data, ids
    engine.dispose()
