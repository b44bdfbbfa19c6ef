"""The download workers: ``file_concurrency`` threads per source, each with its own HTTP client
(:mod:`corpus.harvest.fetch`), that fetch, verify, hash and place one image file at a time and
post a :class:`~corpus.harvest.state.Result` for the writer.

A worker never touches the database. It reads the known-images index only as a hint, to skip
writing files the writer will not keep; the writer decides. A local write error (disk full,
read-only folder) comes back as a ``local`` result: the folder's fault, not the image's.
"""

from __future__ import annotations

import logging
import threading
import time

from corpus.harvest import files
from corpus.harvest.fetch import FetchConfig, Fetcher, FetchFailed, HostLimiter
from corpus.harvest.hashing import phash_hex, sha1_hex
from corpus.harvest.report import StageTimes
from corpus.harvest.state import END, Result, RunState, Task, describe_error
from corpus.harvest.verify import Rejected, check

log = logging.getLogger("corpus.harvest.run")

__all__ = ["Downloader"]


class Downloader:
    """The download threads of one run."""

    def __init__(self, st: RunState) -> None:
        self.st = st

    def start_workers(self, limiter: HostLimiter | None = None) -> list[threading.Thread]:
        """Make (not start) each source's worker threads."""
        limiter = limiter or HostLimiter()
        threads = []
        for name in self.st.sources:
            s = self.st.settings.sources.get(name)
            n = max(1, s.file_concurrency if s else 2)
            cfg = FetchConfig(self.st.settings.user_agent, timeout_s=s.timeout_s if s else 30.0,
                              max_bytes=self.st.opt.max_bytes, retries=self.st.opt.download_retries,
                              backoff_s=self.st.opt.retry_backoff_s, deadline_s=self.st.opt.download_deadline_s)
            for i in range(n):
                threads.append(threading.Thread(target=self.worker, args=(name, cfg, limiter), name=f"dl-{name}-{i}",
                                                daemon=True))
        return threads

    def worker(self, source: str, cfg: FetchConfig, limiter: HostLimiter) -> None:
        fetcher = Fetcher(cfg, limiter, self.st.stop)
        times = StageTimes()
        self.st.worker_times.append(times)
        try:
            while not self.st.stop.is_set():
                task = self.st.work[source].get()
                if task is END or self.st.stop.is_set():
                    break
                self.st.results.put(self.process(task, fetcher, times))
        finally:
            fetcher.close()

    def process(self, task: Task, fetcher: Fetcher, times: StageTimes) -> Result:
        clock = time.thread_time
        t0 = clock()
        try:
            try:
                got = fetcher.fetch(task.hit.file_url)
            finally:
                t1 = clock()
                times.download += t1 - t0
            try:
                checked = check(got.data, got.content_type, self.st.limits)
            finally:
                t2 = clock()
                times.verify += t2 - t1
            sha1 = sha1_hex(checked.data)
            phash = phash_hex(checked.small)
            t3 = clock()
            times.hash += t3 - t2
            rel = files.relative_path(sha1, checked.ext)
            if self.st.stop.is_set():  # no new file after a stop: the writer may already be gone
                return Result(task, False, "interrupted", "", False)
            # Skip writing what the writer will not keep (it re-checks; these reads are a hint).
            # A near-duplicate that may be the better copy is written: the writer decides.
            placed = None
            if self.st.known.may_keep(sha1, phash, checked.width * checked.height, len(checked.data), self.st.opt.near_dup_bits):
                try:
                    placed = self.st.folder.place(rel, checked.data, fsync=self.st.opt.fsync)
                except OSError as exc:  # disk full, read-only: stop the run, blame no image
                    return Result(task, False, "local_io", files.describe_os_error(exc, self.st.data_dir), False, local=True)
            times.write += clock() - t3
            times.images += 1
            return Result(task, True, sha1=sha1, phash=phash, width=checked.width, height=checked.height,
                          mime=checked.mime, nbytes=len(checked.data), local_path=rel, wrote=placed is not None,
                          created=placed is not None and placed.created, claim=placed.claim if placed else None)
        except FetchFailed as exc:
            return Result(task, False, exc.reason, exc.detail, exc.permanent)
        except Rejected as exc:
            return Result(task, False, exc.reason, exc.detail, True)
        except Exception as exc:  # a bug or an exotic file must not stop the harvest
            log.exception("unexpected error on %s", task.hit.file_url)
            return Result(task, False, "error", describe_error(exc), False)
