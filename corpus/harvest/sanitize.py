"""API text made safe for the store, at the boundary where a source's page enters the harvest.

Whatever a server sends, a hit must not be able to block a run: PostgreSQL refuses NUL bytes in
text, an encoder refuses lone surrogates, and a value longer than its column fails the whole
batch (and, as the same hit comes back on every rerun, every later run too). So every text field
of a :class:`~corpus.sources.base.Hit` is cleaned here, once, for every source:

* NUL, other C0/C1 control characters and DEL are removed (tab, newline and carriage return
  become spaces, except in ``author_raw``, which keeps the source's markup), and lone
  surrogates are dropped;
* API keys the clients know of are replaced by ``***`` wherever a server echoed them (a second
  net behind :class:`corpus.sources.http.PoliteClient`, which scrubs response bodies);
* each field is cut to the limit of its column (:data:`LIMITS`, the ``String(n)`` sizes of
  :mod:`corpus.store.models`, and generous caps for ``Text`` columns), with ``…`` when cut.

Some values cannot be cut without becoming wrong: an id or a URL. A hit whose id or file URL is
empty, over its column, or changed by the cleaning is **unusable**: :func:`clean_hit` raises
:class:`UnusableHit` with a reason, the harvest counts it (``bad_hit:<reason>``) and goes on.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from corpus.sources.base import Hit
from corpus.store.models import Image, ImageHit

__all__ = ["LIMITS", "UnusableHit", "clean_hit", "clean_text", "clean_json", "jsonable"]

#: Characters never stored: C0 controls but \t \n \r, DEL, C1 controls, lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile("[\t\n\r]")

#: Longest value kept per field. ``String(n)`` columns: their size (see corpus.store.models);
#: ``Text`` columns: caps far above anything a real API sends.
LIMITS = {
    # String(n) columns: their size, read from the models so the two cannot drift apart.
    "source_image_id": min(Image.__table__.c.source_image_id.type.length,
                           ImageHit.__table__.c.source_image_id.type.length),
    "mime": Image.__table__.c.mime.type.length,
    "file_url": 8192,
    "landing_url": 8192,
    "license_raw": 2000,
    "title": 2000,
    "author": 1000,
    "author_raw": 10000,
    "attribution": 4000,
    "extra_text": 4000,  # each string inside images.extra
}
INT_MAX = 2**31 - 1  # Integer columns (width, height, rank)


class UnusableHit(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _secrets() -> list[str]:
    from corpus.sources.http import known_secrets

    return known_secrets()


def clean_text(value: Any, limit: int, keep_lines: bool = False, secrets: list[str] | None = None) -> str:
    """``value`` as storable text: controls removed, known secrets scrubbed, at most ``limit`` chars."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not keep_lines:
        text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    for s in secrets if secrets is not None else _secrets():
        if s in text:
            text = text.replace(s, "***")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def clean_json(value: Any, limit: int = LIMITS["extra_text"], secrets: list[str] | None = None, depth: int = 0) -> Any:
    """Every string (keys too) inside ``value`` cleaned; too deep nesting cut off."""
    secrets = _secrets() if secrets is None else secrets
    if depth > 20:
        return None
    if isinstance(value, str):
        return clean_text(value, limit, keep_lines=True, secrets=secrets)
    if isinstance(value, dict):
        return {clean_text(k, 200, secrets=secrets): clean_json(v, limit, secrets, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v, limit, secrets, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
        return str(value)
    return value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX else None


def clean_hit(hit: Hit) -> Hit:
    """The hit with every field storable, or :class:`UnusableHit`."""
    secrets = _secrets()
    raw_id = hit.source_image_id if isinstance(hit.source_image_id, str) else str(hit.source_image_id)
    sid = clean_text(raw_id, 10**6, secrets=secrets).strip()
    if not sid:
        raise UnusableHit("no_source_image_id")
    if sid != raw_id.strip():
        raise UnusableHit("bad_source_image_id", "control characters or a key in the id")
    if len(sid) > LIMITS["source_image_id"]:
        raise UnusableHit("source_image_id_too_long", f"{len(sid)} characters, at most {LIMITS['source_image_id']}")
    file_url = clean_text(hit.file_url, 10**6, secrets=secrets)
    if file_url != (hit.file_url or ""):
        raise UnusableHit("bad_file_url", "control characters or a key in the file URL")
    if len(file_url) > LIMITS["file_url"]:
        raise UnusableHit("file_url_too_long", f"{len(file_url)} characters")
    landing = clean_text(hit.landing_url, 10**6, secrets=secrets)
    if len(landing) > LIMITS["landing_url"]:
        landing = ""  # a cut URL would point elsewhere; the attribution still names the source
    lic = hit.license
    if any(_CONTROL.search(x or "") for x in (lic.code, lic.name, lic.url)):
        lic = dataclasses.replace(lic, code=clean_text(lic.code, 64, secrets=secrets),
                                  name=clean_text(lic.name, 200, secrets=secrets), url=clean_text(lic.url, 2000, secrets=secrets))
    mime = clean_text(hit.mime, LIMITS["mime"] + 1, secrets=secrets) if hit.mime else None
    return dataclasses.replace(
        hit,
        source_image_id=sid,
        file_url=file_url,
        landing_url=landing,
        license=lic,
        license_raw=clean_text(hit.license_raw, LIMITS["license_raw"], secrets=secrets),
        author=clean_text(hit.author, LIMITS["author"], secrets=secrets),
        author_raw=clean_text(hit.author_raw, LIMITS["author_raw"], keep_lines=True, secrets=secrets),
        attribution=clean_text(hit.attribution, LIMITS["attribution"], secrets=secrets),
        title=clean_text(hit.title, LIMITS["title"], secrets=secrets),
        width=_int(hit.width),
        height=_int(hit.height),
        mime=mime if mime and len(mime) <= LIMITS["mime"] else None,
        sha1=hit.sha1 if isinstance(hit.sha1, str) and re.fullmatch(r"[0-9a-fA-F]{40}", hit.sha1) else None,
        rank=_int(hit.rank),
        extra=clean_json(dict(hit.extra or {}), secrets=secrets),
    )


def jsonable(v: Any) -> Any:
    """``v`` with keys as strings and anything JSON has no type for as its ``str``."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)
