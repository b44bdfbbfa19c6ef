"""Wikimedia Commons through the MediaWiki Action API: full-text search in the File namespace
(``generator=search``, ``gsrnamespace=6``) with ``prop=imageinfo`` and ``extmetadata``.

No key needed. Etiquette (Wikimedia's API:Etiquette and 2026 rate limits): a descriptive
User-Agent, one request at a time, ``maxlag=5`` with retries on ``maxlag``/``ratelimited``
errors, thumbnails (``iiurlwidth``) rather than originals.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import httpx

from corpus.licenses import attribution_line, from_commons
from corpus.sources.base import Hit, Page, SourceError
from corpus.sources.common import HttpSource, as_int, http_url, text
from corpus.sources.http import RetryableError
from corpus.sources.text import html_to_text

__all__ = ["CommonsSource", "THUMB_WIDTH"]

THUMB_WIDTH = 1280
# MediaWiki returns at most 50 scaled images per request.
MAX_PER_PAGE = 50
EXTMETADATA = (
    "Artist|Credit|Attribution|LicenseShortName|License|LicenseUrl|UsageTerms|AttributionRequired|"
    "Copyrighted|Restrictions|ImageDescription|ObjectName|DateTimeOriginal"
)
RETRYABLE_CODES = frozenset({"maxlag", "ratelimited", "readonly", "internal_api_error_DBConnectionError"})


def _check(body: Any, response: httpx.Response) -> None:
    if not isinstance(body, Mapping):
        raise SourceError(f"commons: expected a JSON object, got {type(body).__name__}")
    err = body.get("error")
    if not err:
        return
    code = str(err.get("code", "")) if isinstance(err, Mapping) else str(err)
    info = str(err.get("info", "")) if isinstance(err, Mapping) else ""
    if code in RETRYABLE_CODES:
        raise RetryableError(f"MediaWiki error {code}: {info}")
    raise SourceError(f"commons: MediaWiki error {code}: {info}")


def _strip_file_title(title: str) -> str:
    name = re.sub(r"^(File|Image):", "", title or "")
    return re.sub(r"\.(jpe?g|png|gif|tiff?|webp|xcf|bmp)$", "", name, flags=re.I)


class CommonsSource(HttpSource):
    name = "commons"
    terms = (
        "free licenses only (CC0, PD, CC BY, CC BY-SA, ...); attribution per file; "
        "API etiquette: descriptive User-Agent, 1 request at a time, maxlag=5"
    )

    def search_language(self, lang: str) -> str | None:
        # Full-text search runs over multilingual description pages: any language as plain text.
        return ""

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        params: dict[str, Any] = {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "maxlag": "5",
            "generator": "search",
            "gsrsearch": f"{query} filetype:bitmap",
            "gsrnamespace": "6",
            "gsrlimit": str(max(1, min(int(per_page), MAX_PER_PAGE))),
            "prop": "imageinfo",
            "iiprop": "url|size|mime|sha1|extmetadata",
            "iiurlwidth": str(THUMB_WIDTH),
            "iiextmetadatafilter": EXTMETADATA,
            "iiextmetadatalanguage": "en",
        }
        if state:
            # The continuation object goes back unchanged, every key of it.
            params.update({k: v for k, v in state.items()})
        body = self.http.get_json(self.url(), params, check=_check)
        query_part = body.get("query") or {}
        pages = query_part.get("pages") or [] if isinstance(query_part, Mapping) else None
        if isinstance(pages, Mapping):  # formatversion=1: a dict keyed by pageid
            pages = list(pages.values())
        if not isinstance(pages, list):
            raise SourceError(f"commons: expected `query.pages` to be a list, got {type(pages).__name__}")
        pages = sorted(pages, key=lambda p: (as_int(p.get("index")) or 0) if isinstance(p, Mapping) else 0)
        hits, dropped = self.read_page(pages, self._hit, id_fields=("pageid", "title"), unusable="no-imageinfo")
        cont = body.get("continue")
        next_state = dict(cont) if isinstance(cont, Mapping) and cont else None
        info = query_part.get("searchinfo")
        total = as_int(info.get("totalhits")) if isinstance(info, Mapping) else None
        return Page(hits=hits, next_state=next_state, total=total, dropped=dropped)

    def _hit(self, page: Mapping[str, Any]) -> Hit | None:
        infos = page.get("imageinfo") or []
        if not infos or page.get("missing"):
            return None  # imageinfo split across continuations comes with a later batch
        ii = infos[0]
        em = ii.get("extmetadata")
        em = em if isinstance(em, Mapping) else {}
        lic = from_commons(em)

        def ev(key: str) -> str:
            v = (em.get(key) or {}).get("value") if isinstance(em.get(key), Mapping) else None
            if isinstance(v, Mapping):
                v = v.get("en") or next((x for k, x in v.items() if k != "_type"), "")
            return "" if v is None else str(v)

        artist_raw = ev("Artist")
        author = html_to_text(artist_raw) or html_to_text(ev("Credit"))
        page_title = text(page.get("title"))
        title = html_to_text(ev("ObjectName")) or _strip_file_title(page_title)
        thumb = http_url(ii.get("thumburl"))
        landing = http_url(ii.get("descriptionurl")) or f"https://commons.wikimedia.org/wiki/{page_title}"
        file_url = thumb or http_url(ii.get("url"))
        if not file_url:
            return None
        return Hit(
            source=self.name,
            source_image_id=text(page.get("pageid")) or page_title,
            file_url=file_url,
            landing_url=_absolute(landing),
            license=lic,
            license_raw=ev("License") or ev("LicenseShortName"),
            author=author,
            author_raw=artist_raw,
            attribution=attribution_line(title, author, lic, _absolute(landing), self.name),
            title=title,
            width=as_int(ii.get("thumbwidth") if thumb else ii.get("width")),
            height=as_int(ii.get("thumbheight") if thumb else ii.get("height")),
            mime=text(ii.get("thumbmime")) or text(ii.get("mime")) or None,
            sha1=text(ii.get("sha1")) or None,
            rank=as_int(page.get("index")),
            extra={
                "page_title": page_title,
                "original_url": http_url(ii.get("url")),
                "original_width": as_int(ii.get("width")),
                "original_height": as_int(ii.get("height")),
                "original_size": as_int(ii.get("size")),
                "original_mime": ii.get("mime"),
                "sha1_of": "original",
                "credit": html_to_text(ev("Credit")),
                "description": html_to_text(ev("ImageDescription"))[:2000],
                "restrictions": ev("Restrictions"),
                "attribution_required": ev("AttributionRequired").lower() != "false",
                "license_short_name": ev("LicenseShortName"),
                "license_url": ev("LicenseUrl"),
            },
        )


def _absolute(url: str) -> str:
    # Commons gives protocol-relative links in places (//upload.wikimedia.org/...).
    return "https:" + url if url.startswith("//") else url
