"""Harvest orchestration: search pages, download, verify, hash, dedup, store, resume.

Threads and who owns what:

* one **searcher** per source pages through that source's queries, class by class, waiting
  while a class has enough images kept or in flight, or while the source's download backlog is
  full. API politeness (rate, retries) is the source client's job.
* ``file_concurrency`` **download workers** per source, each with its own HTTP client
  (:mod:`corpus.harvest.fetch`): fetch, verify, hash, and write the file atomically.
* the calling thread is the **store writer**: the only one that touches the database and the
  dedup indexes' decisions. It turns pages into download tasks (after the license policy and the
  "seen before" check), turns finished downloads into rows, and commits in small batches.

Crash safety, by construction:

* a file is complete under its final name before its row is committed; a row is never
  committed for a file that is not there. Files without rows (a kill between the two) and
  temporary files are removed when the next harvest of the same store starts (under the harvest
  lock), and only those: the store's claim proves it wrote them (:mod:`corpus.harvest.files`).
* a query's ``page_state`` advances only in the commit that also holds every row from that
  page, so a rerun resumes at the first page whose results are not all stored, and hits it
  already stored are recognised by (source, source_image_id) and not fetched again.
* rejections are rows too (status ``rejected``, ``reject_reason``), so a rerun does not fetch
  them again; transient failures (timeouts, 5xx) are ``failed`` rows retried by later runs.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.config import Settings
from corpus.errors import NotFoundError
from corpus.harvest import files
from corpus.harvest.dedup import DEFAULT_NEAR_DUP_BITS, PhashIndex, Sha1Index
from corpus.harvest.fetch import DEFAULT_DEADLINE_S, DEFAULT_MAX_BYTES, FetchConfig, Fetcher, FetchFailed, HostLimiter
from corpus.harvest.hashing import phash_hex, sha1_hex
from corpus.harvest.lock import HarvestLock, HarvestLocked
from corpus.harvest.sanitize import UnusableHit, clean_hit
from corpus.harvest.plan import DEFAULT_KINDS, DEFAULT_MAX_LEMMAS, ClassSpec, PlannedQuery, plan_queries, select_classes
from corpus.harvest.verify import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIZE, Limits, Rejected, check
from corpus.licenses import LicensePolicy, attribution_line
from corpus.storage import as_data_dir
from corpus.sources.base import Hit, Page, Source
from corpus.store.models import Annotation, Domain, HarvestQuery, HarvestRun, Image, ImageHit, Label, OntologyClass, Proposal
from corpus.store.models import Source as SourceRow
from corpus.store.models import utcnow

log = logging.getLogger(__name__)

__all__ = ["HarvestOptions", "HarvestReport", "ProgressSink", "harvest", "load_classes", "StageTimes"]


@dataclass(frozen=True)
class HarvestOptions:
    domain: str
    classes: tuple[str, ...] = ()  # synsets or names; empty: every class of ``kinds``
    languages: tuple[str, ...] = ()  # ISO 639-1; empty: every language the ontology has
    kinds: tuple[str, ...] = DEFAULT_KINDS
    per_class: int = 100  # images kept per class (over all its languages and sources)
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


class ProgressSink:
    """What a harvest tells its caller while it runs (the CLI draws rich bars from it)."""

    def start(self, classes: Sequence[ClassSpec], per_class: int, kept: Mapping[str, int]) -> None: ...

    def kept(self, synset: str, kept: int) -> None: ...

    def note(self, message: str) -> None: ...


@dataclass
class StageTimes:
    """Thread CPU seconds spent per stage (all workers together), plus counts."""

    download: float = 0.0
    verify: float = 0.0
    hash: float = 0.0
    write: float = 0.0
    store: float = 0.0  # the writer thread: rows, dedup decisions, commits
    images: int = 0

    def add(self, other: "StageTimes") -> None:
        for k in ("download", "verify", "hash", "write", "store"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.images += other.images


@dataclass
class ClassReport:
    synset: str
    name: str
    found: int = 0  # hits returned by searches
    kept: int = 0  # new images stored this run
    linked: int = 0  # images stored before (other class/source/query) now found for this class too
    outcomes: collections.Counter = field(default_factory=collections.Counter)  # reason -> n


@dataclass
class HarvestReport:
    status: str  # done, interrupted, failed, dry_run
    run_id: int | None = None
    planned: list[PlannedQuery] = field(default_factory=list)
    classes: dict[str, ClassReport] = field(default_factory=dict)  # by synset
    rejected: collections.Counter = field(default_factory=collections.Counter)  # reason -> n
    failed: collections.Counter = field(default_factory=collections.Counter)  # reason -> n
    dropped: collections.Counter = field(default_factory=collections.Counter)  # by the clients
    source_errors: dict[str, str] = field(default_factory=dict)  # sources that stopped early
    query_errors: dict[str, str] = field(default_factory=dict)  # sources with some failed searches
    cleaned: files.CleanReport = field(default_factory=files.CleanReport)
    retried: int = 0
    error: str | None = None  # why the run stopped early (a local write error), for the user
    stale_runs: list[int] = field(default_factory=list)  # killed runs found and marked interrupted
    shared_with: list[str] = field(default_factory=list)  # other stores writing into the data folder
    times: StageTimes = field(default_factory=StageTimes)
    wall_s: float = 0.0

    @property
    def found(self) -> int:
        return sum(c.found for c in self.classes.values())

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.classes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "found": self.found,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "failed": dict(self.failed),
            "dropped": dict(self.dropped),
            "source_errors": dict(self.source_errors),
            "query_errors": dict(self.query_errors),
            "classes": {s: {"found": c.found, "kept": c.kept, "linked": c.linked} for s, c in self.classes.items()},
            "cleaned": {"temp_files": self.cleaned.temp_files, "orphans": self.cleaned.orphans},
            "retried": self.retried,
            "error": self.error,
            "stale_runs": list(self.stale_runs),
            "wall_s": round(self.wall_s, 3),
        }


# ---------------------------------------------------------------------------------------------
# Classes and queries from the store


def load_classes(session: Session, domain: str) -> list[ClassSpec]:
    """The domain's classes with their lemmas per language, as stored."""
    dom = session.scalar(select(Domain).where(Domain.name == domain))
    if dom is None:
        return []
    rows = session.scalars(select(OntologyClass).where(OntologyClass.domain_id == dom.id).order_by(OntologyClass.id)).all()
    labels: dict[int, dict[str, tuple[str, ...]]] = collections.defaultdict(dict)
    for lab in session.scalars(select(Label).join(OntologyClass).where(OntologyClass.domain_id == dom.id)):
        labels[lab.class_id][lab.lang] = tuple(lab.lemmas or ())
    return [ClassSpec(c.synset, c.name, c.kind, labels.get(c.id, {}), c.id) for c in rows]


