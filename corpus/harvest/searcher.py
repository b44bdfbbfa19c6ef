"""The searchers: one thread per source pages through that source's queries, class by class.

A searcher waits while a class has enough images kept or in flight, or while the source's
download backlog is full; it posts each page to the writer and waits until the writer has
turned it into downloads. API politeness (rate, retries) is the source client's job. A search
that fails after the client's retries is skipped and left for the next run; no connection at
all, or ``max_search_failures`` failures in a row, end the source.
"""

from __future__ import annotations

import collections
import logging

from corpus.harvest.state import PageEvent, Query, RunState, SearcherDone, describe_error

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
        for class_id, qs in by_class.items():
            cls = st.classes[class_id]
            active = collections.deque(q for q in qs if not q.exhausted)
            while active and not st.stop.is_set():
                with st.cond:
                    while not st.stop.is_set() and cls.kept < cls.target and (
                        cls.kept + cls.inflight >= cls.target or st.backlog[source] >= max_backlog
                    ):
                        st.cond.wait(0.5)
                if st.stop.is_set() or cls.kept >= cls.target:
                    break
                q = active.popleft()
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
    except Exception as exc:
        error = describe_error(exc)
        log.exception("searcher for %s failed", source)
    finally:
        st.results.put(SearcherDone(source, error, failed_queries, last_error))


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
