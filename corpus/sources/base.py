"""The contract between image-source clients and the harvest pipeline.

A client turns (query text, language, paging state) into a :class:`Page` of :class:`Hit`s. The
pipeline stores ``Page.next_state`` after each page, so a rerun resumes exactly where the last
one stopped; ``next_state is None`` means the query is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from corpus.errors import RemoteError
from corpus.licenses import License


class SourceError(RemoteError):
    """A source failed in a way retries did not fix (bad key, malformed response, ...).

    The message is safe to show: it never contains an API key.
    """


@dataclass(frozen=True)
class Hit:
    source: str  # "commons", "openverse", "pexels", "pixabay", "flickr"
    source_image_id: str
    file_url: str  # what we download (a large thumbnail where the source offers one)
    landing_url: str
    license: License  # normalised
    license_raw: str  # the source's own license value
    author: str = ""  # plain text
    author_raw: str = ""  # as the source gave it (Commons: HTML)
    attribution: str = ""  # a ready attribution line
    title: str = ""
    width: int | None = None
    height: int | None = None
    mime: str | None = None
    sha1: str | None = None  # Commons gives the file's sha1 (of the original, not the thumbnail)
    rank: int | None = None  # 1-based position in the result list of its query
    extra: dict[str, Any] = field(default_factory=dict)  # tags, flags such as noAiTraining, ...


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    next_state: dict[str, Any] | None  # None: no more pages
    total: int | None = None
    # Hits the client dropped itself and why (e.g. {"noAiTraining": 3}), for the summary table.
    dropped: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    name: str
    #: Terms in one line, shown by `corpus harvest --help` and stored in the sources table.
    terms: str

    def search_language(self, lang: str) -> str | None:
        """The source's own language code for our ISO 639-1 ``lang``, '' when the source takes
        any language as plain text, or None when it cannot search in that language."""

    def search(self, query: str, lang: str, state: dict[str, Any] | None = None, per_page: int = 50) -> Page:
        """One page of results for ``query``; ``state`` is the previous page's ``next_state``."""

    def close(self) -> None: ...
