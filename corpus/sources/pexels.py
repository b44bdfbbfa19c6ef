"""Pexels API v1 (``/v1/search``). Needs a key (``Authorization: <key>``, no "Bearer").

Opt-in: Pexels' help center says not to use the API to build datasets or train ML models without
Pexels' explicit permission. Quota: 200 requests/hour, 20,000/month by default; the
``X-Ratelimit-Reset`` header (a unix time) comes on 2xx responses only, and a 429 has none, so the
client remembers the last one it saw.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

import httpx

from corpus.licenses import PEXELS, attribution_line
from corpus.sources.base import Hit, Page, SourceError
from corpus.sources.common import HttpSource, as_int, http_url, text

__all__ = ["PexelsSource", "LOCALES"]

MAX_PER_PAGE = 80
#: Our ISO 639-1 codes -> Pexels' 28 locales.
LOCALES: dict[str, str] = {
    "en": "en-US", "pt": "pt-BR", "es": "es-ES", "ca": "ca-ES", "de": "de-DE", "it": "it-IT", "fr": "fr-FR",
    "sv": "sv-SE", "id": "id-ID", "pl": "pl-PL", "ja": "ja-JP", "zh": "zh-CN", "ko": "ko-KR", "th": "th-TH",
    "nl": "nl-NL", "hu": "hu-HU", "vi": "vi-VN", "cs": "cs-CZ", "da": "da-DK", "fi": "fi-FI", "uk": "uk-UA",
    "el": "el-GR", "ro": "ro-RO", "nb": "nb-NO", "no": "nb-NO", "sk": "sk-SK", "tr": "tr-TR", "ru": "ru-RU",
}


def _check(body: Any, response: httpx.Response) -> None:
    if not isinstance(body, Mapping) or not isinstance(body.get("photos", []), list):
        raise SourceError("pexels: expected an object with a `photos` list")


def _ext_mime(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    if path.endswith((".jpg", ".jpeg")):
        return "image/jpeg"
    if path.endswith(".png"):
        return "image/png"
    return None


class PexelsSource(HttpSource):
    name = "pexels"
    terms = (
        "Pexels License (free use, no attribution required), but no dataset building or ML training "
        "without Pexels' explicit permission; opt-in"
    )
    key_required = True
    reset_header = "epoch"

    def _headers(self) -> Mapping[str, str]:
        return {"Authorization": self.key}

    def search_language(self, lang: str) -> str | None:
        return LOCALES.get((lang or "").lower())

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        locale = self.search_language(lang)
        if locale is None:
            raise SourceError(f"pexels has no locale for language {lang!r}")
        page_no = int((state or {}).get("page", 1))
        size = max(1, min(int(per_page), MAX_PER_PAGE))
        params = {"query": query, "locale": locale, "page": page_no, "per_page": size}
        body = self.http.get_json(self.url("/search"), params, check=_check)
        photos = body.get("photos") or []
        hits, dropped = self.read_page(photos, self._hit, first_rank=(page_no - 1) * size + 1)
        next_page = body.get("next_page")
        next_state = None
        if next_page and photos:
            # Follow the page number it names, against our own base URL (tests, proxies).
            num = parse_qs(urlsplit(str(next_page)).query).get("page", [str(page_no + 1)])[0]
            next_state = {"page": as_int(num) or page_no + 1}
        return Page(hits=hits, next_state=next_state, total=as_int(body.get("total_results")), dropped=dropped)

    def _hit(self, p: Mapping[str, Any], rank: int) -> Hit | None:
        src = p.get("src")
        src = src if isinstance(src, Mapping) else {}
        file_url = http_url(src.get("large2x")) or http_url(src.get("large")) or http_url(src.get("original"))
        if not file_url:
            return None
        author = text(p.get("photographer"))
        title = text(p.get("alt"))
        landing = http_url(p.get("url"))
        return Hit(
            source=self.name,
            source_image_id=text(p.get("id")),
            file_url=file_url,
            landing_url=landing,
            license=PEXELS,
            license_raw="Pexels License",
            author=author,
            author_raw=author,
            attribution=attribution_line(title, author, PEXELS, landing, self.name),
            title=title,
            mime=_ext_mime(text(src.get("original"))),
            rank=rank,
            extra={
                "original_url": src.get("original"),
                "original_width": as_int(p.get("width")),
                "original_height": as_int(p.get("height")),
                "photographer_url": p.get("photographer_url"),
                "photographer_id": p.get("photographer_id"),
                "avg_color": p.get("avg_color"),
                "terms": self.terms,
            },
        )
