"""Test support for the harvest pipeline: real image bytes, a small image API served by a real
local HTTP server, a client for it (a real :class:`corpus.sources.base.Source` talking HTTP), and
a seeded domain in a real SQLite store.

The API (``/<name>/search?q=..&page=..&per_page=..``) returns ``{"hits": [...], "next": int|null}``;
each hit names the image path on the same server and a license code.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from PIL import Image

from corpus.licenses import attribution_line, from_code
from corpus.sources.base import Hit, Page


def make_jpeg(seed: int, size: tuple[int, int] = (640, 480), quality: int = 85, exif: Image.Exif | None = None) -> bytes:
    """A distinct photo-like JPEG: random low-frequency blocks, so pHashes differ between seeds."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    im = Image.fromarray(coarse, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    noise = rng.integers(-12, 12, size=(h, w, 3))
    arr = np.clip(np.asarray(im, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    kw: dict[str, Any] = {"quality": quality}
    if exif is not None:
        kw["exif"] = exif
    Image.fromarray(arr, "RGB").save(out, "JPEG", **kw)
    return out.getvalue()


def make_png(seed: int, size: tuple[int, int] = (400, 300)) -> bytes:
    im = Image.open(io.BytesIO(make_jpeg(seed, size)))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def make_bomb() -> bytes:
    """A real PNG of 8000 x 8000 one-bit pixels: a few kilobytes that decode to 64 megapixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG", optimize=True)
    return out.getvalue()


@dataclass
class Item:
    id: str
    path: str  # served at this path of the server
    license: str = "CC-BY-4.0"
    title: str = ""
    author: str = "Ann Author"


@dataclass
class FakeApi:
    """Search results per (source name, query text): what ``LocalSource`` reads."""

    results: dict[tuple[str, str], list[Item]] = field(default_factory=dict)
    delay_s: float = 0.0

    def add(self, source: str, query: str, items: list[Item]) -> None:
        self.results.setdefault((source, query), []).extend(items)

    def install(self, httpserver, name: str) -> None:
        from werkzeug.wrappers import Response

        def handler(request):
            if self.delay_s:
                time.sleep(self.delay_s)
            q = request.args.get("q", "")
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("per_page", "50"))
            items = self.results.get((name, q), [])
            chunk = items[(page - 1) * per_page: page * per_page]
            body = {
                "hits": [vars(i) for i in chunk],
                "next": page + 1 if page * per_page < len(items) else None,
            }
            return Response(json.dumps(body), content_type="application/json")

        httpserver.expect_request(f"/{name}/search").respond_with_handler(handler)


class LocalSource:
    """A real image-source client for :class:`FakeApi` (the pipeline's tests run against it)."""

    def __init__(self, name: str, base_url: str, languages: dict[str, str] | None = None, terms: str = "test terms") -> None:
        self.name = name
        self.terms = terms
        self.base_url = base_url.rstrip("/")
        self.languages = languages
        self.client = httpx.Client(timeout=10)
        self.calls: list[tuple[str, str, Any]] = []

    def search_language(self, lang: str) -> str | None:
        if self.languages is None:
            return ""
        return self.languages.get(lang)

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        page = int((state or {}).get("page", 1))
        self.calls.append((query, lang, state))
        r = self.client.get(f"{self.base_url}/{self.name}/search", params={"q": query, "page": page, "per_page": per_page})
        r.raise_for_status()
        data = r.json()
        hits = []
        for rank, h in enumerate(data["hits"], start=(page - 1) * per_page + 1):
            lic = from_code(h["license"])
            url = h["path"] if h["path"].startswith("http") else f"{self.base_url}{h['path']}"
            hits.append(Hit(
                source=self.name, source_image_id=h["id"], file_url=url, landing_url=f"{self.base_url}/page/{h['id']}",
                license=lic, license_raw=h["license"], author=h["author"], author_raw=h["author"],
                attribution=attribution_line(h["title"], h["author"], lic, "", self.name), title=h["title"], rank=rank,
            ))
        nxt = data["next"]
        return Page(hits, {"page": nxt} if nxt else None)

    def close(self) -> None:
        self.client.close()


def serve_image(httpserver, path: str, data: bytes, content_type: str = "image/jpeg", status: int = 200,
                headers: dict[str, str] | None = None, delay_s: float = 0.0) -> None:
    from werkzeug.wrappers import Response

    def handler(request):
        if delay_s:
            time.sleep(delay_s)
        return Response(data, status=status, content_type=content_type, headers=headers or {})

    httpserver.expect_request(path).respond_with_handler(handler)


def onto_class(synset: str, name: str, kind: str, lemmas: dict[str, tuple[str, ...]], class_id: int | None = None):
    """An ontology class with these lemmas per language (what the harvest plans from)."""
    from ontology.model import LabelData, OntologyClassData

    return OntologyClassData(synset, kind, name, labels={lang: LabelData(tuple(l), None, "") for lang, l in lemmas.items()},
                             class_id=class_id)


def seed_domain(engine, name: str = "sport", classes: list[tuple[str, str, dict[str, list[str]]]] | None = None) -> dict[str, int]:
    """Domain, classes and labels rows; returns class ids by synset."""
    from sqlalchemy.orm import Session

    from corpus.store.models import Domain, Label, OntologyClass

    classes = classes or [("tennis_player.n.01", "tennis player", {"en": ["tennis player"], "bg": ["тенисист"]})]
    out = {}
    with Session(engine) as s:
        dom = Domain(name=name, description="test", root_synsets=[])
        s.add(dom)
        s.flush()
        for synset, cname, lemmas in classes:
            c = OntologyClass(domain_id=dom.id, synset=synset, kind="dominant", name=cname)
            s.add(c)
            s.flush()
            for lang, lems in lemmas.items():
                s.add(Label(class_id=c.id, lang=lang, lemmas=lems, source="test"))
            out[synset] = c.id
        s.commit()
    return out


def settings_for(data_dir, db_url: str, file_concurrency: int = 4, names: tuple[str, ...] = ("alpha", "beta")):
    from corpus.config import Settings, SourceSettings

    sources = {n: SourceSettings(n, "", file_concurrency=file_concurrency, timeout_s=5.0) for n in names}
    return Settings(db_url=db_url, data_dir=data_dir, sources=sources)


def drip_image(httpserver, path, data: bytes, bytes_per_s: int = 200, started: list | None = None,
               content_type: str = "image/jpeg") -> None:
    """Serve ``data`` at ``bytes_per_s``, in small pieces as a slow or hostile server does (a read
    timeout never fires). ``started`` collects the path of each request as it begins."""
    from werkzeug.wrappers import Response

    step = max(1, bytes_per_s // 10)

    def handler(request):
        if started is not None:
            started.append(request.path)

        def body():
            for i in range(0, len(data), step):
                time.sleep(0.1)
                yield data[i:i + step]

        return Response(body(), content_type=content_type, headers={"Content-Length": str(len(data))},
                        direct_passthrough=True)

    httpserver.expect_request(path).respond_with_handler(handler)
