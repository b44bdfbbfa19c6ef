"""Downloading one image: streaming, bounded, redirect-following, with a few polite retries.

One :class:`Fetcher` per download thread, each with its own ``httpx.Client`` and one connection:
httpcore's pool bookkeeping grows with the requests queued on a pool (../shared/docs/harvest-performance.md),
and with blocking threads no request ever waits in a pool. (Measured: 8 threads sharing one pool of
8 cost the same CPU per image as 8 clients; what matters is not queueing, see docs/benchmarks.md.)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from corpus.harvest.verify import content_type_ok
from corpus.retry_after import parse_retry_after

DEFAULT_MAX_BYTES = 40 * 1024 * 1024
DEFAULT_TIMEOUT_S = 30.0
# Total time one download attempt may take, however slowly the bytes keep coming (a server that
# drips 200 bytes/s never trips the read timeout and would hold a worker for many minutes).
DEFAULT_DEADLINE_S = 180.0
MAX_REDIRECTS = 5
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Hosts whose operators ask for a maximum number of concurrent file downloads per client,
# whatever source the URL came from (Openverse hands out upload.wikimedia.org URLs too).
HOST_CAPS = {"upload.wikimedia.org": 2}


class FetchFailed(Exception):
    """A download did not give us bytes.

    ``permanent`` failures (404, too large, not an image, too many redirects) are recorded as
    rejections and never retried; transient ones (timeouts, 5xx, connection errors) are recorded
    as ``failed`` and retried by a later run.
    """

    def __init__(self, reason: str, detail: str = "", permanent: bool = True) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.permanent = permanent


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str | None
    final_url: str


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = MAX_REDIRECTS
    retries: int = 2  # after the first attempt, for 429/5xx/timeouts
    backoff_s: float = 0.5  # first wait without Retry-After; doubles each time
    max_retry_after_s: float = 60.0
    deadline_s: float = DEFAULT_DEADLINE_S  # total time per attempt, from the request's start


class HostLimiter:
    """Caps concurrent downloads per host across all threads and sources."""

    def __init__(self, caps: dict[str, int] | None = None) -> None:
        self._caps = dict(HOST_CAPS if caps is None else caps)
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def semaphore(self, host: str) -> threading.BoundedSemaphore | None:
        cap = self._caps.get(host)
        if cap is None:
            return None
        with self._lock:
            sem = self._sems.get(host)
            if sem is None:
                sem = self._sems[host] = threading.BoundedSemaphore(cap)
            return sem


class Fetcher:
    def __init__(self, config: FetchConfig, limiter: HostLimiter | None = None,
                 stop: threading.Event | None = None) -> None:
        self.config = config
        self.limiter = limiter or HostLimiter({})
        self.stop = stop or threading.Event()
        self.client = httpx.Client(
            headers={"User-Agent": config.user_agent, "Accept": "image/*"},
            timeout=config.timeout_s,
            follow_redirects=True,
            max_redirects=config.max_redirects,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str) -> Fetched:
        attempt = 0
        while True:
            try:
                return self._fetch_once(url)
            except FetchFailed as exc:
                # A server that missed the deadline would only drip again: no retry in this run.
                if exc.permanent or exc.reason == "deadline" or attempt >= self.config.retries or self.stop.is_set():
                    raise
                wait = getattr(exc, "retry_after", None)
                if wait is None:
                    wait = self.config.backoff_s * 2**attempt
                if wait > self.config.max_retry_after_s:
                    raise
                attempt += 1
                self.stop.wait(wait)

    def _fetch_once(self, url: str) -> Fetched:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise FetchFailed("bad_url", str(exc)) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FetchFailed("bad_url", f"not an http(s) URL: {str(url)[:100]!r}")
        host = parsed.host
        sem = self.limiter.semaphore(host)
        if sem is not None:
            while not sem.acquire(timeout=0.25):  # waiting for a slot must not outlast a stop
                if self.stop.is_set():
                    raise FetchFailed("interrupted", url, permanent=False)
        try:
            return self._get(url)
        finally:
            if sem is not None:
                sem.release()

    def _get(self, url: str) -> Fetched:
        cfg = self.config
        started = time.monotonic()
        deadline = started + cfg.deadline_s
        try:
            # No single wait may outlast the deadline either.
            timeout = httpx.Timeout(min(cfg.timeout_s, cfg.deadline_s))
            with self.client.stream("GET", url, timeout=timeout) as resp:
                if resp.status_code != 200:
                    code = resp.status_code
                    if code in RETRY_STATUSES:
                        exc = FetchFailed(f"http_{code}", url, permanent=False)
                        exc.retry_after = parse_retry_after(resp.headers.get("retry-after"), time.time())  # type: ignore[attr-defined]
                        raise exc
                    raise FetchFailed(f"http_{code}", url)
                robots = resp.headers.get("x-robots-tag", "").lower()
                if "noai" in robots or "noimageai" in robots:
                    raise FetchFailed("noai", f"X-Robots-Tag: {robots}")
                ctype = resp.headers.get("content-type")
                if not content_type_ok(ctype):
                    raise FetchFailed("not_an_image", f"served as {ctype}")
                length = resp.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > cfg.max_bytes:
                    raise FetchFailed("too_large", f"Content-Length {length} > {cfg.max_bytes}")
                chunks: list[bytes] = []
                size = 0
                # Chunks as they arrive (a chunk size would make httpx buffer that much first,
                # and a dripping server would then not be looked at, stop or deadline, for minutes).
                for chunk in resp.iter_raw() if _identity(resp) else resp.iter_bytes():
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise FetchFailed("too_large", f"more than {cfg.max_bytes} bytes")
                    chunks.append(chunk)
                    if self.stop.is_set():
                        raise FetchFailed("interrupted", url, permanent=False)
                    if time.monotonic() > deadline:
                        raise FetchFailed("deadline", f"gave up after {time.monotonic() - started:.0f} s (deadline "
                                          f"{cfg.deadline_s:g} s), {size} bytes received", permanent=False)
                data = b"".join(chunks)
                if length is not None and length.isdigit() and len(data) < int(length):
                    raise FetchFailed("truncated", f"{len(data)} of {length} bytes", permanent=False)
                return Fetched(data, ctype, str(resp.url))
        except httpx.TooManyRedirects as exc:
            raise FetchFailed("too_many_redirects", str(exc)) from None
        except httpx.UnsupportedProtocol as exc:
            # A redirect to file://, ftp://, ...: no retry will make it an image.
            raise FetchFailed("bad_url", f"redirected to a non-http(s) URL: {exc}") from None
        except httpx.TimeoutException as exc:
            raise FetchFailed("timeout", f"{type(exc).__name__} after {cfg.timeout_s:g} s", permanent=False) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # The server closed the connection mid-body: a truncated transfer, worth one retry.
            raise FetchFailed("truncated", f"{type(exc).__name__}: {exc}", permanent=False) from None
        except httpx.TransportError as exc:
            raise FetchFailed("connection_error", f"{type(exc).__name__}: {exc}", permanent=False) from None
        except httpx.InvalidURL as exc:
            raise FetchFailed("bad_url", str(exc)) from None


def _identity(resp: httpx.Response) -> bool:
    enc = resp.headers.get("content-encoding", "").strip().lower()
    return enc in ("", "identity")
