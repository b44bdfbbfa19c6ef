"""The review web app: pages and a JSON API over the store (FastAPI).

Every write goes through :mod:`corpus.review` (the functions the CLI calls) inside one
transaction, with the version the reviewer saw, so a decision made on a stale view is refused
(HTTP 409) instead of overwriting someone else's. Events are recorded with origin ``web``.

Safety: a reviewer names themself (and gives the operator's token when one is set) before
anything else; every write needs the session's CSRF token in a header (or form field for the
login) and, when the browser sends one, an Origin of this very app; images are served by store
id only, from files under the data folder.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import numpy as np
from fastapi import Body, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from corpus import review as rv
from corpus import masks
from corpus.storage import StorageError, _check_rel, as_data_dir, open_storage
from corpus.store.db import session_scope
from corpus.store.models import REVIEW_STATUSES, Annotation, Image, OntologyClass, Proposal
from corpus.web import i18n
from corpus.instances import Instance
from corpus.masks import rle_outline
from corpus.web.i18n import N_
from corpus.web.names import class_names, search_classes
from corpus.web.queue import DONE_CHOICES, QueueFilter, model_names, neighbours, progress, review_queue

HERE = Path(__file__).resolve().parent
ORIGIN = "web"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_NAME = 64
PAGE = 50
MAX_BODY = 1024 * 1024  # bytes of one request body
THUMB = 160  # pixels, the longer side of a queue thumbnail
THUMB_CACHE = 2000  # thumbnails kept in memory
PROGRESS_TTL = 20.0  # seconds a progress count is shown before it is counted again

# Strings the browser shows, translated per reviewer and handed to app.js.
JS_STRINGS = {
    "conflict": N_("Someone else changed this annotation meanwhile. The page now shows their version; decide again."),
    "error": N_("Not done:"),
    "saved": N_("Saved."),
    "undone": N_("Last decision undone."),
    "nothing_to_undo": N_("Nothing to undo."),
    "done": N_("Image marked done."),
    "not_done": N_("Image no longer done."),
    "pending_left": N_("pending annotations stay pending on it:"),
    "pick_class": N_("Choose a class"),
    "search": N_("Search names and synonyms"),
    "no_match": N_("No class matches."),
    "fallback": N_("no name in your language; English shown"),
    "draw_polygon_hint": N_("Click to add points; Enter or a click on the first point closes the polygon; Esc cancels."),
    "draw_box_hint": N_("Drag to draw a box; Esc cancels."),
    "edit_hint": N_("Drag the vertices; double-click adds a vertex on an edge or removes one; Enter saves, Esc cancels."),
    "select_first": N_("Select an instance first."),
    "too_few_points": N_("A polygon needs at least three points."),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
    "edited": N_("edited"),
    "pending": N_("pending"),
    "score": N_("score"),
    "by": N_("by"),
}


class Problem(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Decision(_Body):
    version: int = Field(description="The annotation's version the reviewer saw")
    note: str = Field("", max_length=2000)


class Relabel(Decision):
    class_id: int


class Edit(Decision):
    # Shapes stay untyped here: corpus.review checks them exactly as for the CLI.
    segmentation: Any = None
    bbox: list[Any] | None = None


class Done(_Body):
    done: bool = True
    note: str = Field("", max_length=2000)


class Add(_Body):
    class_id: int
    segmentation: Any = None
    bbox: list[Any] | None = None
    note: str = Field("", max_length=2000)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes (413) before they are read into memory: a
    drawn shape is a few kilobytes, so anything near a megabyte is a mistake or an attack."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._refuse(send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"request body over {self.limit // 1024} KiB; nothing was changed"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


@dataclass
class Config:
    engine: Engine
    data_dir: Path | str  # a folder, or an fsspec URL (corpus.storage)
    domain_id: int
    domain_name: str
    lang: str
    token: str | None


def valid_name(name: str) -> str | None:
    """A reviewer name as recorded in the log: 1-64 printable characters."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in name):
        return None
    return name


