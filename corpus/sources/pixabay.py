"""Pixabay API (``/api/``). Needs a key (query parameter ``key``).

Opt-in. Pixabay's API terms: requests must be cached for 24 h (the client's on-disk cache, on by
default for this source), no systematic mass downloads, no permanent hotlinking (download the
file; ``largeImageURL`` links expire after 24 h). Hits flagged ``noAiTraining`` are dropped and
counted; AI-generated images (``isAiGenerated``) are dropped too. ``totalHits`` is capped at 500
per query. Rate limit: 100 requests per 60 s, ``X-RateLimit-Reset`` in seconds.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from corpus.licenses import PIXABAY, attribution_line
from corpus.sources.base import Hit, Page, SourceError
from corpus.sources.common import HttpSource, as_int, http_url, text

__all__ = ["PixabaySource", "LANGS"]

MIN_PER_PAGE, MAX_PER_PAGE = 3, 200
MAX_TOTAL_HITS = 500
MAX_QUERY_CHARS = 100
#: Pixabay's 26 ``lang`` codes; our ISO 639-1 codes map to themselves except Norwegian Bokmål.
LANGS = frozenset("cs da de en es fr id it hu nl no pl pt ro sk fi sv tr vi th bg ru el ja ko zh".split())
_ALIASES = {"nb": "no"}


def _check(body: Any, response: httpx.Response) -> None:
    if not isinstance(body, Mapping) or not isinstance(body.get("hits", []), list):
        raise SourceError("pixabay: expected an object with a `hits` list")



def _ai_flag(h: Mapping[str, Any]) -> str | None:
    """Why a hit is dropped unread: its author refuses AI training, or it is AI-generated."""
    return "noAiTraining" if h.get("noAiTraining") else "isAiGenerated" if h.get("isAiGenerated") else None

class PixabaySource(HttpSource):
    name = "pixabay"
    terms = (
        "Pixabay Content License (free use, no attribution required); API terms: cache requests 24 h, "
        "no systematic mass downloads, no hotlinking; noAiTraining hits dropped; opt-in"
    )
    key_required = True
    reset_header = "seconds"

    def search_language(self, lang: str) -> str | None:
        code = _ALIASES.get((lang or "").lower(), (lang or "").lower())
        return code if code in LANGS else None

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        code = self.search_language(lang)
        if code is None:
            raise SourceError(f"pixabay has no lang code for language {lang!r}")
        page_no = int((state or {}).get("page", 1))
        size = max(MIN_PER_PAGE, min(int(per_page), MAX_PER_PAGE))
        params = {
            "key": self.key,
            "q": query[:MAX_QUERY_CHARS],
            "lang": code,
            "image_type": "photo",
            "safesearch": "true",
            "page": page_no,
            "per_page": size,
        }
        body = self.http.get_json(self.url("/"), params, check=_check)
        raw_hits = body.get("hits") or []
        hits, dropped = self.read_page(raw_hits, self._hit, first_rank=(page_no - 1) * size + 1, skip=_ai_flag)
        reachable = min(as_int(body.get("totalHits")) or 0, MAX_TOTAL_HITS)
        more = bool(raw_hits) and page_no * size < reachable
        return Page(hits=hits, next_state={"page": page_no + 1} if more else None,
                    total=as_int(body.get("totalHits")), dropped=dropped)

    def _hit(self, h: Mapping[str, Any], rank: int) -> Hit | None:
        file_url = http_url(h.get("largeImageURL")) or http_url(h.get("webformatURL"))
        if not file_url:
            return None
        author = text(h.get("user"))
        tags = [t.strip() for t in text(h.get("tags")).split(",") if t.strip()]
        title = ", ".join(tags[:3])
        landing = http_url(h.get("pageURL"))
        w, ht = as_int(h.get("imageWidth")), as_int(h.get("imageHeight"))
        if w and ht and h.get("largeImageURL"):
            scale = min(1.0, 1280 / max(w, ht))  # largeImageURL: at most 1280 px on the long side
            w, ht = round(w * scale), round(ht * scale)
        return Hit(
            source=self.name,
            source_image_id=text(h.get("id")),
            file_url=file_url,
            landing_url=landing,
            license=PIXABAY,
            license_raw="Pixabay Content License",
            author=author,
            author_raw=author,
            attribution=attribution_line(title, author, PIXABAY, landing, self.name),
            title=title,
            width=w,
            height=ht,
            rank=rank,
            extra={
                "tags": tags,
                "type": h.get("type"),
                "user_id": h.get("user_id"),
                "user_url": h.get("userURL"),
                "original_width": as_int(h.get("imageWidth")),
                "original_height": as_int(h.get("imageHeight")),
                "noAiTraining": bool(h.get("noAiTraining")),
                "isAiGenerated": bool(h.get("isAiGenerated")),
                "url_expires_after_s": 24 * 3600,
                "terms": self.terms,
            },
        )
