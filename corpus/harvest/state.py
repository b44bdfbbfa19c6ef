"""The state a harvest's threads share, and the messages they pass.

Who owns what (see :mod:`corpus.harvest.run` for the whole picture): the searchers
(:mod:`~corpus.harvest.searcher`) post :class:`PageEvent`s to ``results``; the writer
(:mod:`~corpus.harvest.writer`) turns pages into :class:`Task`s on a source's ``work`` queue;
the download workers (:mod:`~corpus.harvest.downloader`) post a :class:`Result` for each. The
``cond`` condition guards the counters the searchers wait on (a class's kept and in-flight
images, a source's backlog).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from corpus.config import Settings
from corpus.errors import CorpusError
from corpus.harvest import files
from corpus.harvest.known import KnownImages, Ref
from corpus.harvest.options import HarvestOptions, ProgressSink
from corpus.harvest.plan import Bucket, ClassQuota, PlannedQuery
from corpus.harvest.report import HarvestReport, StageTimes
from corpus.harvest.verify import Limits
from corpus.licenses import LicensePolicy
from corpus.sources.base import Hit, Page, Source
from corpus.storage import as_data_dir
from corpus.store.models import HarvestQuery
from ontology.model import OntologyClassData

__all__ = ["RunState", "Ticket", "Query", "ClassState", "Task", "Result", "PageEvent", "SearcherDone", "END",
           "describe_error", "bucket"]


@dataclass(eq=False)
class Ticket:
    """One page's results; the query's page_state advances once all of them are stored."""

    query: "Query"
    next_state: dict[str, Any] | None
    start_state: dict[str, Any] | None = None  # the state this page was fetched with
    n_hits: int = 0
    pending: int = 0
    closed: bool = False
    full: bool = True  # every hit of the page was handled (not cut short by the class target)


@dataclass(eq=False)
class Query:
    planned: PlannedQuery
    id: int
    class_id: int
    source: str
    row: HarvestQuery
    state: dict[str, Any] | None  # the searcher's view: the next page to fetch
    exhausted: bool
    tickets: collections.deque = field(default_factory=collections.deque)


@dataclass(eq=False)
class ClassState:
    ontology_class: OntologyClassData
    target: int
    kept: int = 0  # stored images linked to the class (before and during this run)
    inflight: int = 0
    quota: ClassQuota | None = None  # its fair shares by language and source (plan.ClassQuota)


@dataclass(eq=False)
class Task:
    key: tuple[str, str]
    hit: Hit
    query: Query | None
    ticket: Ticket | None
    class_id: int
    extra: list = field(default_factory=list)  # (query, hit, ticket) found while in flight
    retry: Ref | None = None  # a failed row being retried


@dataclass
class Result:
    task: Task
    ok: bool
    reason: str = ""
    detail: str = ""
    permanent: bool = True
    sha1: str | None = None
    phash: str | None = None
    width: int | None = None
    height: int | None = None
    mime: str | None = None
    nbytes: int | None = None
    local_path: str | None = None
    wrote: bool = False  # the file is in place under local_path with these bytes
    created: bool = False  # ... and this run created it (only then may the run delete it again)
    claim: str | None = None  # the data folder's claim on it, dropped once the row is committed
    local: bool = False  # a local write error (disk full, read-only): the folder's fault, not the image's


@dataclass
class PageEvent:
    query: Query
    page: Page
    done: threading.Event = field(default_factory=threading.Event)
    full: bool = False


@dataclass
class SearcherDone:
    source: str
    error: str | None = None  # why the source stopped early
    failed_queries: int = 0
    last_error: str | None = None


END = object()


class RunState:
    """Everything the searchers, the download workers and the writer share during one run."""

    def __init__(self, settings: Settings, sources: Mapping[str, Source], options: HarvestOptions,
                 progress: ProgressSink, stop: threading.Event) -> None:
        self.settings = settings
        self.sources = dict(sources)
        self.opt = options
        self.progress = progress
        self.stop = stop
        self.data_dir: Path | str = as_data_dir(settings.data_dir)  # a folder, or an fsspec URL
        self.folder: files.DataFolder | None = None  # set under the lock, before any thread starts
        self.policy = LicensePolicy.parse(options.license_policy)
        self.limits = Limits(min_size=options.min_size, max_pixels=options.max_pixels)
        self.report = HarvestReport(status="running")
        self.known = KnownImages()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.cond = threading.Condition()
        self.backlog: collections.Counter = collections.Counter()  # source -> queued + in flight
        self.work: dict[str, queue.SimpleQueue] = {}
        self.threads: list[threading.Thread] = []
        self.worker_times: list[StageTimes] = []
        self.inflight: dict[tuple[str, str], Task] = {}
        self.classes: dict[int, ClassState] = {}
        self.queries: list[Query] = []
        self.source_ids: dict[str, int] = {}
        self.searchers_running = 0
        self.released = False

    def enqueue(self, task: Task) -> None:
        """Hand a download to its source's workers (writer thread only)."""
        src = task.key[0]
        self.inflight[task.key] = task
        self.classes[task.class_id].inflight += 1
        with self.cond:
            self.backlog[src] += 1
            if task.query is not None:
                self.classes[task.class_id].quota.add_inflight(bucket(task.query))
        self.work[src].put(task)

    def release(self) -> None:
        """Tell every thread to end and give them ``stop_grace_s`` (once) to do so. Threads that
        are still blocked (a download waiting on a silent server) are daemons and are left behind."""
        with self.cond:
            self.cond.notify_all()
        for q in self.work.values():
            for _ in range(64):
                q.put(END)
        budget = 0.0 if self.released else self.opt.stop_grace_s
        self.released = True
        deadline = time.monotonic() + budget
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))


def bucket(q: Query) -> Bucket:
    """Where a query searches: its language and source (what a fair share is counted by)."""
    return (q.planned.lang, q.source)


def describe_error(exc: BaseException) -> str:
    """An exception in one line: the library's own errors by their message (written for people),
    any other named by its type (``ConnectError: ...``)."""
    msg = str(exc) or type(exc).__name__
    return msg if isinstance(exc, CorpusError) or type(exc).__name__ in msg else f"{type(exc).__name__}: {msg}"