def _public_origin(url: str) -> tuple[str, str]:
    """(origin, host name) of a public URL such as ``https://review.example.org``; ValueError
    unless it is an http(s) address of the site's root."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the public URL must be an http(s) address of the app's root, such as "
                         f"https://review.example.org, not {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}", parts.hostname.lower()


def create_app(engine: Engine, data_dir: Path | str, *, domain: str | None = None, lang: str = "en",
               token: str | None = None, secret: str | None = None,
               allowed_hosts: list[str] | None = None, public_url: str | None = None) -> FastAPI:
    """The app over ``engine``'s store, for one domain (the only one when ``domain`` is None).

    ``token``: what reviewers must give to start (required by the CLI when listening beyond
    localhost). ``allowed_hosts``: Host headers to answer (default: the loopback names, which
    keeps pages on other sites from reaching a local app through DNS rebinding).
    ``public_url``: the address reviewers open when a reverse proxy forwards to the app (say
    ``https://review.example.org``): browsers send that origin with their writes, which is not
    the app's own scheme and Host, so it is accepted too, and its host name is answered."""
    from corpus.store.queries import resolve_domain

    public_origin, public_host = _public_origin(public_url) if public_url else (None, None)
    hosts = list(allowed_hosts or [*LOOPBACK, "[::1]"])
    if public_host and "*" not in hosts:
        hosts.append(public_host)
    with Session(engine) as s:
        dom = resolve_domain(s, domain)
        cfg = Config(engine, as_data_dir(data_dir), dom.id, dom.name, lang, token or None)
    factory = sessionmaker(engine, expire_on_commit=False)

    app = FastAPI(title="MIC Corpus review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.cfg = cfg
    app.add_middleware(SessionMiddleware, secret_key=secret or secrets.token_urlsafe(32),
                       session_cookie="corpus_review", same_site="strict", max_age=12 * 3600)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])

    # -- helpers ---------------------------------------------------------------------------

    def ui_lang(request: Request) -> str:
        return request.session.get("lang") or cfg.lang

    def gettext_for(request: Request) -> Callable[[str], str]:
        return i18n.translations(ui_lang(request)).gettext

    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return tok

    def who(request: Request) -> str:
        name = request.session.get("who")
        if not name:
            _ = gettext_for(request)
            raise Problem(401, _("Name yourself first: open the start page."))
        return name

    def check_write(request: Request, sent: str | None) -> None:
        """CSRF: the session's token must come back, and a browser's Origin must be ours (the
        app's own address, or the public one a proxy serves it at)."""
        origin = request.headers.get("origin")
        if (origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}"
                and origin != public_origin):
            raise Problem(403, f"cross-site request refused (Origin {origin})")
        tok = request.session.get("csrf")
        if not tok or not sent or not hmac.compare_digest(tok.encode(), sent.encode()):
            raise Problem(403, "missing or wrong CSRF token; reload the page")

    def write_guard(request: Request) -> str:
        check_write(request, request.headers.get("x-csrf-token"))
        return who(request)

    def render(request: Request, template: str, **ctx: Any) -> HTMLResponse:
        lang = ui_lang(request)
        tr = i18n.translations(lang)
        strings = {k: tr.gettext(v) for k, v in JS_STRINGS.items()}
        html = env.get_template(template).render(
            _=tr.gettext, gettext=tr.gettext, ngettext=tr.ngettext, request=request, lang=lang,
            csrf=csrf_token(request), reviewer=request.session.get("who"), domain=cfg.domain_name,
            js_config={"csrf": csrf_token(request), "lang": lang, "strings": strings}, **ctx)
        return HTMLResponse(html)

    def read(fn: Callable[[Session], Any]) -> Any:
        with factory() as s:
            return fn(s)

    # Progress counts every annotation of the domain (an index scan: ~0.4 s for a million), so
    # pages share one count for PROGRESS_TTL seconds; a decision made here refreshes it at once.
    progress_cache: dict[str, Any] = {"at": -PROGRESS_TTL, "value": None}
    progress_lock = threading.Lock()

    def current_progress() -> tuple:
        with progress_lock:
            if time.monotonic() - progress_cache["at"] >= PROGRESS_TTL or progress_cache["value"] is None:
                progress_cache["value"] = read(lambda s: progress(s, cfg.domain_id))
                progress_cache["at"] = time.monotonic()
            return progress_cache["value"]

    def write(fn: Callable[[Session], Any]) -> Any:
        try:
            with session_scope(cfg.engine) as s:
                return fn(s)
        finally:
            progress_cache["value"] = None

    def queue_filter(status: str | None, class_id: int | None, model: str | None, done: str = "todo") -> QueueFilter:
        try:
            return QueueFilter(rv.parse_review_statuses(status or "pending"), class_id, model or None, done)
        except ValueError as exc:
            raise Problem(400, str(exc)) from None

    def annotation_in_domain(s: Session, annotation_id: int) -> Annotation:
        ann = s.get(Annotation, annotation_id)
        if ann is None or s.get(OntologyClass, ann.class_id).domain_id != cfg.domain_id:
            raise Problem(404, f"annotation {annotation_id} does not exist in domain {cfg.domain_name}")
        return ann

    def class_in_domain(s: Session, class_id: int) -> OntologyClass:
        cls = s.get(OntologyClass, class_id)
        if cls is None or cls.domain_id != cfg.domain_id:
            raise Problem(404, f"class {class_id} does not exist in domain {cfg.domain_name}")
        return cls

    def image_row(s: Session, image_id: int) -> Image:
        img = s.get(Image, image_id)
        if img is None:
            raise Problem(404, f"image {image_id} does not exist")
        return img

    def image_state(s: Session, image_id: int, lang: str) -> dict:
        img = image_row(s, image_id)
        anns = list(s.scalars(select(Annotation).where(Annotation.image_id == image_id).order_by(Annotation.id)))
        names = class_names(s, cfg.domain_id, lang, sorted({a.class_id for a in anns}))
        anns = [a for a in anns if a.class_id in names]  # only this domain's instances
        pids = [a.proposal_id for a in anns if a.proposal_id]
        props = {p.id: p for p in s.scalars(select(Proposal).where(Proposal.id.in_(pids)))} if pids else {}
        return {
            "done": rv.is_image_done(s, image_id),
            "image": {"id": img.id, "width": img.width, "height": img.height, "url": f"/files/{img.id}",
                      "title": img.title, "license": img.license_code, "license_url": img.license_url,
                      "author": img.author, "attribution": img.attribution, "landing_url": img.landing_url},
            "instances": [_instance(a, img, names.get(a.class_id), props.get(a.proposal_id)) for a in anns],
        }

    thumbs: dict[int, bytes] = {}  # image id -> JPEG, oldest first
    thumbs_lock = threading.Lock()

    # -- errors ----------------------------------------------------------------------------

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        if exc.status == 401 and not request.url.path.startswith(("/api/", "/files/")):
            return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status)

    @app.exception_handler(rv.ReviewConflict)
    async def _conflict(request: Request, exc: rv.ReviewConflict) -> Response:
        return JSONResponse({"error": str(exc), "conflict": True}, status_code=409)

    @app.exception_handler(rv.ReviewError)
    async def _review_error(request: Request, exc: rv.ReviewError) -> Response:
        status = 404 if "does not exist" in str(exc) else 400
        return JSONResponse({"error": f"{exc}; nothing was changed"}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        return JSONResponse({"error": "; ".join(parts) + "; nothing was changed"}, status_code=422)

    # -- pages -----------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
        lang = ui_lang(request)
        return render(request, "login.html", next=_local(next), error=error, need_token=cfg.token is not None,
                      languages=[(code, i18n.language_name(code, lang)) for code in _name_languages()],
                      current_name=request.session.get("who") or "")

    @app.post("/login")
    def login(request: Request, name: str = Form(""), token: str = Form(""), lang: str = Form(""),
              csrf: str = Form(""), next: str = Form("/")) -> Response:
        check_write(request, csrf)
        _ = gettext_for(request)
        if cfg.token is not None and not hmac.compare_digest(token.encode(), cfg.token.encode()):
            return login_page(request, next, _("Wrong token. Ask the operator for the token of this app."))
        clean = valid_name(name)
        if clean is None:
            return login_page(request, next, _("Give your name (1 to 64 letters), as the review log will show it."))
        request.session["who"] = clean
        if lang in _name_languages():
            request.session["lang"] = lang
        request.session["csrf"] = secrets.token_urlsafe(24)  # a new session, a new token
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        check_write(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def queue_page(request: Request, status: str = "pending", class_id: int | None = None,
                   model: str | None = None, done: str = "todo", offset: int = 0) -> HTMLResponse:
        who(request)
        f = queue_filter(status, class_id, model, done)
        lang = ui_lang(request)

        def go(s: Session) -> dict:
            items = review_queue(s, cfg.domain_id, f, limit=PAGE, offset=max(0, offset))
            names = class_names(s, cfg.domain_id, lang)
            return {"items": items, "names": names, "models": model_names(s)}

        data = read(go)
        data["per_class"], data["per_who"] = current_progress()
        return render(request, "queue.html", f=f, status=status, class_id=class_id, model=model, offset=offset,
                      done=done, done_choices=DONE_CHOICES, page=PAGE, query=_query(status, class_id, model, done),
                      statuses=REVIEW_STATUSES,
                      sorted_names=sorted(data["names"].values(), key=lambda c: c.name.casefold()), **data)

    @app.get("/image/{image_id}", response_class=HTMLResponse)
    def image_page(request: Request, image_id: int, status: str = "pending", class_id: int | None = None,
                   model: str | None = None, done: str = "todo") -> HTMLResponse:
        who(request)
        f = queue_filter(status, class_id, model, done)
        lang = ui_lang(request)

        def go(s: Session) -> tuple[dict, tuple]:
            return image_state(s, image_id, lang), neighbours(s, cfg.domain_id, image_id, f)

        state, (prev_id, next_id) = read(go)
        query = _query(status, class_id, model, done)
        nav = {"prev": f"/image/{prev_id}?{query}" if prev_id else None,
               "next": f"/image/{next_id}?{query}" if next_id else None, "queue": f"/?{query}"}
        return render(request, "image.html", state=state, nav=nav,
                      state_json={"state": state, "nav": nav})

    # -- files -----------------------------------------------------------------------------

    @app.get("/files/{image_id}")
    def image_file(request: Request, image_id: int) -> Response:
        """The image's bytes, by store id: no part of the request reaches the file system."""
        who(request)
        img = read(lambda s: s.get(Image, image_id))
        if img is None or not img.local_path:
            raise Problem(404, f"image {image_id} has no file")
        media = img.mime if img.mime and img.mime.startswith("image/") else mimetypes.guess_type(img.local_path)[0]
        if not media or not media.startswith("image/"):
            raise Problem(404, f"image {image_id} is not an image file")
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        storage = open_storage(cfg.data_dir)
        try:
            rel = _check_rel(img.local_path)  # a path inside the data folder, or refused
            if storage.is_local:
                root = Path(cfg.data_dir).resolve()
                path = (root / rel).resolve()  # a symbolic link out of the folder is refused too
                if not path.is_relative_to(root) or not path.is_file():
                    raise StorageError(f"{rel} is not a file in the data folder")
                return FileResponse(path, media_type=media, headers=headers)
            return Response(storage.read_bytes(rel), media_type=media, headers=headers)
        except (StorageError, OSError):
            raise Problem(404, f"image {image_id} has no file in the data folder") from None

    @app.get("/thumbs/{image_id}")
    def image_thumb(request: Request, image_id: int) -> Response:
        """A small JPEG of the image for the queue (a harvested photo can be megabytes)."""
        who(request)
        data = thumbs.get(image_id)
        if data is None:
            data = _thumbnail(image_file(request, image_id))
            with thumbs_lock:
                thumbs[image_id] = data
                while len(thumbs) > THUMB_CACHE:
                    thumbs.pop(next(iter(thumbs)))
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600",
                                                                 "X-Content-Type-Options": "nosniff"})

    # -- JSON API: reads -------------------------------------------------------------------

    @app.get("/api/queue")
    def api_queue(request: Request, status: str = "pending", class_id: int | None = None, model: str | None = None,
                  done: str = "todo", offset: int = 0, limit: int = PAGE) -> dict:
        who(request)
        f = queue_filter(status, class_id, model, done)
        items = read(lambda s: review_queue(s, cfg.domain_id, f, limit=max(1, min(limit, 500)), offset=max(0, offset)))
        return {"images": [{"id": i.image_id, "min_score": i.min_score, "counts": i.counts, "classes": i.class_ids}
                           for i in items]}

    @app.get("/api/progress")
    def api_progress(request: Request) -> dict:
        who(request)
        per_class, per_who = current_progress()
        return {"classes": [{"id": p.class_id, "counts": p.counts} for p in per_class],
                "reviewers": [{"who": p.who, "counts": p.counts, "images_done": p.images_done} for p in per_who]}

    @app.get("/api/images/{image_id}")
    def api_image(request: Request, image_id: int) -> dict:
        who(request)
        return read(lambda s: image_state(s, image_id, ui_lang(request)))

    @app.get("/api/classes")
    def api_classes(request: Request, q: str = "", limit: int = 20) -> dict:
        who(request)
        found = read(lambda s: search_classes(s, cfg.domain_id, q[:200], ui_lang(request), max(1, min(limit, 100))))
        return {"classes": [c.as_json() for c in found]}

    # -- JSON API: decisions ---------------------------------------------------------------

    def decide(request: Request, annotation_id: int, fn: Callable[[Session, str], Any]) -> dict:
        name = write_guard(request)
        lang = ui_lang(request)

        def go(s: Session) -> dict:
            annotation_in_domain(s, annotation_id)
            fn(s, name)
            ann = s.get(Annotation, annotation_id)
            return _instance(ann, s.get(Image, ann.image_id), class_names(s, cfg.domain_id, lang, [ann.class_id]).get(ann.class_id),
                             s.get(Proposal, ann.proposal_id) if ann.proposal_id else None)

        try:
            return write(go)
        except rv.ReviewConflict as exc:
            current = read(lambda s: image_state(s, s.get(Annotation, annotation_id).image_id, lang))
            raise Problem(409, str(exc), conflict=True, state=current) from None

    @app.post("/api/annotations/{annotation_id}/accept")
    def api_accept(request: Request, annotation_id: int, body: Decision) -> dict:
        return decide(request, annotation_id, lambda s, w: rv.accept(
            s, annotation_id, w, expected_version=body.version, origin=ORIGIN, note=body.note))

    @app.post("/api/annotations/{annotation_id}/reject")
    def api_reject(request: Request, annotation_id: int, body: Decision) -> dict:
        return decide(request, annotation_id, lambda s, w: rv.reject(
            s, annotation_id, w, expected_version=body.version, origin=ORIGIN, note=body.note))

    @app.post("/api/annotations/{annotation_id}/relabel")
    def api_relabel(request: Request, annotation_id: int, body: Relabel) -> dict:
        # By row id: the picker hands the class's id, never a name to resolve.
        return decide(request, annotation_id, lambda s, w: rv.relabel(
            s, annotation_id, class_in_domain(s, body.class_id), w, expected_version=body.version,
            origin=ORIGIN, note=body.note))

    @app.post("/api/annotations/{annotation_id}/edit")
    def api_edit(request: Request, annotation_id: int, body: Edit) -> dict:
        return decide(request, annotation_id, lambda s, w: rv.edit(
            s, annotation_id, w, segmentation=body.segmentation, bbox=body.bbox,
            expected_version=body.version, origin=ORIGIN, note=body.note))

    @app.post("/api/images/{image_id}/annotations")
    def api_add(request: Request, image_id: int, body: Add) -> dict:
        name = write_guard(request)
        lang = ui_lang(request)

        def go(s: Session) -> dict:
            img = image_row(s, image_id)
            class_in_domain(s, body.class_id)
            ann, _ = rv.add(s, image_id, body.class_id, name, segmentation=body.segmentation, bbox=body.bbox,
                            origin=ORIGIN, note=body.note)
            return _instance(ann, img, class_names(s, cfg.domain_id, lang, [ann.class_id]).get(ann.class_id), None)

        return write(go)

    @app.post("/api/images/{image_id}/done")
    def api_done(request: Request, image_id: int, body: Done) -> dict:
        """Declare the image's review done (``done: false``: not done any more)."""
        name = write_guard(request)

        def go(s: Session) -> dict:
            image_row(s, image_id)
            ev = rv.mark_image_done(s, image_id, reviewer=name, done=body.done, origin=ORIGIN, note=body.note)
            return {"image_id": image_id, "done": body.done, "changed": ev is not None,
                    "pending": rv.pending_counts(s, [image_id]).get(image_id, 0)}

        return write(go)

    @app.post("/api/undo")
    def api_undo(request: Request, body: dict = Body(default_factory=dict)) -> dict:
        name = write_guard(request)

        def go(s: Session) -> dict:
            ev = rv.undoable_event(s, name, ORIGIN)
            if ev is None:
                _ = gettext_for(request)
                raise Problem(404, _("Nothing to undo."))
            undone = rv.undo(s, ev.id, name, origin=ORIGIN)
            image_id = ev.image_id if ev.annotation_id is None else s.get(Annotation, ev.annotation_id).image_id
            return {"undone_event": ev.id, "event": undone.id, "action": undone.action, "image_id": image_id,
                    "annotation_id": ev.annotation_id}

        return write(go)

    return app


