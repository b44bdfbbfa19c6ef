"""Harvest orchestration: plan, lock, clean up, then search, download and store until done.

The roles, each in its own module:

* :mod:`~corpus.harvest.options` and :mod:`~corpus.harvest.report`: what a harvest is asked to do
  and what it reports; :mod:`~corpus.harvest.classes`: the domain's classes and lemmas;
  :mod:`~corpus.harvest.plan`: the queries;
* :mod:`~corpus.harvest.known`: the known-images index and the one duplicate decision;
* :mod:`~corpus.harvest.state`: what the threads share and the messages they pass;
* :mod:`~corpus.harvest.searcher`, :mod:`~corpus.harvest.downloader`,
  :mod:`~corpus.harvest.writer`: the three kinds of thread below;
* :mod:`~corpus.harvest.runs`: ``harvest_runs`` rows (who runs, killed runs);
* this module: :func:`harvest`, which puts them together.

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
import queue
import threading
import time
from typing import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.claims import team_mode
from corpus.config import Settings
from corpus.errors import NotFoundError
from corpus.harvest import files
from corpus.harvest.classes import classes_from_ontology, ensure_domain, languages_of, load_classes
from corpus.harvest.downloader import Downloader
from corpus.harvest.lock import HarvestLock
from corpus.harvest.options import HarvestOptions, ProgressSink
from corpus.harvest.plan import Bucket, ClassQuota, plan_queries, select_classes, unnamed_pairs
from corpus.harvest.report import ClassReport, HarvestReport, StageTimes
from corpus.harvest.runs import claim_store, finish_run, start_run
from corpus.harvest.searcher import search_source
from corpus.harvest.state import ClassState, Query, RunState, Task, bucket
from corpus.harvest.team import claim_classes, in_rounds
from corpus.harvest.writer import Writer
from corpus.sources.base import Hit, Source
from corpus.store.models import Domain, HarvestQuery, Image, ImageHit
from corpus.store.models import Source as SourceRow
from ontology.model import OntologyClassData

# Kept importable from here: the library's entry point and its types (docs/harvest.md).
__all__ = ["HarvestOptions", "HarvestReport", "ProgressSink", "harvest", "load_classes", "StageTimes"]


def plan(st: RunState, classes: Sequence[OntologyClassData]) -> list[OntologyClassData]:
    """Pick the classes and plan their queries into ``st.report``; the classes picked."""
    picked = select_classes(classes, st.opt.classes or None, st.opt.kinds)
    langs = st.opt.languages or languages_of(picked)
    st.report.planned = plan_queries(picked, st.sources, langs, st.opt.max_lemmas)
    st.report.unnamed = unnamed_pairs(picked, st.opt.languages or _all_languages())
    for c in picked:
        st.report.classes[c.synset] = ClassReport(c.synset, c.name)
    return picked


def prepare(st: RunState, session: Session, picked: Sequence[OntologyClassData]) -> None:
    """Source and query rows (created once, reused by every later run), what the store already
    holds, and each class's count of kept images."""
    for name, src in st.sources.items():
        base = st.settings.sources[name].base_url if name in st.settings.sources else ""
        st.source_ids[name] = source_row(session, name, base, getattr(src, "terms", "")).id
    id_to_source = {v: k for k, v in st.source_ids.items()}
    for sid, name in session.execute(select(SourceRow.id, SourceRow.name)):
        id_to_source.setdefault(sid, name)

    existing = {
        (q.class_id, q.lang, q.source_id, q.query_text): q
        for q in session.scalars(
            select(HarvestQuery).where(HarvestQuery.class_id.in_([c.class_id for c in picked]))
        )
    }
    for pq in st.report.planned:
        key = (pq.class_id, pq.lang, st.source_ids[pq.source], pq.text)
        row = existing.get(key)
        if row is None:
            row = HarvestQuery(class_id=pq.class_id, lang=pq.lang, source_id=st.source_ids[pq.source],
                               query_text=pq.text, page_state=None, exhausted=False, hits_seen=0)
            session.add(row)
            existing[key] = row
        st.queries.append(Query(pq, 0, pq.class_id, pq.source, row, row.page_state, bool(row.exhausted)))
    session.flush()
    for q in st.queries:
        q.id = q.row.id

    st.known.load(session, id_to_source, [c.class_id for c in picked])  # dedup spans domains and sources
    # Fair shares (plan.ClassQuota): a class's quota by language and source; images kept by earlier
    # runs count where they were found first.
    first_bucket: dict[tuple[int, int], Bucket] = {}
    for img_id, cls_id, lang, src_id in session.execute(
        select(ImageHit.image_id, HarvestQuery.class_id, HarvestQuery.lang, HarvestQuery.source_id)
        .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
        .where(HarvestQuery.class_id.in_([c.class_id for c in picked]))
        .order_by(ImageHit.found_at, ImageHit.query_id)
    ):
        first_bucket.setdefault((img_id, cls_id), (lang, id_to_source.get(src_id, str(src_id))))
    buckets: dict[int, list[Bucket]] = collections.defaultdict(list)
    for q in st.queries:
        buckets[q.class_id].append(bucket(q))
    for i, c in enumerate(picked):
        quota = ClassQuota(st.opt.per_class, buckets[c.class_id], st.opt.per_language, rotate=i)
        st.classes[c.class_id] = ClassState(c, quota.total, quota=quota)
    for ref in st.known.refs:
        if ref.status == "stored":
            for cid in ref.classes:
                if cid in st.classes:
                    st.classes[cid].kept += 1
                    b = first_bucket.get((ref.id, cid))
                    st.classes[cid].quota.add_kept(b)
                    ref.buckets[cid] = (b, False)
    # A bucket whose queries earlier runs used up gets no more: its share goes to the others.
    live = {(q.class_id, bucket(q)) for q in st.queries if not q.exhausted}
    for cls in st.classes.values():
        for b in cls.quota.buckets:
            if (cls.ontology_class.class_id, b) not in live:
                cls.quota.set_dry(b)


