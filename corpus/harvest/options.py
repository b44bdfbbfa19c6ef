"""What a harvest is asked to do (:class:`HarvestOptions`) and what it tells its caller while it
runs (:class:`ProgressSink`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from corpus.errors import check_range
from corpus.harvest.dedup import DEFAULT_NEAR_DUP_BITS
from corpus.harvest.fetch import DEFAULT_DEADLINE_S, DEFAULT_MAX_BYTES
from corpus.harvest.plan import DEFAULT_KINDS, DEFAULT_MAX_LEMMAS
from corpus.harvest.verify import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIZE
from ontology.model import OntologyClassData

__all__ = ["HarvestOptions", "ProgressSink"]


@dataclass(frozen=True)
class HarvestOptions:
    domain: str
    classes: tuple[str, ...] = ()  # synsets or names; empty: every class of ``kinds``
    languages: tuple[str, ...] = ()  # ISO 639-1; empty: every language the ontology has
    kinds: tuple[str, ...] = DEFAULT_KINDS
    per_class: int = 100  # images kept per class, shared fairly by its languages and sources
    per_language: int | None = None  # instead: this many per language (and class), shared by its sources
    per_page: int = 50
    max_lemmas: int = DEFAULT_MAX_LEMMAS
    license_policy: str = "default"
    min_size: int = DEFAULT_MIN_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    near_dup_bits: int = DEFAULT_NEAR_DUP_BITS
    retry_failed: int = 3  # attempts in all (over runs) for a transiently failed download
    download_retries: int = 2  # within a run, after the first attempt (429, 5xx, timeouts)
    retry_backoff_s: float = 0.5
    dry_run: bool = False
    fsync: bool = True
    commit_every: int = 64  # images per transaction ...
    commit_interval_s: float = 1.0  # ... or this long, whichever comes first
    max_search_failures: int = 3  # consecutive failed searches before a source is given up
    backlog_per_worker: int = 8  # queued downloads per worker before the searcher waits
    download_deadline_s: float = DEFAULT_DEADLINE_S  # total time one download attempt may take
    heartbeat_s: float = 30.0  # how often a running harvest says it is alive (harvest_runs.heartbeat_at)
    stale_after_s: float = 120.0  # a run silent this long (or whose process is gone) was killed
    stop_grace_s: float = 2.0  # after a stop, how long downloads in flight may take to finish
    # Claim classes before harvesting them, so that a team's harvests share one store
    # (corpus.claims, corpus.harvest.team); None: on for PostgreSQL. A killed harvest's classes
    # free up after claim_ttl_s.
    team: bool | None = None
    claim_ttl_s: float = 120.0

    def __post_init__(self) -> None:
        # An unknown code would plan no query for it and end "done" in silence: refuse it up front.
        from ontology.languages import check_languages

        object.__setattr__(self, "languages", check_languages(self.languages, param="languages"))
        # The numbers a caller sets, in the library's words ("per_class must be at least 1, got 0").
        for param, low, high in (("per_class", 1, None), ("per_language", 1, None), ("per_page", 1, 500),
                                 ("min_size", 1, None), ("near_dup_bits", 0, 32), ("download_deadline_s", 1.0, None)):
            check_range(param, getattr(self, param), low, high)


class ProgressSink:
    """What a harvest tells its caller while it runs (the CLI draws rich bars from it)."""

    def start(self, classes: Sequence[OntologyClassData], per_class: int, kept: Mapping[str, int]) -> None: ...

    def kept(self, synset: str, kept: int) -> None: ...

    def note(self, message: str) -> None: ...