def _instance(ann: Annotation, img: Image, cn, prop: Proposal | None) -> dict:
    """An annotation as the page draws it: polygons for masks (RLE traced), the box, its class."""
    inst = Instance.from_annotation(ann, cn.name if cn else str(ann.class_id),
                                    label=prop.detector_label if prop is not None else None,
                                    score=prop.score if prop is not None else None)
    seg = inst.mask
    shape, polygons = "box", []
    if masks.is_polygons(seg):
        shape, polygons = "polygon", seg
    elif masks.is_rle(seg):
        shape, polygons = "mask", rle_outline(seg)
    return {
        "id": inst.id, "version": ann.version, "status": ann.status, "class_id": inst.class_id,
        "name": inst.class_name, "fallback": bool(cn and cn.fallback),
        "english": cn.english if cn else "", "synset": cn.synset if cn else "",
        "bbox": list(inst.box_xywh), "shape": shape,
        "polygons": [np.round(np.asarray(p, dtype=np.float64), 2).tolist() for p in polygons],
        "score": None if inst.score is None else round(float(inst.score), 4),
        "model": None if prop is None else prop.model_name, "origin": ann.origin,
        "reviewed_by": ann.reviewed_by,
    }


def _thumbnail(resp: Response) -> bytes:
    """The image of a file response, at most THUMB pixels wide or high, as JPEG bytes."""
    import io

    from PIL import Image as PILImage

    src = resp.path if isinstance(resp, FileResponse) else io.BytesIO(resp.body)
    try:
        with PILImage.open(src) as im:
            im.draft("RGB", (THUMB, THUMB))  # JPEG: decode at a fraction of the size
            im = im.convert("RGB")
            im.thumbnail((THUMB, THUMB))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80)
    except Exception:  # noqa: BLE001 - any decoder failure on a stored file is "cannot be read"
        # (PIL raises OSError, ValueError, DecompressionBombError...; and a process that imported
        # ultralytics has a patched Image.open that raises ImportError for an unknown format)
        raise Problem(404, "the image file cannot be read") from None
    return out.getvalue()


def _query(status: str, class_id: int | None, model: str | None, done: str) -> str:
    """The queue's filters as a query string, carried from page to page."""
    params: dict[str, Any] = {"status": status}
    if class_id:
        params["class_id"] = class_id
    if model:
        params["model"] = model
    if done != "todo":
        params["done"] = done
    return urlencode(params)


def _name_languages() -> tuple[str, ...]:
    import ontology

    return tuple(ontology.LANGUAGES)


def _local(target: str) -> str:
    """Only redirect within this app (``next`` comes from the request)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
