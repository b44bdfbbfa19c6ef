"""Fixtures shared by every test package: real SQLite stores, the shared test data (WordNet, the
real models and photos in ../shared), an offline ultralytics."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("CORPUS_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()

# WordNet data for the ontology tests; a user's machine uses nltk.download() instead.
if (SHARED_DIR / "nltk_data").is_dir():
    os.environ.setdefault("NLTK_DATA", str(SHARED_DIR / "nltk_data"))
# CILI and Galnet for the ontology build, FreeDict dictionaries (scripts/fetch_freedict.sh)
if (SHARED_DIR / "lexicons").is_dir():
    os.environ.setdefault("CORPUS_LEXICONS", str(SHARED_DIR / "lexicons"))
FREEDICT_CACHE = Path.home() / ".cache" / "mic-corpus" / "freedict"
if FREEDICT_CACHE.is_dir() and any(FREEDICT_CACHE.glob("freedict-*.index")):
    os.environ.setdefault("CORPUS_FREEDICT", str(FREEDICT_CACHE))

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
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared test data not found at {SHARED_DIR}; set CORPUS_SHARED_DIR")
    return SHARED_DIR


@pytest.fixture(scope="session")
def assets(shared_dir) -> Path:
    """Real photos: bus.jpg (a bus and four people) and zidane.jpg (two people, a tie), from
    ../shared/images (see its README), so no test needs the ultralytics package to find them."""
    path = shared_dir / "images"
    for name in ("bus.jpg", "zidane.jpg"):
        if not (path / name).is_file():
            pytest.fail(f"test photo {path / name} not found; set CORPUS_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def yolo_onnx(shared_dir) -> Path:
    """The real COCO yolov5s-seg ONNX model (shared/models/README.md)."""
    path = Path(os.environ.get("CORPUS_TEST_ONNX_MODEL", shared_dir / "models" / "yolov5s-seg.onnx"))
    if not path.is_file():
        pytest.fail(f"test model {path} not found; set CORPUS_TEST_ONNX_MODEL or provide ../shared/models/")
    return path


@pytest.fixture
def store(engine, tmp_path):
    """A small real store (tests/coco/builder.py): a domain with non-Latin labels, image files,
    annotations in every review status, proposals of two models. The annotator tests have their own."""
    from tests.coco.builder import build

    return build(engine, tmp_path / "data")


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> Path:
    """Migrate once per session, copy the file per test: migrations take ~0.3 s each."""
    from corpus.store.db import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path, _migrated_template) -> str:
    import shutil

    path = tmp_path / "corpus.db"
    shutil.copyfile(_migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url):
    from corpus.store.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server: $CORPUS_TEST_PG_URL if given, else one started from Debian's
    binaries. Missing binaries skip the test, unless CORPUS_REQUIRE_POSTGRES=1 (as in CI)."""
    from tests.pgserver import PgServer, find_pg_bin

    required = os.environ.get("CORPUS_REQUIRE_POSTGRES") == "1"
    bin_dir = find_pg_bin()
    if bin_dir is None:
        msg = "PostgreSQL server binaries not found (apt-get install postgresql)"
        pytest.fail(msg) if required else pytest.skip(msg)
    server = PgServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A fresh, empty database on the test server."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:50]
    return pg_server.create_database(name)


@pytest.fixture
def wide_console(monkeypatch):
    """Rich wraps at the terminal width (80 under the test runner): CLI output checked as text
    reads one message per line when the consoles are wide."""
    from corpus.commands import common

    monkeypatch.setattr(common.console, "_width", 400)
    monkeypatch.setattr(common.err_console, "_width", 400)


@pytest.fixture
def openverse(httpserver, assets) -> str:
    """A local server standing in for Openverse: a recorded answer (tests/fixtures/api) whose two
    openly licensed hits are the real photos bus.jpg and zidane.jpg. Returns its API base URL
    (for ``CORPUS_OPENVERSE_BASE_URL``)."""
    import json

    answer = json.loads((Path(__file__).parent / "fixtures" / "api" / "openverse_images_page1.json").read_text())
    answer["page_count"] = 1
    for res, photo in zip(answer["results"], ("bus.jpg", "zidane.jpg")):
        res["url"] = httpserver.url_for(f"/files/{photo}")
        httpserver.expect_request(f"/files/{photo}").respond_with_data(
            (assets / photo).read_bytes(), content_type="image/jpeg")
    httpserver.expect_request("/v1/images/").respond_with_json(answer)
    return httpserver.url_for("/v1").rstrip("/")
