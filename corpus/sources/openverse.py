"""Openverse API v1 (``/v1/images/``): CC-licensed and public-domain images from many providers.

Anonymous by default; a bearer token (``CORPUS_OPENVERSE_API_KEY``, the ``access_token`` from
``POST /v1/auth_tokens/token/``) raises the page size from 20 to 50. Depth is capped at 240
results per query either way. Its text analyzer is English-only, so only English is searched.
Openverse re-serves Flickr and Wikimedia items: expect duplicates across sources.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from corpus.config import USER_AGENT
from corpus.licenses import LicensePolicy, attribution_line, from_openverse
from corpus.sources.base import Hit, Page, SourceError
from corpus.sources.common import HttpSource, as_int, http_url, text

__all__ = ["OpenverseSource", "license_type_for", "request_token"]

ANON_MAX_PAGE_SIZE = 20
AUTH_MAX_PAGE_SIZE = 50
_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
         "svg": "image/svg+xml", "tiff": "image/tiff", "bmp": "image/bmp"}


def license_type_for(policy: LicensePolicy | None) -> str | None:
    """Openverse's server-side ``license_type`` filter that fits ``policy`` (saves the small quota)."""
    if policy is None:
        return None
    types = [t for t, wanted in (("commercial", policy.commercial), ("modification", policy.derivatives)) if wanted]
    return ",".join(types) or None


def _check(body: Any, response: httpx.Response) -> None:
    if not isinstance(body, Mapping) or not isinstance(body.get("results", []), list):
        raise SourceError("openverse: expected an object with a `results` list")


class OpenverseSource(HttpSource):
    name = "openverse"
    terms = (
        "CC/PD images aggregated from many providers; anonymous use is rate-limited and capped at "
        "240 results per query; no scraping of the catalog or spreading load over machines"
    )

    def _headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def search_language(self, lang: str) -> str | None:
        # No language parameter and an English analyzer, but titles and tags in other languages
        # match as literal tokens (docs/sources.md): every language is served as plain text. A
        # language with few hits runs dry quickly and leaves its share to the others.
        return "" if (lang or "").strip() else None

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        if self.search_language(lang) is None:
            raise SourceError(f"openverse needs a language code (asked for {lang!r})")
        page_no = int((state or {}).get("page", 1))
        cap = AUTH_MAX_PAGE_SIZE if self.key else ANON_MAX_PAGE_SIZE  # more gives HTTP 401
        params: dict[str, Any] = {
            "q": query[:200],
            "page": page_no,
            "page_size": max(1, min(int(per_page), cap)),
            "license_type": license_type_for(self.policy),
            "mature": "false",
        }
        body = self.http.get_json(self.url("/images/"), params, check=_check)
        results = body.get("results") or []
        size = as_int(body.get("page_size")) or params["page_size"]
        hits, dropped = self.read_page(results, self._hit, first_rank=(page_no - 1) * size + 1)
        page_count = as_int(body.get("page_count")) or 0
        more = bool(results) and page_no < page_count
        return Page(
            hits=hits,
            next_state={"page": page_no + 1} if more else None,
            total=as_int(body.get("result_count")),
            dropped=dropped,
        )

    def _hit(self, r: Mapping[str, Any], rank: int) -> Hit | None:
        url = http_url(r.get("url"))
        if not url:
            return None
        lic = from_openverse(text(r.get("license")), text(r.get("license_version")), text(r.get("license_url")))
        title = text(r.get("title"))
        author = text(r.get("creator"))
        landing = http_url(r.get("foreign_landing_url")) or http_url(r.get("detail_url"))
        provider = text(r.get("source")) or text(r.get("provider"))
        filetype = text(r.get("filetype")).lower()
        return Hit(
            source=self.name,
            source_image_id=text(r.get("id")),
            file_url=url,
            landing_url=landing,
            license=lic,
            license_raw=" ".join(x for x in (text(r.get("license")), text(r.get("license_version"))) if x),
            author=author,
            author_raw=author,
            attribution=attribution_line(title, author, lic, landing, f"{provider} via Openverse" if provider else "openverse"),
            title=title,
            width=as_int(r.get("width")),
            height=as_int(r.get("height")),
            mime=_MIME.get(filetype),
            rank=rank,
            extra={
                "provider": r.get("provider"),
                "provider_source": provider,
                "creator_url": r.get("creator_url"),
                "thumbnail": r.get("thumbnail"),
                "detail_url": r.get("detail_url"),
                "openverse_attribution": r.get("attribution"),
                "tags": sorted({t.get("name") for t in r.get("tags") or [] if isinstance(t, Mapping) and t.get("name")}),
                "filesize": as_int(r.get("filesize")),
                "mature": bool(r.get("mature")),
            },
        )


def request_token(base_url: str, client_id: str, client_secret: str, *, user_agent: str = USER_AGENT,
                  timeout_s: float = 30.0) -> tuple[str, int]:
    """Exchange OAuth2 client credentials (from ``POST /v1/auth_tokens/register/``) for a bearer
    token: returns ``(access_token, expires_in_s)``. Put the token in ``CORPUS_OPENVERSE_API_KEY``."""
    url = base_url.rstrip("/") + "/auth_tokens/token/"
    try:
        response = httpx.post(
            url,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=timeout_s,
        )
    except httpx.TransportError as exc:
        raise SourceError(f"openverse: token request to {url} failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        text = response.text[:200].replace(client_secret, "***") if client_secret else response.text[:200]
        raise SourceError(f"openverse: token request to {url} failed: HTTP {response.status_code}: {text!r}")
    try:
        body = response.json()
        return str(body["access_token"]), int(body.get("expires_in", 0))
    except (ValueError, KeyError, TypeError):
        raise SourceError(f"openverse: token response from {url} is not the expected JSON") from None
