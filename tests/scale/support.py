"""Stores and models for the scale-out tests (importable by Ray workers and child processes)."""

from __future__ import annotations

import os
import signal
import shutil
from pathlib import Path

from annotators.onnx_yolo import OnnxYoloSeg


def photo_store(engine, data: Path, shared_dir: Path, n: int = 6) -> dict[str, int]:
    """Domain 'sport' (tennis player, person) with ``n`` stored photos made from bus.jpg and
    zidane.jpg (mirrored and scaled copies, so each is its own image), found by one query."""
    from PIL import Image as PILImage

    (data / "img").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        src = shared_dir / "images" / ("bus.jpg" if i % 2 == 0 else "zidane.jpg")
        name = f"img/{i}.jpg"
        if i < 2:
            shutil.copyfile(src, data / name)
        else:
            with PILImage.open(src) as im:
                im = im.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT) if i % 4 >= 2 else im
                scale = 1.0 - 0.05 * ((i // 2) % 8)
                im.resize((int(im.width * scale), int(im.height * scale))).save(data / name, quality=90)
        names.append(name)
    return photo_rows(engine, names)


def photo_rows(engine, names: list[str], domain: str = "sport") -> dict[str, int]:
    """Domain ``domain`` (tennis player, a person) whose one query found the stored images
    ``names`` (paths under the data folder): {name: image id}. bench/annotate.py makes its store
    with it too."""
    from corpus.store import models as m
    from corpus.store.db import session_scope

    with session_scope(engine) as s:
        dom = m.Domain(name=domain)
        s.add(dom)
        s.flush()
        person = m.OntologyClass(domain_id=dom.id, synset="person.n.01", kind="parent", name="person")
        player = m.OntologyClass(domain_id=dom.id, synset="tennis_player.n.01", kind="dominant", name="tennis player")
        s.add_all([person, player])
        s.flush()
        s.add(m.ClassRelation(class_id=player.id, related_id=person.id, relation="hypernym"))
        src_row = m.Source(name="commons")
        s.add(src_row)
        s.flush()
        q = m.HarvestQuery(class_id=player.id, lang="en", source_id=src_row.id, query_text="tennis player")
        s.add(q)
        s.flush()
        ids = {}
        for i, name in enumerate(names):
            img = m.Image(source_id=src_row.id, source_image_id=str(i), license_code="CC-BY-4.0", local_path=name,
                          status="stored", sha1=f"{i:040x}")
            s.add(img)
            s.flush()
            s.add(m.ImageHit(image_id=img.id, query_id=q.id))
            ids[name] = img.id
    return ids


def proposals(engine) -> list[tuple]:
    """Every proposal as comparable values (the store ids aside), sorted."""
    from sqlalchemy import select

    from corpus.store import models as m
    from corpus.store.db import session_scope

    with session_scope(engine) as s:
        rows = s.scalars(select(m.Proposal)).all()
        return sorted((p.image_id, p.class_id or 0, p.detector_label, round(p.score, 4), round(p.bbox_x, 1), round(p.bbox_y, 1),
                       round(p.bbox_w, 1), round(p.bbox_h, 1), p.area, p.mask_rle["counts"], p.model_version,
                       repr(sorted(p.params.items()))) for p in rows)


class DiesOnce(OnnxYoloSeg):
    """The real model, in a worker that kills its own process (SIGKILL) on its second batch,
    once in the whole test: ``marker`` records that it happened."""

    def __init__(self, path, marker: str, **kw) -> None:
        super().__init__(path, **kw)
        self._marker = marker
        self._calls = 0

    def annotate(self, images):
        self._calls += 1
        if self._calls == 2:
            try:
                fd = os.open(self._marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().annotate(images)
