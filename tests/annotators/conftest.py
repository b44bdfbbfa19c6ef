"""Fixtures for the annotator tests: the real ONNX model, real photos, an offline ultralytics."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from corpus.store import models as m
from corpus.store.db import make_engine, session_scope

# ultralytics must never reach the network here and needs its fonts locally (it would download
# Arial.ttf); set before any test imports it.
_YOLO_DIR = Path(tempfile.gettempdir()) / "mic-corpus-yolo-config"
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", str(_YOLO_DIR))


def _fonts() -> None:
    target = Path(os.environ["YOLO_CONFIG_DIR"])
    target.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib
    except ImportError:
        return
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if font.is_file() and not (target / name).exists():
            shutil.copyfile(font, target / name)


_fonts()


@pytest.fixture(scope="session")
def yolo_onnx(shared_dir) -> Path:
    """The real COCO yolov5s-seg ONNX model (shared/models/README.md)."""
    path = Path(os.environ.get("CORPUS_TEST_ONNX_MODEL", shared_dir / "models" / "yolov5s-seg.onnx"))
    if not path.is_file():
        pytest.fail(f"test model {path} not found; set CORPUS_TEST_ONNX_MODEL or provide ../shared/models/")
    return path


@pytest.fixture(scope="session")
def assets() -> Path:
    """Real photos shipped inside the ultralytics package (bus.jpg, zidane.jpg)."""
    ultralytics = pytest.importorskip("ultralytics", reason="the sample photos ship with ultralytics (the yolo extra)")
    path = Path(ultralytics.__file__).parent / "assets"
    if not (path / "bus.jpg").is_file():
        pytest.fail(f"{path}/bus.jpg not found in the installed ultralytics package")
    return path


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
