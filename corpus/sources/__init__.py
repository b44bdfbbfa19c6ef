"""Image-source clients: they know HTTP and their API's shape, nothing of the store.

``make_source("commons", settings)`` builds a client for one source from the settings
(``settings.sources[name]``: base URL, key, politeness). ``SOURCES`` lists the names,
``TERMS`` what each source's terms allow (for ``--help``), ``DEFAULT_ON`` the ones a harvest
uses unless told otherwise, ``KEY_REQUIRED`` those that need an API key.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Callable, Sequence

import httpx

from corpus.config import Settings, get_settings
from corpus.errors import NotFoundError, UsageError
from corpus.licenses import LicensePolicy
from corpus.sources.base import Hit, Page, Source, SourceError
from corpus.sources.common import MissingKeyError

__all__ = [
    "SOURCES",
    "DEFAULT_ON",
    "KEY_REQUIRED",
    "TERMS",
    "make_source",
    "make_sources",
    "enabled_sources",
    "source_class",
    "Hit",
    "Page",
    "Source",
    "SourceError",
    "MissingKeyError",
]

SOURCES: tuple[str, ...] = ("commons", "openverse", "pexels", "pixabay", "flickr")
DEFAULT_ON: tuple[str, ...] = ("commons", "openverse")
KEY_REQUIRED: frozenset[str] = frozenset({"pexels", "pixabay", "flickr"})

_CLASSES = {
    "commons": ("corpus.sources.commons", "CommonsSource"),
    "openverse": ("corpus.sources.openverse", "OpenverseSource"),
    "pexels": ("corpus.sources.pexels", "PexelsSource"),
    "pixabay": ("corpus.sources.pixabay", "PixabaySource"),
    "flickr": ("corpus.sources.flickr", "FlickrSource"),
}


class UnknownSource(SourceError, NotFoundError):
    """No image source of that name."""


def source_class(name: str) -> type:
    try:
        module, cls = _CLASSES[name]
    except KeyError:
        raise UnknownSource(f"unknown image source {name!r}; known: {', '.join(SOURCES)}", param="sources") from None
    return getattr(importlib.import_module(module), cls)


def _terms() -> dict[str, str]:
    out = {}
    for name in SOURCES:
        try:
            out[name] = source_class(name).terms
        except ImportError:  # a client not written yet must not break the others
            out[name] = ""
    return out


TERMS: dict[str, str] = _terms()


def make_source(
    name: str,
    settings: Settings | None = None,
    *,
    policy: LicensePolicy | None = None,
    cache_dir: Path | str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> Source:
    """A ready client for source ``name``.

    ``policy`` lets sources that can filter by license server-side (Flickr, Openverse) ask only
    for admitted licenses; the pipeline still checks every hit. ``cache_dir`` defaults to
    ``<data_dir>/cache/http/<name>`` for sources with ``cache_ttl_s > 0`` (Pixabay: 24 h, as its
    terms require). Raises :class:`MissingKeyError` when a key-requiring source has none.
    """
    settings = settings or get_settings()
    cls = source_class(name)
    src_settings = settings.source(name)
    if cache_dir is None and src_settings.cache_ttl_s > 0:
        from corpus.storage import is_url

        # The HTTP cache is this machine's business: with images in a bucket it stays local.
        root = Path.home() / ".cache" / "mic-corpus" if is_url(settings.data_dir) else Path(settings.data_dir)
        cache_dir = root / "cache" / "http" / name
    return cls(
        src_settings,
        settings.user_agent,
        policy=policy,
        cache_dir=cache_dir,
        sleep=sleep,
        clock=clock,
        wall=wall,
        transport=transport,
    )


def enabled_sources(settings: Settings | None = None) -> tuple[str, ...]:
    """The sources a harvest uses when none are named: those enabled in the settings, in order."""
    settings = settings or get_settings()
    return tuple(n for n in SOURCES if n in settings.sources and settings.sources[n].enabled)


def make_sources(
    names: Sequence[str] | None = None,
    settings: Settings | None = None,
    *,
    policy: LicensePolicy | None = None,
) -> dict[str, Source]:
    """Ready clients by name for ``names`` (default: :func:`enabled_sources`).

    Every name is checked before any client is made; when one cannot be made (a missing key, a
    bad base URL) the ones already made are closed before the error goes up. The caller closes
    the clients it gets."""
    settings = settings or get_settings()
    names = tuple(dict.fromkeys(names or ())) or enabled_sources(settings)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UnknownSource(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(SOURCES)}",
                            param="sources")
    if not names:
        raise UsageError("no image source is enabled: name the sources to search, or enable one in the settings",
                         param="sources")
    clients: dict[str, Source] = {}
    try:
        for n in names:
            clients[n] = make_source(n, settings, policy=policy)
    except BaseException:
        for c in clients.values():
            c.close()
        raise
    return clients