def source_row(session: Session, name: str, base_url: str, terms: str) -> SourceRow:
    row = session.scalar(select(SourceRow).where(SourceRow.name == name))
    if row is None:
        row = SourceRow(name=name, base_url=base_url, terms=terms)
        session.add(row)
        session.flush()
    else:
        row.base_url, row.terms = base_url, terms
    return row


def retry_tasks(st: RunState, session: Session) -> list[Task]:
    """Failed downloads from earlier runs, found by this run's queries, to try again."""
    if st.opt.retry_failed <= 1:
        return []
    from corpus.licenses import from_code

    by_id = {q.id: q for q in st.queries}
    rows = session.execute(
        select(Image, ImageHit.query_id)
        .join(ImageHit, ImageHit.image_id == Image.id)
        .where(Image.status == "failed", ImageHit.query_id.in_(list(by_id)))
    ).all()
    tasks: dict[int, Task] = {}
    for img, qid in rows:
        if img.id in tasks or int((img.extra or {}).get("attempts", 1)) >= st.opt.retry_failed:
            continue
        ref = st.known.ref_ids.get(img.id)
        q = by_id[qid]
        if ref is None or q.source not in st.sources:
            continue
        hit = Hit(q.source, img.source_image_id, img.file_url, img.landing_url,
                  from_code(img.license_code, img.license_url), img.license_raw)
        tasks[img.id] = Task((q.source, img.source_image_id), hit, None, None, q.class_id, retry=ref)
    return list(tasks.values())


def start_threads(st: RunState, retry: Sequence[Task]) -> None:
    """The download workers (with the retried downloads queued first) and one searcher per source."""
    for name in st.sources:
        st.work[name] = queue.SimpleQueue()
    for task in retry:
        st.enqueue(task)
    st.threads.extend(Downloader(st).start_workers())
    for name in st.sources:
        st.threads.append(threading.Thread(target=search_source, args=(st, name), name=f"search-{name}", daemon=True))
        st.searchers_running += 1
    for t in st.threads:
        t.start()