def classes_from_ontology(domain: str) -> list[ClassSpec]:
    """The domain's classes straight from the built ontology data (no store needed)."""
    from ontology import load_domain

    onto = load_domain(domain)
    return [
        ClassSpec(c.synset, c.name, c.kind, {lang: tuple(lab.lemmas) for lang, lab in c.labels.items()})
        for c in onto.classes
    ]


def ensure_domain(engine: Engine, domain: str) -> bool:
    """Load the domain's built ontology into the store when it is not there yet (True if loaded).

    Raises LookupError (``ontology.OntologyDataError``) for a domain that has no built data."""
    with Session(engine) as s:
        if s.scalar(select(Domain.id).where(Domain.name == domain)) is not None:
            return False
    from corpus.ontology_load import load_domain_into_store
    from ontology import load_domain

    onto = load_domain(domain)
    with Session(engine) as s:
        load_domain_into_store(s, onto)
        s.commit()
    return True


def _source_row(session: Session, name: str, base_url: str, terms: str) -> SourceRow:
    row = session.scalar(select(SourceRow).where(SourceRow.name == name))
    if row is None:
        row = SourceRow(name=name, base_url=base_url, terms=terms)
        session.add(row)
        session.flush()
    else:
        row.base_url, row.terms = base_url, terms
    return row


# ---------------------------------------------------------------------------------------------
# Internal state


@dataclass(eq=False)
class _Ticket:
    """One page's results; the query's page_state advances once all of them are stored."""

    query: "_Query"
    next_state: dict[str, Any] | None
    start_state: dict[str, Any] | None = None  # the state this page was fetched with
    n_hits: int = 0
    pending: int = 0
    closed: bool = False
    full: bool = True  # every hit of the page was handled (not cut short by the class target)


@dataclass(eq=False)
class _Query:
    planned: PlannedQuery
    id: int
    class_id: int
    source: str
    row: HarvestQuery
    state: dict[str, Any] | None  # the searcher's view: the next page to fetch
    exhausted: bool
    tickets: collections.deque = field(default_factory=collections.deque)


@dataclass(eq=False)
class _Class:
    spec: ClassSpec
    target: int
    kept: int = 0  # stored images linked to the class (before and during this run)
    inflight: int = 0


@dataclass(eq=False)
class _Ref:
    """An image row the writer knows: committed (``id``) or pending in the session (``row``)."""

    source: str
    status: str
    sha1: str | None = None
    local_path: str | None = None
    id: int | None = None
    row: Image | None = None
    classes: set = field(default_factory=set)
    idx: int = -1  # position in the writer's ref list (what the dedup indexes hold)
    pixels: int = 0  # width x height of the stored file (which near-duplicate copy is best)
    nbytes: int = 0
    created: bool = False  # its file was created by this run (so this run may delete it)
    superseded_by: "_Ref | None" = None  # a better copy replaced it (near-duplicates)
    counted_in: "ClassReport | None" = None  # the class report that counts it as kept in this run

    def image_id(self) -> int | None:
        return self.id if self.id is not None else (self.row.id if self.row is not None else None)


@dataclass(eq=False)
class _Task:
    key: tuple[str, str]
    hit: Hit
    query: _Query | None
    ticket: _Ticket | None
    class_id: int
    extra: list = field(default_factory=list)  # (query, hit, ticket) found while in flight
    retry: _Ref | None = None  # a failed row being retried


@dataclass
class _Result:
    task: _Task
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
class _PageEvent:
    query: _Query
    page: Page
    done: threading.Event = field(default_factory=threading.Event)
    full: bool = False


@dataclass
class _SearcherDone:
    source: str
    error: str | None = None  # why the source stopped early
    failed_queries: int = 0
    last_error: str | None = None


_END = object()


def _describe_error(exc: BaseException) -> str:
    msg = str(exc) or type(exc).__name__
    return msg if type(exc).__name__ in msg else f"{type(exc).__name__}: {msg}"


def _is_unreachable(exc: BaseException) -> bool:
    import httpx

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError)):
            return True
        e = e.__cause__ or e.__context__
    text = str(exc).lower()
    return any(s in text for s in ("name resolution", "connecterror", "connection refused", "network is unreachable", "cannot reach"))


# ---------------------------------------------------------------------------------------------
# The harvest


