"""Flickr REST ``flickr.photos.search``. Needs a key (query parameter ``api_key``; new keys need
Flickr Pro). Opt-in.

Errors come inside HTTP 200 as ``{"stat": "fail", "code": N, "message": ...}``; codes 10, 105 and
201 are transient and retried. At most 4,000 results per query; 3,600 calls per hour per key.
Numbers come as strings or ints depending on the field; :func:`as_int` reads both.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from corpus.licenses import FLICKR_LICENSES, LicensePolicy, attribution_line, from_flickr
from corpus.sources.base import Hit, Page, SourceError
from corpus.sources.common import HttpSource, as_int, http_url, text
from corpus.sources.http import RetryableError
from corpus.sources.text import html_to_text

__all__ = ["FlickrSource", "license_ids_for", "DEFAULT_LICENSE_IDS"]

MAX_PER_PAGE = 500
MAX_RESULTS = 4000
TRANSIENT_CODES = frozenset({10, 105, 201})
#: Commercial use and derivatives allowed (the default policy): CC BY/BY-SA 2.0 and 4.0, CC0, PDM.
DEFAULT_LICENSE_IDS = (4, 5, 9, 10, 11, 12)
EXTRAS = "description,license,date_upload,date_taken,owner_name,o_dims,tags,media,path_alias,url_l,url_c,url_z,url_o"
# Largest first, but not originals (can be huge) unless nothing else is there.
URL_PREFERENCE = ("l", "c", "z", "o", "m")


def license_ids_for(policy: LicensePolicy | None) -> tuple[int, ...]:
    """The Flickr license ids ``policy`` admits, for the server-side ``license`` filter."""
    if policy is None:
        return DEFAULT_LICENSE_IDS
    return tuple(i for i, lic in FLICKR_LICENSES.items() if policy.allows(lic))


def _check(body: Any, response: httpx.Response) -> None:
    if not isinstance(body, Mapping):
        raise SourceError("flickr: expected a JSON object")
    if body.get("stat") == "fail":
        code = as_int(body.get("code"))
        message = str(body.get("message", ""))
        if code in TRANSIENT_CODES:
            raise RetryableError(f"flickr error {code}: {message}")
        raise SourceError(f"flickr error {code}: {message}")
    if body.get("stat") != "ok" or not isinstance(body.get("photos"), Mapping):
        raise SourceError(f"flickr: unexpected response (stat={body.get('stat')!r})")
    if not isinstance(body["photos"].get("photo") or [], list):
        raise SourceError("flickr: expected `photos.photo` to be a list")


class FlickrSource(HttpSource):
    name = "flickr"
    terms = (
        "per-photo licenses (server-side filter to admitted ones); API terms: non-commercial key unless "
        "agreed otherwise, store photos only for reasonable periods, honour removals; opt-in"
    )
    key_required = True

    def search_language(self, lang: str) -> str | None:
        return ""  # free text in any language; Flickr has no language parameter

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        page_no = int((state or {}).get("page", 1))
        size = max(1, min(int(per_page), MAX_PER_PAGE))
        ids = license_ids_for(self.policy)
        if not ids:
            return Page(hits=[], next_state=None, total=0)
        params = {
            "method": "flickr.photos.search",
            "api_key": self.key,
            "format": "json",
            "nojsoncallback": "1",
            "text": query,
            "license": ",".join(str(i) for i in ids),
            "content_type": "1",
            "media": "photos",
            "safe_search": "1",
            "sort": "relevance",
            "extras": EXTRAS,
            "per_page": size,
            "page": page_no,
        }
        body = self.http.get_json(self.url("/"), params, check=_check)
        photos = body["photos"]
        items = photos.get("photo") or []
        hits, dropped = self.read_page(items, self._hit, first_rank=(page_no - 1) * size + 1)
        pages = as_int(photos.get("pages")) or 0
        more = bool(items) and page_no < pages and page_no * size < MAX_RESULTS
        return Page(hits=hits, next_state={"page": page_no + 1} if more else None,
                    total=as_int(photos.get("total")), dropped=dropped)

    def _hit(self, p: Mapping[str, Any], rank: int) -> Hit | None:
        size = next((s for s in URL_PREFERENCE if http_url(p.get(f"url_{s}"))), None)
        if size is None:
            return None
        lic = from_flickr(p.get("license"))
        owner = text(p.get("owner"))
        photo_id = text(p.get("id"))
        landing = f"https://www.flickr.com/photos/{owner}/{photo_id}/"
        author = text(p.get("ownername")) or owner
        title = text(p.get("title"))
        desc = p.get("description")
        desc = desc.get("_content", "") if isinstance(desc, Mapping) else str(desc or "")
        return Hit(
            source=self.name,
            source_image_id=photo_id,
            file_url=http_url(p[f"url_{size}"]),
            landing_url=landing,
            license=lic,
            license_raw=str(p.get("license", "")),
            author=author,
            author_raw=text(p.get("ownername")),
            attribution=attribution_line(title, author, lic, landing, self.name),
            title=title,
            width=as_int(p.get(f"width_{size}")),
            height=as_int(p.get(f"height_{size}")),
            mime="image/jpeg" if str(p.get(f"url_{size}")).lower().endswith((".jpg", ".jpeg")) else None,
            rank=rank,
            extra={
                "owner": owner,
                "size_suffix": size,
                "original_width": as_int(p.get("o_width")),
                "original_height": as_int(p.get("o_height")),
                "tags": str(p.get("tags") or "").split(),
                "description": html_to_text(desc)[:2000],
                "date_upload": as_int(p.get("dateupload")),
                "date_taken": p.get("datetaken"),
            },
        )