def harvest(engine: Engine, settings: Settings, sources: Mapping[str, Source], options: HarvestOptions,
            progress: ProgressSink | None = None, stop: threading.Event | None = None) -> HarvestReport:
    """Run (or continue) a harvest; see the module docstring for how it stays consistent.

    ``sources`` are ready clients by name (``corpus.sources.make_source``). ``stop``, when set
    (the CLI sets it on Ctrl-C), ends the run early but cleanly: finished downloads are stored,
    the run is marked ``interrupted`` and a rerun continues. A ``KeyboardInterrupt`` raised
    inside rolls back the current batch instead, which is equally safe (its files become orphans
    that the next run removes).

    In team mode (``options.team``; on for PostgreSQL) harvests share the store: each claims its
    classes and, once done, takes over what others leave (:func:`corpus.harvest.team.in_rounds`).
    """
    stop = stop or threading.Event()
    return in_rounds(engine, options, progress, stop,
                     lambda opts: _harvest_once(engine, settings, sources, opts, progress, stop))


def _harvest_once(engine: Engine, settings: Settings, sources: Mapping[str, Source], options: HarvestOptions,
                  progress: ProgressSink | None, stop: threading.Event) -> HarvestReport:
    """One round of :func:`harvest`: the classes asked for (in team mode: those claimed)."""
    progress = progress or ProgressSink()
    t_start = time.monotonic()
    st = RunState(settings, sources, options, progress, stop)
    st.report.sources = tuple(sources)
    if options.dry_run:  # the same plan, from the store or (domain not loaded yet) the ontology
        with Session(engine, expire_on_commit=False) as s:
            if s.scalar(select(Domain.id).where(Domain.name == options.domain)) is None:
                classes = classes_from_ontology(options.domain)
            else:
                classes = _stored_classes(s, options.domain)
        plan(st, classes)
        st.report.status = "dry_run"
        return st.report

    ensure_domain(engine, options.domain)
    from corpus.store.db import safe_url
    from corpus.store.identity import store_id

    with HarvestLock(settings.data_dir):
        st.folder = files.DataFolder(st.data_dir, store_id(engine))
        st.report.shared_with = st.folder.open(safe_url(str(engine.url)))
        session = Session(engine, expire_on_commit=False)
        run = None
        claims = None
        try:
            team = team_mode(engine, options.team)
            st.report.stale_runs = claim_store(session, options, team=team)
            picked, claims = claim_classes(engine, st.report, plan(st, _stored_classes(session, options.domain)), options)
            if not st.report.planned:
                st.report.status = "done"
                return st.report
            prepare(st, session, picked)
            st.report.cleaned = st.folder.clean(frozenset(st.known.stored_paths))
            dom_id = session.scalar(select(Domain.id).where(Domain.name == options.domain))
            run = start_run(session, dom_id, options, sources, team=team)
            st.report.run_id = run.id
            kept = {c.ontology_class.synset: c.kept for c in st.classes.values()}
            progress.start(picked, max((c.target for c in st.classes.values()), default=options.per_class), kept)
            if st.report.shared_with:
                progress.note(f"the data folder {settings.data_dir} is shared with {len(st.report.shared_with)} other "
                              "store(s); their files are left alone")
            start_threads(st, retry_tasks(st, session))
            Writer(st, session, run).run()
            st.report.status = "failed" if st.report.error else "interrupted" if stop.is_set() else "done"
        except KeyboardInterrupt:
            stop.set()
            session.rollback()
            st.report.status = "interrupted"
        except BaseException:
            stop.set()
            session.rollback()
            st.report.status = "failed"
            raise
        finally:
            stop.set()
            st.release()
            if claims is not None:
                claims.close()
            st.report.wall_s = time.monotonic() - t_start
            for t in st.worker_times:
                st.report.times.add(t)
            if run is not None:
                finish_run(engine, run.id, st.report)
            session.close()
    return st.report


def _stored_classes(session: Session, domain: str) -> list[OntologyClassData]:
    classes = load_classes(session, domain)
    if not classes:
        raise NotFoundError(f"domain {domain!r} has no classes in the store")
    return classes


def _all_languages() -> list[str]:
    try:
        from ontology import LANGUAGES
    except ImportError:  # pragma: no cover - the ontology package is part of the install
        return ["en"]
    return list(LANGUAGES)