class _Harvest:
    def __init__(self, engine: Engine, settings: Settings, sources: Mapping[str, Source],
                 options: HarvestOptions, progress: ProgressSink, stop: threading.Event) -> None:
        self.engine = engine
        self.settings = settings
        self.sources = dict(sources)
        self.opt = options
        self.progress = progress
        self.stop = stop
        self.data_dir = as_data_dir(settings.data_dir)  # a folder, or an fsspec URL
        self.policy = LicensePolicy.parse(options.license_policy)
        self.limits = Limits(min_size=options.min_size, max_pixels=options.max_pixels)
        self.report = HarvestReport(status="running")
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.cond = threading.Condition()
        self.backlog: collections.Counter = collections.Counter()  # source -> queued + in flight
        self.work: dict[str, queue.SimpleQueue] = {}
        self.threads: list[threading.Thread] = []
        self.worker_times: list[StageTimes] = []
        self.sha1_index = Sha1Index()
        self.phash_index = PhashIndex()
        self.refs: list[_Ref] = []
        self.by_key: dict[tuple[str, str], _Ref] = {}
        self.hit_pairs: set[tuple[int, int]] = set()  # (id(ref), query id)
        self.ref_ids: dict[int, _Ref] = {}  # image id -> ref
        self.stored_paths: set[str] = set()
        self.inflight: dict[tuple[str, str], _Task] = {}
        self.classes: dict[int, _Class] = {}
        self.queries: list[_Query] = []
        self.source_ids: dict[str, int] = {}
        self.searchers_running = 0
        self.session: Session | None = None
        self.batch_refs: list[_Ref] = []
        self.batch_deletes: list[str] = []  # files this run created and does not keep
        self.batch_claims: list[str] = []  # claims to drop once the batch is committed
        self.batch_n = 0
        self.last_commit = time.monotonic()
        self.run_id: int | None = None
        self.run_row: HarvestRun | None = None
        self.last_beat = time.monotonic()
        self.folder: files.DataFolder | None = None  # set under the lock, before any thread starts
        self.released = False

    # -- set-up --------------------------------------------------------------------------------

    def plan(self, session: Session) -> list[ClassSpec]:
        specs = load_classes(session, self.opt.domain)
        if not specs:
            raise NotFoundError(f"domain {self.opt.domain!r} has no classes in the store")
        picked = select_classes(specs, self.opt.classes or None, self.opt.kinds)
        langs = self.opt.languages or _languages_of(picked)
        self.report.planned = plan_queries(picked, self.sources, langs, self.opt.max_lemmas)
        for c in picked:
            self.report.classes[c.synset] = ClassReport(c.synset, c.name)
        return picked

    def prepare(self, session: Session, picked: Sequence[ClassSpec]) -> None:
        for name, src in self.sources.items():
            base = self.settings.sources[name].base_url if name in self.settings.sources else ""
            self.source_ids[name] = _source_row(session, name, base, getattr(src, "terms", "")).id
        id_to_source = {v: k for k, v in self.source_ids.items()}
        for sid, name in session.execute(select(SourceRow.id, SourceRow.name)):
            id_to_source.setdefault(sid, name)

        # Query rows (created once, reused by every later run).
        existing = {
            (q.class_id, q.lang, q.source_id, q.query_text): q
            for q in session.scalars(
                select(HarvestQuery).where(HarvestQuery.class_id.in_([c.class_id for c in picked]))
            )
        }
        for pq in self.report.planned:
            key = (pq.class_id, pq.lang, self.source_ids[pq.source], pq.text)
            row = existing.get(key)
            if row is None:
                row = HarvestQuery(class_id=pq.class_id, lang=pq.lang, source_id=self.source_ids[pq.source],
                                   query_text=pq.text, page_state=None, exhausted=False, hits_seen=0)
                session.add(row)
                existing[key] = row
            self.queries.append(_Query(pq, 0, pq.class_id, pq.source, row, row.page_state, bool(row.exhausted)))
        session.flush()
        for q in self.queries:
            q.id = q.row.id

        # What the store already holds: every image (dedup spans domains and sources).
        for img_id, src_id, sid, sha1, phash, status, path, w, h, nbytes in session.execute(
            select(Image.id, Image.source_id, Image.source_image_id, Image.sha1, Image.phash, Image.status,
                   Image.local_path, Image.width, Image.height, Image.bytes)
        ):
            ref = _Ref(id_to_source.get(src_id, str(src_id)), status, sha1, path, id=img_id,
                       pixels=(w or 0) * (h or 0), nbytes=nbytes or 0)
            self._index(ref, sid, phash)
        for img_id, src_id, sid in session.execute(
            select(ImageHit.image_id, HarvestQuery.source_id, ImageHit.source_image_id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
        ):
            ref = self.ref_ids.get(img_id)
            if ref is not None and sid:
                self.by_key.setdefault((id_to_source.get(src_id, str(src_id)), sid), ref)
        class_ids = [c.class_id for c in picked]
        for img_id, q_id, cls_id in session.execute(
            select(ImageHit.image_id, ImageHit.query_id, HarvestQuery.class_id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
            .where(HarvestQuery.class_id.in_(class_ids))
        ):
            ref = self.ref_ids.get(img_id)
            if ref is not None:
                self.hit_pairs.add((id(ref), q_id))
                ref.classes.add(cls_id)
        for c in picked:
            self.classes[c.class_id] = _Class(c, self.opt.per_class)
        for ref in self.refs:
            if ref.status == "stored":
                for cid in ref.classes:
                    if cid in self.classes:
                        self.classes[cid].kept += 1

    def _index(self, ref: _Ref, source_image_id: str, phash: str | None = None) -> None:
        ref.idx = len(self.refs)
        self.refs.append(ref)
        if ref.id is not None:
            self.ref_ids[ref.id] = ref
        self.by_key[(ref.source, source_image_id)] = ref
        if ref.sha1:
            self.sha1_index.add(ref.sha1, ref.idx)
        if ref.local_path:
            self.stored_paths.add(ref.local_path)  # every file a row of this store refers to
        if ref.status == "stored" and phash:
            self.phash_index.add(phash, ref.idx)

    # -- threads -------------------------------------------------------------------------------

    def start_threads(self, retry: Sequence[_Task]) -> None:
        limiter = HostLimiter()
        for name in self.sources:
            self.work[name] = queue.SimpleQueue()
        for task in retry:
            self._enqueue(task)
        for name in self.sources:
            s = self.settings.sources.get(name)
            n = max(1, s.file_concurrency if s else 2)
            cfg = FetchConfig(self.settings.user_agent, timeout_s=s.timeout_s if s else 30.0, max_bytes=self.opt.max_bytes,
                              retries=self.opt.download_retries, backoff_s=self.opt.retry_backoff_s,
                              deadline_s=self.opt.download_deadline_s)
            for i in range(n):
                t = threading.Thread(target=self._worker, args=(name, cfg, limiter), name=f"dl-{name}-{i}", daemon=True)
                self.threads.append(t)
        for name in self.sources:
            t = threading.Thread(target=self._searcher, args=(name,), name=f"search-{name}", daemon=True)
            self.threads.append(t)
            self.searchers_running += 1
        for t in self.threads:
            t.start()

    def _enqueue(self, task: _Task) -> None:
        src = task.key[0]
        self.inflight[task.key] = task
        self.classes[task.class_id].inflight += 1
        with self.cond:
            self.backlog[src] += 1
        self.work[src].put(task)

    def _worker(self, source: str, cfg: FetchConfig, limiter: HostLimiter) -> None:
        fetcher = Fetcher(cfg, limiter, self.stop)
        times = StageTimes()
        self.worker_times.append(times)
        try:
            while not self.stop.is_set():
                task = self.work[source].get()
                if task is _END or self.stop.is_set():
                    break
                self.results.put(self._process(task, fetcher, times))
        finally:
            fetcher.close()

    def _process(self, task: _Task, fetcher: Fetcher, times: StageTimes) -> _Result:
        clock = time.thread_time
        t0 = clock()
        try:
            try:
                got = fetcher.fetch(task.hit.file_url)
            finally:
                t1 = clock()
                times.download += t1 - t0
            try:
                checked = check(got.data, got.content_type, self.limits)
            finally:
                t2 = clock()
                times.verify += t2 - t1
            sha1 = sha1_hex(checked.data)
            phash = phash_hex(checked.small)
            t3 = clock()
            times.hash += t3 - t2
            rel = files.relative_path(sha1, checked.ext)
            if self.stop.is_set():  # no new file after a stop: the writer may already be gone
                return _Result(task, False, "interrupted", "", False)
            # Skip writing what the writer will not keep (it re-checks; these reads are a hint).
            # A near-duplicate that may be the better copy is written: the writer decides.
            placed = None
            if sha1 not in self.sha1_index and self._may_keep(phash, checked.width * checked.height, len(checked.data)):
                try:
                    placed = self.folder.place(rel, checked.data, fsync=self.opt.fsync)
                except OSError as exc:  # disk full, read-only: stop the run, blame no image
                    return _Result(task, False, "local_io", files.describe_os_error(exc, self.data_dir), False, local=True)
            times.write += clock() - t3
            times.images += 1
            return _Result(task, True, sha1=sha1, phash=phash, width=checked.width, height=checked.height,
                           mime=checked.mime, nbytes=len(checked.data), local_path=rel, wrote=placed is not None,
                           created=placed is not None and placed.created, claim=placed.claim if placed else None)
        except FetchFailed as exc:
            return _Result(task, False, exc.reason, exc.detail, exc.permanent)
        except Rejected as exc:
            return _Result(task, False, exc.reason, exc.detail, True)
        except Exception as exc:  # a bug or an exotic file must not stop the harvest
            log.exception("unexpected error on %s", task.hit.file_url)
            return _Result(task, False, "error", _describe_error(exc), False)

    def _may_keep(self, phash: str, pixels: int, nbytes: int) -> bool:
        """A download thread's guess (the writer decides): not a near-duplicate of a copy at
        least as good."""
        near = self.phash_index.nearest(phash, self.opt.near_dup_bits)
        if near is None:
            return True
        kept = _current(self.refs[near[0]])
        return (pixels, nbytes) > (kept.pixels, kept.nbytes)

    def _searcher(self, source: str) -> None:
        src = self.sources[source]
        failures = failed_queries = 0
        error: str | None = None
        last_error: str | None = None
        s = self.settings.sources.get(source)
        max_backlog = max(1, s.file_concurrency if s else 2) * self.opt.backlog_per_worker
        try:
            by_class: dict[int, list[_Query]] = collections.defaultdict(list)
            for q in self.queries:
                if q.source == source:
                    by_class[q.class_id].append(q)
            for class_id, qs in by_class.items():
                cls = self.classes[class_id]
                active = collections.deque(q for q in qs if not q.exhausted)
                while active and not self.stop.is_set():
                    with self.cond:
                        while not self.stop.is_set() and cls.kept < cls.target and (
                            cls.kept + cls.inflight >= cls.target or self.backlog[source] >= max_backlog
                        ):
                            self.cond.wait(0.5)
                    if self.stop.is_set() or cls.kept >= cls.target:
                        break
                    q = active.popleft()
                    try:
                        page = src.search(q.planned.text, q.planned.lang, q.state, self.opt.per_page)
                    except Exception as exc:  # the source's client already retried what it could
                        # This query is left for the next run (its page_state is unchanged);
                        # several failures in a row, or no connection at all, end the source.
                        failures += 1
                        failed_queries += 1
                        error = _describe_error(exc)
                        last_error = error
                        if _is_unreachable(exc) or failures >= self.opt.max_search_failures:
                            return
                        continue
                    failures, error = 0, None
                    ev = _PageEvent(q, page)
                    self.results.put(ev)
                    while not ev.done.wait(0.5):
                        if self.stop.is_set():
                            return
                    if ev.full:
                        q.state = page.next_state
                        if page.next_state is None:
                            q.exhausted = True
                            continue
                    active.append(q)
        except Exception as exc:
            error = _describe_error(exc)
            log.exception("searcher for %s failed", source)
        finally:
            self.results.put(_SearcherDone(source, error, failed_queries, last_error))

    # -- the writer ----------------------------------------------------------------------------

    def run_writer(self, session: Session) -> None:
        self.session = session
        while True:
            if self.stop.is_set():
                # Let the workers finish what they hold (they abandon downloads at the next
                # chunk), then store every complete result: fewer orphans for the next run.
                _release(self)
                self._drain_ready()
                break
            try:
                ev = self.results.get(timeout=0.2)
            except queue.Empty:
                ev = None
            t0 = time.thread_time()
            if ev is not None:
                self._handle(ev)
            if self.run_row is not None and time.monotonic() - self.last_beat >= self.opt.heartbeat_s:
                self.run_row.heartbeat_at = utcnow()  # committed with the next batch, within a second
                self.last_beat = time.monotonic()
                self.batch_n += 1
            if self.batch_n >= self.opt.commit_every or (
                self.batch_n and time.monotonic() - self.last_commit >= self.opt.commit_interval_s
            ):
                self._commit()
            self.report.times.store += time.thread_time() - t0
            if self.searchers_running == 0 and not self.inflight:
                break
        self._commit()

    def _drain_ready(self) -> None:
        """After a stop: store what already finished, release waiting searchers, nothing more."""
        while True:
            try:
                ev = self.results.get_nowait()
            except queue.Empty:
                return
            if isinstance(ev, _PageEvent):
                ev.full = False
                ev.done.set()
            elif isinstance(ev, _Result):
                self._on_result(ev)
            elif isinstance(ev, _SearcherDone):
                self._on_searcher_done(ev)

    def _handle(self, ev: object) -> None:
        if isinstance(ev, _Result):
            self._on_result(ev)
        elif isinstance(ev, _PageEvent):
            self._on_page(ev)
        elif isinstance(ev, _SearcherDone):
            self._on_searcher_done(ev)

    def _on_searcher_done(self, ev: _SearcherDone) -> None:
        self.searchers_running -= 1
        if ev.failed_queries and not ev.error:
            self.report.query_errors[ev.source] = f"{ev.failed_queries} search(es) failed, left for the next run; last: {ev.last_error}"
        if ev.error:
            self.report.source_errors[ev.source] = ev.error
            first = ev.error.splitlines()[0] if ev.error.strip() else ev.error
            self.progress.note(f"{ev.source} stopped: {first[:160]}")

    def _class_report(self, class_id: int) -> ClassReport:
        return self.report.classes[self.classes[class_id].spec.synset]

    def _on_page(self, ev: _PageEvent) -> None:
        q, page = ev.query, ev.page
        ticket = _Ticket(q, page.next_state, q.state)  # the searcher moves q.state only after ev.done
        q.tickets.append(ticket)
        cls = self.classes[q.class_id]
        crep = self._class_report(q.class_id)
        for reason, n in (page.dropped or {}).items():
            self.report.dropped[f"{q.source}:{reason}"] += n
        for hit in page.hits:
            try:
                hit = clean_hit(hit)
            except UnusableHit as exc:  # no row can hold it (an id over the column, ...): count, go on
                crep.found += 1
                ticket.n_hits += 1
                reason = f"bad_hit:{exc.reason}"
                crep.outcomes[reason] += 1
                self.report.rejected[reason] += 1
                continue
            key = (q.source, str(hit.source_image_id))
            ref = self.by_key.get(key)
            if ref is not None:
                crep.found += 1
                ticket.n_hits += 1
                self._add_hit(ref, q, hit, crep)
                continue
            task = self.inflight.get(key)
            if task is not None:
                crep.found += 1
                ticket.n_hits += 1
                task.extra.append((q, hit, ticket))
                ticket.pending += 1
                continue
            reason = self.policy.reason(hit.license)
            if reason is not None:
                crep.found += 1
                ticket.n_hits += 1
                self._new_row(q, hit, "rejected", reason[:64], crep)
                continue
            if cls.kept + cls.inflight >= cls.target:
                ticket.full = False
                break
            crep.found += 1
            ticket.n_hits += 1
            ticket.pending += 1
            self._enqueue(_Task(key, hit, q, ticket, q.class_id))
        ticket.closed = True
        ev.full = ticket.full
        ev.done.set()
        self._settle(q)

    def _settle(self, q: _Query) -> None:
        while q.tickets and q.tickets[0].closed and q.tickets[0].pending == 0:
            t = q.tickets.popleft()
            # Only a page fetched from the stored state moves it on: after a page that was not
            # used up (an interrupted download), a later page must not skip over it.
            if t.full and t.start_state == q.row.page_state:
                q.row.page_state = t.next_state
                q.row.exhausted = t.next_state is None
                q.row.hits_seen = (q.row.hits_seen or 0) + t.n_hits
                q.row.run_id = self.run_id
                self.batch_n += 1

    def _add_hit(self, ref: _Ref, q: _Query, hit: Hit, crep: ClassReport | None, link: bool = True) -> None:
        """Record that query ``q`` found the image ``ref`` (again, or at another source)."""
        self.by_key.setdefault((q.source, str(hit.source_image_id)), ref)
        if (id(ref), q.id) in self.hit_pairs:
            if crep is not None:
                crep.outcomes["known"] += 1
            return
        self.hit_pairs.add((id(ref), q.id))
        h = ImageHit(query_id=q.id, source_image_id=str(hit.source_image_id), rank=hit.rank)
        if ref.row is not None and ref.id is None:
            h.image = ref.row
        else:
            h.image_id = ref.image_id()
        self.session.add(h)
        self.batch_n += 1
        if q.source != ref.source:
            row = ref.row if ref.row is not None else self.session.get(Image, ref.image_id())
            if row is not None:
                also = list((row.extra or {}).get("also_at", []))
                also.append({"source": q.source, "source_image_id": str(hit.source_image_id),
                             "license": hit.license.code, "landing_url": hit.landing_url})
                row.extra = {**(row.extra or {}), "also_at": also}
        if not link:
            return
        if ref.status == "stored" and q.class_id not in ref.classes:
            ref.classes.add(q.class_id)
            cls = self.classes[q.class_id]
            with self.cond:
                cls.kept += 1
                self.cond.notify_all()
            self.progress.kept(cls.spec.synset, cls.kept)
            if crep is not None:
                crep.linked += 1
        elif crep is not None:
            crep.outcomes["duplicate"] += 1
            self.report.rejected["duplicate"] += 1

    def _new_row(self, q: _Query, hit: Hit, status: str, reason: str | None, crep: ClassReport | None,
                 res: _Result | None = None, duplicate_of: _Ref | None = None) -> _Ref:
        lic = hit.license
        attribution = hit.attribution or attribution_line(hit.title, hit.author, lic, hit.landing_url, hit.source)
        row = Image(
            source_id=self.source_ids[q.source], source_image_id=str(hit.source_image_id),
            landing_url=hit.landing_url or "", file_url=hit.file_url or "",
            width=hit.width, height=hit.height, mime=hit.mime,
            license_code=lic.code, license_url=lic.url, license_raw=hit.license_raw or "",
            author=hit.author or "", author_raw=hit.author_raw or "", attribution=attribution,
            title=hit.title or "", status=status, reject_reason=reason,
            extra=_hit_extra(hit),
        )
        if res is not None and res.ok:
            row.sha1, row.phash = res.sha1, res.phash
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            if status == "stored":
                row.local_path = res.local_path
        if status == "failed":
            row.extra = {**row.extra, "attempts": 1}
        if res is not None and res.detail:
            row.extra = {**row.extra, "detail": res.detail[:500]}
        if duplicate_of is not None:
            self._link_duplicate(row, duplicate_of)
        self.session.add(row)
        ref = _Ref(q.source, status, row.sha1, row.local_path, row=row)
        self._index(ref, str(hit.source_image_id))
        self.batch_refs.append(ref)
        self.batch_n += 1
        self._add_hit(ref, q, hit, None, link=False)
        if crep is not None:
            _count(self.report, crep, status, reason)
            if status == "stored":
                ref.counted_in = crep
        return ref

    def _link_duplicate(self, row: Image, dup: _Ref) -> None:
        if dup.id is not None:
            row.duplicate_of_id = dup.id
        elif dup.row is not None:
            # Not flushed yet: flush so the id exists (rare: near-duplicates within one batch).
            self.session.flush()
            row.duplicate_of_id = dup.row.id

    def _on_result(self, res: _Result) -> None:
        task = res.task
        self.inflight.pop(task.key, None)
        cls = self.classes[task.class_id]
        with self.cond:
            cls.inflight -= 1
            self.backlog[task.key[0]] -= 1
            self.cond.notify_all()
        if res.claim:
            self.batch_claims.append(res.claim)
        if res.local and self.report.error is None:
            # The data folder cannot take files: every further download would fail the same way
            # and no image is to blame. Stop; nothing is recorded against the image.
            self.report.error = res.detail
            self.progress.note(f"stopping: {res.detail}")
            self.stop.set()
        if res.local or (not res.ok and res.reason == "interrupted"):
            # Nothing to record; the page must be fetched again by the next run.
            for t in [task.ticket] + [x[2] for x in task.extra]:
                if t is not None:
                    t.full = False
        elif task.retry is not None:
            self._on_retry_result(res)
        else:
            self._on_fresh_result(res)
        for q, hit, ticket in task.extra:
            ref = self.by_key.get((q.source, str(hit.source_image_id)))
            if ref is not None:
                self._add_hit(ref, q, hit, self._class_report(q.class_id))
            ticket.pending -= 1
            self._settle(q)
        if task.ticket is not None:
            task.ticket.pending -= 1
            self._settle(task.query)

    # -- duplicates: one decision for fresh and retried downloads --------------------------------

    def _decide(self, res: _Result) -> tuple[str, _Ref | None]:
        """What a downloaded image is, against everything this store holds or kept in this run:

        * ``("duplicate", ref)``: the same bytes (sha1) as ``ref``;
        * ``("near", ref)``: a near-duplicate (pHash) of ``ref``, which is at least as good;
        * ``("better", ref)``: a near-duplicate of ``ref`` but a better copy: this one is kept
          and ``ref`` becomes the near-duplicate (:meth:`_supersede`);
        * ``("new", None)``.

        Best copy: more pixels, then more bytes at the same size (less compressed). A copy that
        already has proposals or annotations is never replaced: review work is not moved."""
        same = self.sha1_index.get(res.sha1)
        if same is not None:
            return "duplicate", self.refs[same]
        near = self.phash_index.nearest(res.phash, self.opt.near_dup_bits)
        if near is None:
            return "new", None
        kept = _current(self.refs[near[0]])
        if kept.status != "stored":  # superseded chain ended in a row no longer stored
            return "new", None
        better = ((res.width or 0) * (res.height or 0), res.nbytes or 0) > (kept.pixels, kept.nbytes)
        if better and res.wrote and not self._has_review_work(kept):
            return "better", kept
        return "near", kept

    def _has_review_work(self, ref: _Ref) -> bool:
        if ref.id is None:
            return False
        s = self.session
        return (s.scalar(select(Proposal.id).where(Proposal.image_id == ref.id).limit(1)) is not None
                or s.scalar(select(Annotation.id).where(Annotation.image_id == ref.id).limit(1)) is not None)

    def _drop_file(self, res: _Result) -> None:
        """The writer does not keep this download's file: delete it if this run created it."""
        if res.created and res.local_path not in self.stored_paths:
            self.batch_deletes.append(res.local_path)

    def _on_fresh_result(self, res: _Result) -> None:
        task, q, hit = res.task, res.task.query, res.task.hit
        crep = self._class_report(q.class_id)
        if not res.ok:
            status = "rejected" if res.permanent else "failed"
            self._new_row(q, hit, status, res.reason[:64], crep, res)
            return
        kind, other = self._decide(res)
        if kind == "duplicate":
            self.by_key[task.key] = other
            self._add_hit(other, q, hit, crep)
            self._drop_file(res)
        elif kind == "near":
            self._new_row(q, hit, "rejected", "near_duplicate", crep, res, duplicate_of=other)
            self._drop_file(res)
        elif not res.wrote:  # the worker's hint said duplicate but the writer disagrees: cannot happen
            self._new_row(q, hit, "failed", "not_written", crep, res)
        else:
            ref = self._new_row(q, hit, "stored", None, crep, res)
            self._note_stored(ref, res, q.class_id)
            if kind == "better":
                self._supersede(other, ref, crep)

    def _note_stored(self, ref: _Ref, res: _Result, class_id: int) -> None:
        self.stored_paths.add(res.local_path)
        ref.pixels, ref.nbytes = (res.width or 0) * (res.height or 0), res.nbytes or 0
        ref.created = res.created
        self.phash_index.add(res.phash, ref.idx)
        cls = self.classes[class_id]
        if class_id not in ref.classes:
            ref.classes.add(class_id)
        with self.cond:
            cls.kept += 1
            self.cond.notify_all()
        self.progress.kept(cls.spec.synset, cls.kept)

    def _supersede(self, old: _Ref, new: _Ref, crep: ClassReport) -> None:
        """``new`` is a better copy of the stored ``old``: ``new`` inherits ``old``'s queries
        (so every class that had the picture still has it) and ``old`` becomes a near-duplicate
        of ``new``. ``old``'s file is deleted when no one else can be using it: this run created
        it, or no other store writes into the data folder (another store may hold the same file)."""
        s = self.session
        s.flush()
        new_id = new.image_id()
        old_row = old.row if old.row is not None else s.get(Image, old.image_id())
        for h in s.scalars(select(ImageHit).where(ImageHit.image_id == old_row.id)).all():
            if (id(new), h.query_id) not in self.hit_pairs:
                self.hit_pairs.add((id(new), h.query_id))
                s.add(ImageHit(image_id=new_id, query_id=h.query_id, source_image_id=h.source_image_id, rank=h.rank))
        for cid in old.classes:
            if cid in new.classes and cid in self.classes:  # counted twice: once is right
                with self.cond:
                    self.classes[cid].kept -= 1
            new.classes.add(cid)  # a class that had the old copy has the new one
        for row in s.scalars(select(Image).where(Image.duplicate_of_id == old_row.id)).all():
            row.duplicate_of_id = new_id
        old_row.status = old.status = "rejected"
        old_row.reject_reason = "near_duplicate"
        old_row.duplicate_of_id = new_id
        old.superseded_by = new
        if old.local_path and (old.created or not self.folder.may_be_shared):
            self.stored_paths.discard(old.local_path)
            self.batch_deletes.append(old.local_path)
            old_row.local_path = old.local_path = None
        if old.counted_in is not None:  # stored earlier in this run: it is not kept after all
            old.counted_in.kept -= 1
            crep = old.counted_in
            old.counted_in = None
        crep.outcomes["near_duplicate"] += 1
        self.report.rejected["near_duplicate"] += 1
        self.batch_n += 1

    def _on_retry_result(self, res: _Result) -> None:
        ref = res.task.retry
        row = self.session.get(Image, ref.image_id())
        crep = self._class_report(res.task.class_id)
        self.report.retried += 1
        if row is None:
            return
        if not res.ok:
            attempts = int((row.extra or {}).get("attempts", 1)) + 1
            row.extra = {**(row.extra or {}), "attempts": attempts, "detail": res.detail[:500]}
            row.status = ref.status = "rejected" if res.permanent else "failed"
            row.reject_reason = res.reason[:64]
            _count(self.report, crep, row.status, row.reject_reason)
            self.batch_n += 1
            return
        kind, other = self._decide(res)
        if kind in ("duplicate", "near"):
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            row.status = ref.status = "rejected"
            row.reject_reason = "duplicate" if kind == "duplicate" else "near_duplicate"
            row.phash = res.phash
            if kind == "near":
                row.sha1 = ref.sha1 = res.sha1
                self.sha1_index.add(res.sha1, ref.idx)
            self._link_duplicate(row, other)
            self._drop_file(res)
            _count(self.report, crep, "rejected", row.reject_reason)
        elif not res.wrote:
            return
        else:
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            row.sha1, row.phash, row.local_path = res.sha1, res.phash, res.local_path
            row.status = ref.status = "stored"
            row.reject_reason = None
            ref.sha1, ref.local_path = res.sha1, res.local_path
            self.sha1_index.add(res.sha1, ref.idx)
            self._note_stored(ref, res, res.task.class_id)
            _count(self.report, crep, "stored", None)
            ref.counted_in = crep
            if kind == "better":
                self._supersede(other, ref, crep)
        self.batch_n += 1

    def _commit(self) -> None:
        if self.session is None:
            return
        self.session.commit()
        for ref in self.batch_refs:
            if ref.row is not None:
                ref.id = ref.row.id
                self.ref_ids[ref.id] = ref
                ref.row = None  # let the session forget the row
        # Only files this run created are deleted, and only now that the rows are committed;
        # then the claims go (a kill before this leaves claims, and the next start-up finishes).
        for rel in self.batch_deletes:
            if rel not in self.stored_paths:
                try:
                    files.remove(self.data_dir, rel)
                except OSError as exc:  # a read-only folder: the file stays, nothing is lost
                    log.warning("could not delete %s: %s", rel, exc)
        for claim in self.batch_claims:
            try:
                self.folder.release(claim)
            except OSError as exc:
                log.warning("could not drop claim %s: %s", claim, exc)
        self.batch_refs.clear()
        self.batch_deletes.clear()
        self.batch_claims.clear()
        self.batch_n = 0
        self.last_commit = time.monotonic()

    def retry_tasks(self, session: Session) -> list[_Task]:
        """Failed downloads from earlier runs, found by this run's queries, to try again."""
        if self.opt.retry_failed <= 1:
            return []
        by_id = {q.id: q for q in self.queries}
        rows = session.execute(
            select(Image, ImageHit.query_id)
            .join(ImageHit, ImageHit.image_id == Image.id)
            .where(Image.status == "failed", ImageHit.query_id.in_(list(by_id)))
        ).all()
        tasks: dict[int, _Task] = {}
        for img, qid in rows:
            if img.id in tasks or int((img.extra or {}).get("attempts", 1)) >= self.opt.retry_failed:
                continue
            ref = self.ref_ids.get(img.id)
            q = by_id[qid]
            if ref is None or q.source not in self.sources:
                continue
            from corpus.licenses import from_code

            hit = Hit(q.source, img.source_image_id, img.file_url, img.landing_url,
                      from_code(img.license_code, img.license_url), img.license_raw)
            tasks[img.id] = _Task((q.source, img.source_image_id), hit, None, None, q.class_id, retry=ref)
        return list(tasks.values())


def _current(ref: _Ref) -> _Ref:
    """The copy that stands for ``ref`` now (a better near-duplicate may have replaced it)."""
    while ref.superseded_by is not None:
        ref = ref.superseded_by
    return ref


def _hit_extra(hit: Hit) -> dict[str, Any]:
    extra = dict(hit.extra or {})
    if hit.sha1:
        extra["source_sha1"] = hit.sha1
    lic = hit.license
    extra["license_flags"] = {
        "commercial": lic.commercial, "derivatives": lic.derivatives,
        "share_alike": lic.share_alike, "attribution_required": lic.attribution_required, "verify": lic.verify,
    }
    return _jsonable(extra)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _count(report: HarvestReport, crep: ClassReport, status: str, reason: str | None) -> None:
    if status == "stored":
        crep.kept += 1
    elif status == "rejected":
        crep.outcomes[reason or "rejected"] += 1
        report.rejected[reason or "rejected"] += 1
    elif status == "failed":
        crep.outcomes[f"failed:{reason}"] += 1
        report.failed[reason or "failed"] += 1


def _languages_of(classes: Iterable[ClassSpec]) -> list[str]:
    """Every language with lemmas, in the ontology's order (English first)."""
    try:
        from ontology import LANGUAGES
    except ImportError:  # the harvest does not need the ontology package to run
        LANGUAGES = ("en",)
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    found = {lang for c in classes for lang, lemmas in c.lemmas.items() if lemmas}
    return sorted(found, key=lambda lang: (order.get(lang, len(order)), lang))


def harvest(engine: Engine, settings: Settings, sources: Mapping[str, Source], options: HarvestOptions,
            progress: ProgressSink | None = None, stop: threading.Event | None = None) -> HarvestReport:
    """Run (or continue) a harvest; see the module docstring for how it stays consistent.

    ``sources`` are ready clients by name (``corpus.sources.make_source``). ``stop``, when set
    (the CLI sets it on Ctrl-C), ends the run early but cleanly: finished downloads are stored,
    the run is marked ``interrupted`` and a rerun continues. A ``KeyboardInterrupt`` raised
    inside rolls back the current batch instead, which is equally safe (its files become orphans
    that the next run removes).
    """
    progress = progress or ProgressSink()
    stop = stop or threading.Event()
    t_start = time.monotonic()
    h = _Harvest(engine, settings, sources, options, progress, stop)
    if options.dry_run:
        with Session(engine, expire_on_commit=False) as s:
            if s.scalar(select(Domain.id).where(Domain.name == options.domain)) is None:
                specs = classes_from_ontology(options.domain)
                picked = select_classes(specs, options.classes or None, options.kinds)
                langs = options.languages or _languages_of(picked)
                h.report.planned = plan_queries(picked, sources, langs, options.max_lemmas)
                h.report.classes = {c.synset: ClassReport(c.synset, c.name) for c in picked}
            else:
                h.plan(s)
        h.report.status = "dry_run"
        return h.report

    ensure_domain(engine, options.domain)
    from corpus.store.db import safe_url
    from corpus.store.identity import store_id

    with HarvestLock(settings.data_dir):
        h.folder = files.DataFolder(h.data_dir, store_id(engine))
        h.report.shared_with = h.folder.open(safe_url(str(engine.url)))
        session = Session(engine, expire_on_commit=False)
        run: HarvestRun | None = None
        try:
            h.report.stale_runs = claim_store(session, options)
            picked = h.plan(session)
            if not h.report.planned:
                h.report.status = "done"
                return h.report
            h.prepare(session, picked)
            h.report.cleaned = h.folder.clean(frozenset(h.stored_paths))
            dom_id = session.scalar(select(Domain.id).where(Domain.name == options.domain))
            run = HarvestRun(domain_id=dom_id, status="running", params=_params(options, sources),
                             host=socket.gethostname()[:255], pid=os.getpid(), heartbeat_at=utcnow())
            session.add(run)
            session.commit()
            h.run_id = run.id
            h.run_row = run
            h.report.run_id = run.id
            kept = {c.spec.synset: c.kept for c in h.classes.values()}
            progress.start(picked, options.per_class, kept)
            if h.report.shared_with:
                progress.note(f"the data folder {settings.data_dir} is shared with {len(h.report.shared_with)} other "
                              "store(s); their files are left alone")
            retry = h.retry_tasks(session)
            h.start_threads(retry)
            h.run_writer(session)
            h.report.status = "failed" if h.report.error else "interrupted" if stop.is_set() else "done"
        except KeyboardInterrupt:
            stop.set()
            session.rollback()
            h.report.status = "interrupted"
        except BaseException:
            stop.set()
            session.rollback()
            h.report.status = "failed"
            raise
        finally:
            stop.set()
            _release(h)
            h.report.wall_s = time.monotonic() - t_start
            for t in h.worker_times:
                h.report.times.add(t)
            if run is not None:
                _finish_run(engine, run.id, h.report)
            session.close()
    return h.report


def claim_store(session: Session, options: HarvestOptions) -> list[int]:
    """Make sure no other harvest is running on this store; mark runs that were killed.

    A ``running`` run is alive when its process still exists (same host) and its heartbeat is
    recent (any host). Killed runs (SIGKILL, power loss) are marked ``interrupted``: their ids are
    returned. A live one raises :class:`~corpus.harvest.lock.HarvestLocked`."""
    host = socket.gethostname()[:255]
    now = utcnow()
    stale, alive = [], []
    for run in session.scalars(select(HarvestRun).where(HarvestRun.status == "running").order_by(HarvestRun.id)):
        why = _why_stale(run, host, now, options.stale_after_s)
        if why is None:
            alive.append(run)
            continue
        run.status = "interrupted"
        run.finished_at = now
        run.summary = {**(run.summary or {}), "error": f"found killed by a later harvest: {why}"}
        stale.append(run.id)
    session.commit()
    if alive:
        run = alive[0]
        raise HarvestLocked(
            f"another harvest is running on this store: run {run.id} (process {run.pid} on {run.host}, started "
            f"{_aware(run.started_at):%Y-%m-%d %H:%M} UTC); wait for it or stop it")
    return stale


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def _why_stale(run: HarvestRun, host: str, now: dt.datetime, stale_after_s: float) -> str | None:
    """Why a ``running`` run cannot still be running, or None when it may be."""
    if run.pid is not None and run.host == host:
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return f"process {run.pid} on {host} is gone"
        except PermissionError:
            pass  # alive, another user's
    beat = _aware(run.heartbeat_at) or _aware(run.started_at)
    if run.pid is None or beat is None:
        return "started by an older version, no heartbeat"
    silent = (now - beat).total_seconds()
    if silent > stale_after_s:
        return f"no heartbeat for {silent:.0f} s"
    return None


def _release(h: _Harvest) -> None:
    """Tell every thread to end and give them ``stop_grace_s`` (once) to do so. Threads that are
    still blocked (a download waiting on a silent server) are daemons and are left behind."""
    with h.cond:
        h.cond.notify_all()
    for name, q in h.work.items():
        for _ in range(64):
            q.put(_END)
    budget = 0.0 if h.released else h.opt.stop_grace_s
    h.released = True
    deadline = time.monotonic() + budget
    for t in h.threads:
        t.join(max(0.0, deadline - time.monotonic()))


def _finish_run(engine: Engine, run_id: int, report: HarvestReport) -> None:
    with Session(engine) as s:
        run = s.get(HarvestRun, run_id)
        if run is not None:
            run.status = report.status
            run.finished_at = utcnow()
            run.summary = report.as_dict()
            s.commit()


def _params(options: HarvestOptions, sources: Mapping[str, Source]) -> dict[str, Any]:
    from dataclasses import asdict

    p = _jsonable(asdict(options))
    p["sources"] = list(sources)
    return p

