"""What every HTTP source client shares: settings, the polite client, the key check."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

import httpx

from corpus.config import USER_AGENT, SourceSettings
from corpus.licenses import LicensePolicy
from corpus.sources.base import Hit, SourceError
from corpus.sources.http import SECRET_PARAMS, PoliteClient

__all__ = ["HttpSource", "MissingKeyError", "as_int", "text", "http_url", "read_item", "MALFORMED"]


class MissingKeyError(SourceError):
    """A source that needs an API key was asked for without one."""


class HttpSource:
    """Base of the five clients. Subclasses set ``name``, ``terms`` and implement ``search``."""

    name: str = ""
    terms: str = ""
    key_required: bool = False
    reset_header: Literal["seconds", "epoch"] | None = None

    def __init__(
        self,
        settings: SourceSettings,
        user_agent: str = USER_AGENT,
        *,
        policy: LicensePolicy | None = None,
        cache_dir: Path | str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if self.key_required and not settings.api_key:
            raise MissingKeyError(
                f"{self.name} needs an API key: set CORPUS_{self.name.upper()}_API_KEY "
                f"(or api_key in [sources.{self.name}] of corpus.toml)"
            )
        if not settings.base_url:
            raise SourceError(f"{self.name}: no base_url configured (CORPUS_{self.name.upper()}_BASE_URL)")
        self.settings = settings
        self.policy = policy
        self.http = PoliteClient(
            settings,
            user_agent,
            headers=self._headers(),
            secret_params=SECRET_PARAMS,
            reset_header=self.reset_header,
            cache_dir=cache_dir,
            sleep=sleep,
            clock=clock,
            wall=wall,
            transport=transport,
        )

    @property
    def key(self) -> str:
        return self.settings.api_key.get() if self.settings.api_key else ""

    def _headers(self) -> Mapping[str, str]:
        return {}

    def url(self, path: str = "") -> str:
        return self.settings.base_url.rstrip("/") + path

    def read_page(
        self,
        items: Sequence[Any],
        make: Callable[..., Hit | None],
        *,
        first_rank: int | None = None,
        id_fields: Sequence[str] = ("id",),
        unusable: str = "no-url",
        skip: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> tuple[list[Hit], dict[str, int]]:
        """The page loop every source shares: each result item through ``make`` (the source's own
        item parser, see :func:`read_item`), with the item's rank in the whole result list as
        second argument when ``first_rank`` is given. Returns the hits and what was dropped, by
        reason: ``skip(item)`` names a reason to drop an item unread (Pixabay's AI flags),
        :data:`MALFORMED` counts items that cannot be read, ``unusable`` those ``make`` turned
        down (no file URL)."""
        hits: list[Hit] = []
        dropped: dict[str, int] = {}
        for i, item in enumerate(items):
            reason = skip(item) if skip is not None and isinstance(item, Mapping) else None
            if reason is None:
                args = () if first_rank is None else (first_rank + i,)
                hit = read_item(item, make, *args, id_fields=id_fields)
                if isinstance(hit, Hit):
                    hits.append(hit)
                    continue
                reason = MALFORMED if hit == MALFORMED else unusable
            dropped[reason] = dropped.get(reason, 0) + 1
        return hits, dropped

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "HttpSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings.base_url}>"


def as_int(value: Any) -> int | None:
    """APIs send numbers as ints, strings ("30") or floats; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


#: The ``Page.dropped`` reason for result items a client could not read.
MALFORMED = "malformed"


def text(value: Any) -> str:
    """A field the API documents as a string: '' for null, and for objects or lists (which are
    not text, and whose repr must not end up in an attribution line)."""
    if value is None or isinstance(value, (Mapping, list, tuple, bool)):
        return ""
    return str(value).strip()


def http_url(value: Any) -> str:
    """An http(s) URL (protocol-relative ones made https), or '' for anything else: file://,
    javascript:, numbers, objects."""
    url = text(value)
    if url.startswith("//"):
        url = "https:" + url
    return url if url.lower().startswith(("http://", "https://")) else ""


def read_item(item: Any, make: Callable[..., Hit | None], *args: Any, id_fields: Sequence[str] = ("id",)) -> Hit | str | None:
    """``make(item, *args)`` for one result item, or :data:`MALFORMED` when the item is not an
    object, has no id (an id "None" would merge unrelated images), or has fields of a shape the
    reader cannot use. One bad item must not cost the page's other hits."""
    if not isinstance(item, Mapping) or not any(text(item.get(f)) for f in id_fields):
        return MALFORMED
    try:
        return make(item, *args)
    except (AttributeError, TypeError, ValueError, KeyError):
        return MALFORMED
