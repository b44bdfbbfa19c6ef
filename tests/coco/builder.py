"""A small real store for the COCO tests: a domain with non-Latin labels, real image files on
disk, annotations in every review status, polygons and RLE masks, and proposals of two models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from corpus.store import models as m

W, H = 80, 60


def rle_of_box(x: int, y: int, w: int, h: int) -> dict:
    mask = np.zeros((H, W), dtype=np.uint8, order="F")
    mask[y:y + h, x:x + w] = 1
    rle = mask_utils.encode(mask)
    return {"size": [H, W], "counts": rle["counts"].decode()}


def poly(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


@dataclass
class Store:
    db_url: str
    engine: object
    data_dir: Path
    domain_id: int
    classes: dict[str, int] = field(default_factory=dict)
    images: list[int] = field(default_factory=list)
    anns: dict[str, int] = field(default_factory=dict)


def build(engine, data_dir: Path, n_images: int = 6) -> Store:
    from sqlalchemy.orm import Session

    data_dir.mkdir(parents=True, exist_ok=True)
    with Session(engine) as s:
        dom = m.Domain(name="sport", description="Sport", root_synsets=["sport.n.01"], ontology_version="t1")
        s.add(dom)
        s.flush()
        person = m.OntologyClass(domain_id=dom.id, synset="person.n.01", kind="parent", name="person", category_id=1)
        player = m.OntologyClass(domain_id=dom.id, synset="tennis_player.n.01", kind="dominant", name="tennis player",
                                 origin_synset="tennis.n.01", category_id=2)
        ball = m.OntologyClass(domain_id=dom.id, synset="tennis_ball.n.01", kind="dominant", name="tennis ball",
                               category_id=3)
        racket = m.OntologyClass(domain_id=dom.id, synset="tennis_racket.n.01", kind="attribute", name="tennis racket")
        s.add_all([person, player, ball, racket])
        s.flush()
        s.add_all([
            m.ClassRelation(class_id=player.id, related_id=person.id, relation="hypernym"),
            m.ClassRelation(class_id=racket.id, related_id=player.id, relation="attribute_of"),
            m.Label(class_id=player.id, lang="en", lemmas=["tennis player"], definition="someone who plays tennis", source="omw:eng"),
            m.Label(class_id=player.id, lang="bg", lemmas=["тенисист"], source="omw:bul"),
            m.Label(class_id=player.id, lang="el", lemmas=["τενίστας"], source="omw:ell"),
            m.Label(class_id=player.id, lang="ru", lemmas=["теннисист"], source="extended_omw:wikt"),
            m.Label(class_id=ball.id, lang="bg", lemmas=["тенис топка"], source="omw:bul"),
        ])
        src = m.Source(name="commons", base_url="http://127.0.0.1/w/api.php")
        s.add(src)
        s.flush()
        licenses = [("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
                    ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
                    ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")]
        store = Store(str(engine.url), engine, data_dir, dom.id,
                      classes={"person": person.id, "player": player.id, "ball": ball.id, "racket": racket.id})
        for i in range(n_images):
            code, url = licenses[i % 3]
            if i == n_images - 1:
                code, url = "CC-BY-NC-4.0", "https://creativecommons.org/licenses/by-nc/4.0/"
            sha1 = f"{i:02d}" + "ab" * 19
            rel = f"images/{sha1[:2]}/{sha1}.jpg"
            (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            PILImage.new("RGB", (W, H), (10 * i, 100, 200)).save(data_dir / rel)
            img = m.Image(source_id=src.id, source_image_id=f"File:T{i}.jpg", sha1=sha1, license_code=code,
                          license_url=url, author=f"Автор {i}", attribution=f'"T{i}" by Автор {i}, {code}',
                          landing_url=f"https://commons.wikimedia.org/wiki/File:T{i}.jpg",
                          file_url=f"https://upload.wikimedia.org/T{i}.jpg", status="stored", width=W, height=H,
                          mime="image/jpeg", local_path=rel)
            s.add(img)
            s.flush()
            store.images.append(img.id)
            s.add(m.AnnotatedImage(image_id=img.id, model_name="yolo", model_version="v1", n_proposals=3))
            # Three instances per image: a player (polygon), a ball (RLE), a racket (box only).
            specs = [("player", poly(5, 5, 30, 40), None, (5, 5, 30, 40)),
                     ("ball", None, rle_of_box(50, 10, 10, 10), (50, 10, 10, 10)),
                     ("racket", None, None, (40, 30, 20, 15))]
            statuses = ["accepted", "pending", "edited", "rejected"]
            for j, (cls, pg, rle, box) in enumerate(specs):
                prop = m.Proposal(image_id=img.id, class_id=store.classes[cls], detector_label=cls, model_name="yolo",
                                  model_version="v1", score=0.5 + 0.1 * j, bbox_x=box[0], bbox_y=box[1],
                                  bbox_w=box[2], bbox_h=box[3], mask_rle=rle_of_box(*box), area=box[2] * box[3])
                s.add(prop)
                s.flush()
                ann = m.Annotation(image_id=img.id, class_id=store.classes[cls], bbox_x=box[0], bbox_y=box[1],
                                   bbox_w=box[2], bbox_h=box[3], segmentation=pg if pg is not None else rle,
                                   area=float(box[2] * box[3]), origin="proposal", proposal_id=prop.id,
                                   status=statuses[(i + j) % 4] if i < n_images - 2 else "pending")
                s.add(ann)
                s.flush()
                store.anns[f"{i}:{cls}"] = ann.id
        s.commit()
    return store


# -- traps for the tools that read the exports (tests/coco/test_export_integrity.py and
#    bench/check_clients.py build the same ones) --------------------------------------------------

def add_name_clash(store: Store, case_clash: bool = False) -> None:
    """Two classes both named "swimmer" (category ids 10 and 11), an accepted annotation of each on
    the first image: Datumaro refuses a file whose category names repeat. ``case_clash`` adds
    "Tennis Player" (id 12, no annotation), which differs from "tennis player" by case only."""
    from sqlalchemy.orm import Session

    with Session(store.engine) as s:
        for synset, cid in (("swimmer.n.01", 10), ("swimmer.n.02", 11)):
            c = m.OntologyClass(domain_id=store.domain_id, synset=synset, kind="dominant", name="swimmer",
                                category_id=cid)
            s.add(c)
            s.flush()
            s.add(m.Annotation(image_id=store.images[0], class_id=c.id, bbox_x=2, bbox_y=2, bbox_w=6, bbox_h=6,
                               segmentation=poly(2, 2, 6, 6), area=36, origin="manual", status="accepted"))
        if case_clash:
            s.add(m.OntologyClass(domain_id=store.domain_id, synset="tennis_player.n.99", kind="dominant",
                                  name="Tennis Player", category_id=12))
        s.commit()


def add_mask_beyond_box(store: Store, image: int = 0) -> int:
    """An accepted tennis ball from a proposal on ``store.images[image]`` whose detector box
    (44, 22, 8 x 5) is smaller than its RLE mask (x 40..54, y 20..29: 150 pixels): FiftyOne crops
    masks to the box, so the export must carry the mask's bounds. Returns the annotation's id."""
    from sqlalchemy.orm import Session

    with Session(store.engine) as s:
        a = m.Annotation(image_id=store.images[image], class_id=store.classes["ball"], bbox_x=44, bbox_y=22,
                         bbox_w=8, bbox_h=5, segmentation=rle_of_box(40, 20, 15, 10), area=150, origin="proposal",
                         status="accepted")
        s.add(a)
        s.commit()
        return a.id
