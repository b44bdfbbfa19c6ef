"""The searchers: one thread per source pages through that source's queries, class by class.

A searcher takes only the fair share of each class's quota that its language and source have
(``plan.ClassQuota``); it waits while a class has enough images kept or in flight, or while the
source's download backlog is full; it posts each page to the writer and waits until the writer has
turned it into downloads. API politeness (rate, retries) is the source client's job. A search
that fails after the client's retries is skipped and left for the next run; no connection at
all, or ``max_search_failures`` failures in a row, end the source.
"""

from __future__ import annotations

import collections
import logging

from corpus.harvest.state import PageEvent, Query, RunState, SearcherDone, bucket, describe_error

log = logging.getLogger("corpus.harvest.run")

__all__ = ["search_source", "is_unreachable"]


def search_source(st: RunState, source: str) -> None:
    src = st.sources[source]
    failures = failed_queries = 0
    error: str | None = None
    last_error: str | None = None
    s = st.settings.sources.get(source)
    max_backlog = max(1, s.file_concurrency if s else 2) * st.opt.backlog_per_worker
    try:
        by_class: dict[int, list[Query]] = collections.defaultdict(list)
        for q in st.queries:
            if q.source == source:
                by_class[q.class_id].append(q)
        active_of = {cid: collections.deque(q for q in qs if not q.exhausted) for cid, qs in by_class.items()}
        # Sweeps: a later sweep revisits classes whose fair shares moved to this source after it
        # left them (another source's language ran dry); it ends when a sweep searched nothing.
        searched = True
        while searched and not st.stop.is_set():
            searched = False
            for class_id, active in active_of.items():
                cls = st.classes[class_id]
                while active and not st.stop.is_set():
                    with st.cond:
                        _mark_dry(st, cls, source, active)
                        while not st.stop.is_set() and cls.kept < cls.target and (
                            cls.kept + cls.inflight >= cls.target or st.backlog[source] >= max_backlog
                            or (cls.inflight and not any(cls.quota.room(bucket(x)) > 0 for x in active))
                        ):
                            st.cond.wait(0.5)
                        # Round-robin over the queries whose language and source still have room.
                        ready = [x for x in active if cls.quota.room(bucket(x)) > 0]
                    if st.stop.is_set() or cls.kept >= cls.target or not ready:
                        break
                    q = ready[0]
                    active.remove(q)
                    searched = True
                    try:
                        page = src.search(q.planned.text, q.planned.lang, q.state, st.opt.per_page)
                    except Exception as exc:  # the source's client already retried what it could
                        # This query is left for the next run (its page_state is unchanged);
                        # several failures in a row, or no connection at all, end the source.
                        failures += 1
                        failed_queries += 1
                        error = describe_error(exc)
                        last_error = error
                        if is_unreachable(exc) or failures >= st.opt.max_search_failures:
                            return
                        continue
                    failures, error = 0, None
                    ev = PageEvent(q, page)
                    st.results.put(ev)
                    while not ev.done.wait(0.5):
                        if st.stop.is_set():
                            return
                    if ev.full:
                        q.state = page.next_state
                        if page.next_state is None:
                            q.exhausted = True
                            continue
                    active.append(q)
                with st.cond:
                    _mark_dry(st, cls, source, active)
    except Exception as exc:
        error = describe_error(exc)
        log.exception("searcher for %s failed", source)
    finally:
        with st.cond:  # whatever this source did not search is no one's: others may take its share
            for c in st.classes.values():
                for b in list(c.quota.buckets):
                    if b[1] == source:
                        c.quota.set_dry(b)
            st.cond.notify_all()
        st.results.put(SearcherDone(source, error, failed_queries, last_error))


def _mark_dry(st: RunState, cls, source: str, active) -> None:
    """This source's buckets of ``cls`` with no query left to search are dry (under ``st.cond``)."""
    live = {bucket(q) for q in active}
    changed = False
    for b in cls.quota.buckets:
        if b[1] == source and b not in live and not cls.quota.buckets[b].dry:
            cls.quota.set_dry(b)
            changed = True
    if changed:
        st.cond.notify_all()


def is_unreachable(exc: BaseException) -> bool:
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
