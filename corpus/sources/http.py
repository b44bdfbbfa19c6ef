"""One polite HTTP client for every image API.

What "polite" means here, per source (one :class:`PoliteClient` per source):

* a descriptive User-Agent (Wikimedia blocks generic ones);
* at most ``max_concurrency`` requests in flight and at least ``1 / requests_per_second`` seconds
  between the starts of two requests;
* retries with exponential backoff on 429, 5xx and transport errors, waiting what the server asks
  for: ``Retry-After`` (seconds or an HTTP date), ``X-RateLimit-Reset`` (Pixabay: seconds until the
  window resets; Pexels: a unix time, sent only on 2xx so we remember it), and API-level errors a
  source marks as retryable (MediaWiki ``maxlag``/``ratelimited``, Flickr's transient codes);
* an optional on-disk JSON cache with a TTL (Pixabay's terms require 24 h), keyed by the URL with
  secrets removed.

Secrets (``key``/``api_key`` query parameters, the ``Authorization`` header, the key's value
itself) never reach an exception message or a log record: every URL we show goes through
:func:`redact_url` and every message through :meth:`PoliteClient.scrub`.

``sleep``, ``clock`` (monotonic) and ``wall`` (unix time) are injectable so tests can check the
waits without waiting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from corpus.config import SourceSettings
from corpus.retry_after import parse_retry_after
from corpus.sources.base import SourceError

__all__ = [
    "PoliteClient",
    "RateLimiter",
    "RetryableError",
    "redact_url",
    "parse_retry_after",
    "SECRET_PARAMS",
    "known_secrets",
]

log = logging.getLogger("corpus.sources.http")

SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "access_token", "token", "client_secret", "secret", "password"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524})
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0


# Every secret value any client holds, so the log filter below can scrub it wherever it appears.
_KNOWN_SECRETS: set[str] = set()


def known_secrets() -> list[str]:
    """Every secret value a client of this process holds (longest first), for scrubbing."""
    return sorted(_KNOWN_SECRETS, key=len, reverse=True)


def _scrub_known(text: str) -> str:
    for secret in sorted(_KNOWN_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class _RedactingFilter(logging.Filter):
    """httpx logs every request URL at INFO ("HTTP Request: GET https://...?key=..."): redact it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _scrub_known(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _scrub_known(redact_url(a)) if isinstance(a, (str, httpx.URL)) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactingFilter())


class RetryableError(Exception):
    """Raised by a source's ``check`` hook for an API-level error worth retrying (maxlag, Flickr
    code 105, ...). ``wait_s`` overrides the server's Retry-After when given."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


def redact_url(url: str | httpx.URL, secret_params: Iterable[str] = SECRET_PARAMS) -> str:
    """The URL with the values of secret query parameters replaced by ``***``."""
    secrets = {s.lower() for s in secret_params}
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    query = [(k, "***" if k.lower() in secrets else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*|,:")))


def _brief(url: str, limit: int = 100) -> str:
    """A URL short enough for a one-line message (Commons' search URLs run to 500 characters)."""
    return url if len(url) <= limit else url[: limit - 1] + "…"


class RateLimiter:
    """Minimum interval between request starts plus a cap on requests in flight (thread-safe)."""

    def __init__(
        self,
        requests_per_second: float,
        max_concurrency: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second and requests_per_second > 0 else 0.0
        self._sem = threading.BoundedSemaphore(max(1, int(max_concurrency or 1)))
        self._lock = threading.Lock()
        self._next = 0.0
        self._not_before = 0.0
        self._sleep = sleep
        self._clock = clock

    def hold_off(self, seconds: float) -> None:
        """No request starts in the next ``seconds`` (a server told us to wait)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def __enter__(self) -> "RateLimiter":
        self._sem.acquire()
        try:
            with self._lock:
                now = self._clock()
                start = max(now, self._next, self._not_before)
                self._next = start + self.interval
            if start > now:
                self._sleep(start - now)
        except BaseException:
            self._sem.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._sem.release()


class _JsonCache:
    """URL -> JSON body on disk, one file per entry, written atomically."""

    def __init__(self, directory: Path, ttl_s: float, wall: Callable[[], float]) -> None:
        self.dir = Path(directory)
        self.ttl_s = ttl_s
        self._wall = wall

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.dir / digest[:2] / f"{digest}.json"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry.get("key") != key:
                return None
            if self._wall() - float(entry["stored_at"]) > self.ttl_s:
                return None
            return entry["body"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable cache entry %s", path)
            return None

    def put(self, key: str, body: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"key": key, "stored_at": self._wall(), "body": body}, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


CheckHook = Callable[[Any, httpx.Response], None]


class PoliteClient:
    """A sync ``httpx`` client for one source, with its politeness and retry rules.

    ``reset_header``: how to read ``X-RateLimit-Reset`` — ``"seconds"`` (until reset, Pixabay),
    ``"epoch"`` (a unix time, Pexels) or None to ignore it.
    """

    def __init__(
        self,
        settings: SourceSettings,
        user_agent: str,
        *,
        headers: Mapping[str, str] | None = None,
        secret_params: Iterable[str] = SECRET_PARAMS,
        reset_header: Literal["seconds", "epoch"] | None = None,
        cache_dir: Path | str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.secret_params = frozenset(s.lower() for s in secret_params)
        self.reset_header = reset_header
        self._sleep = sleep
        self._clock = clock
        self._wall = wall
        self.limiter = RateLimiter(settings.requests_per_second, settings.max_concurrency, sleep=sleep, clock=clock)
        self._secrets: list[str] = []
        self.add_secret(settings.api_key.get() if settings.api_key else "")
        all_headers = {"User-Agent": user_agent, "Accept": "application/json", "Accept-Encoding": "gzip"}
        all_headers.update(headers or {})
        for hname, value in all_headers.items():  # an Authorization value is a secret too
            if hname.lower() == "authorization" and value:
                self.add_secret(value)
                self.add_secret(value.split(" ", 1)[-1])
        self._http = httpx.Client(
            headers=all_headers,
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=True,
            transport=transport,
        )
        self.cache = (
            _JsonCache(Path(cache_dir), settings.cache_ttl_s, wall)
            if cache_dir is not None and settings.cache_ttl_s > 0
            else None
        )
        self._epoch_reset: float | None = None  # Pexels: last X-Ratelimit-Reset seen on a 2xx
        self.requests_sent = 0
        self.cache_hits = 0

    # -- secrets -----------------------------------------------------------------------------

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)
        if value:
            _KNOWN_SECRETS.add(value)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``***``."""
        for s in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text

    def redact(self, url: str | httpx.URL) -> str:
        return self.scrub(redact_url(url, self.secret_params))

    def scrub_body(self, body: Any) -> Any:
        """``body`` (parsed JSON) with every secret replaced by ``***`` in every string, keys
        included: a server that echoes the key back (in a page URL, an author name, ...) must not
        get it into the store or the response cache."""
        if not self._secrets:
            return body
        forms = sorted({f for s in self._secrets for f in (s, quote(s, safe=""), quote_plus(s))}, key=len, reverse=True)

        def walk(v: Any) -> Any:
            if isinstance(v, str):
                for f in forms:
                    if f in v:
                        v = v.replace(f, "***")
                return v
            if isinstance(v, dict):
                return {walk(k): walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            return v

        return walk(body)

    # -- requests ----------------------------------------------------------------------------

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        check: CheckHook | None = None,
        use_cache: bool = True,
    ) -> Any:
        """GET ``url`` and return its JSON body, retrying as the class docstring says.

        ``check(body, response)`` may raise :class:`RetryableError` (retry) or
        :class:`SourceError` (give up) for errors an API reports inside a 200.
        """
        request = self._http.build_request("GET", url, params=_clean_params(params), headers=headers)
        shown = self.redact(request.url)
        cache_key = redact_url(request.url, self.secret_params)
        if self.cache is not None and use_cache:
            cached = self.cache.get(cache_key)
            if cached is not None:
                self.cache_hits += 1
                log.debug("%s: cache hit %s", self.name, shown)
                return cached

        attempts = max(0, int(self.settings.max_retries)) + 1
        last_problem = ""
        for attempt in range(attempts):
            final = attempt == attempts - 1
            wait: float | None = None
            try:
                with self.limiter:
                    self.requests_sent += 1
                    log.debug("%s: GET %s", self.name, shown)
                    response = self._http.send(request)
                    response.read()
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {self.scrub(str(exc)) or 'no detail'}"
                if final:
                    break
                self._retry_wait(None, attempt, shown, last_problem)
                continue

            self._note_rate_headers(response)
            status = response.status_code
            if status in RETRY_STATUSES:
                last_problem = f"HTTP {status}{_snippet(response, self.scrub)}"
                if final:
                    break
                self._retry_wait(self._server_wait(response, status), attempt, shown, last_problem)
                continue
            if status >= 400:
                raise SourceError(f"{self.name}: HTTP {status} from {shown}{_snippet(response, self.scrub)}")

            try:
                body = self.scrub_body(response.json())
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise SourceError(
                    f"{self.name} returned malformed JSON from {shown} (HTTP {status}, "
                    f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}){_snippet(response, self.scrub)}"
                ) from None
            if check is not None:
                try:
                    check(body, response)
                except RetryableError as exc:
                    last_problem = self.scrub(str(exc))
                    if final:
                        break
                    wait = exc.wait_s if exc.wait_s is not None else self._server_wait(response, status)
                    self._retry_wait(wait, attempt, shown, last_problem)
                    continue
                except SourceError as exc:
                    raise SourceError(self.scrub(f"{exc} (from {shown})")) from None
            if self.cache is not None and use_cache:
                self.cache.put(cache_key, body)
            return body

        raise SourceError(f"{self.name}: giving up on {_brief(shown)} after {attempts} attempt(s): {last_problem}")

    def _server_wait(self, response: httpx.Response, status: int) -> float | None:
        """How long the server asks us to wait, from its headers (None: it does not say)."""
        wait = parse_retry_after(response.headers.get("Retry-After"), self._wall())
        if wait is not None:
            return wait
        reset = response.headers.get("X-RateLimit-Reset") or response.headers.get("X-Ratelimit-Reset")
        if self.reset_header == "seconds" and reset is not None:
            try:
                return max(0.0, float(reset))
            except ValueError:
                return None
        if self.reset_header == "epoch" and status == 429:
            epoch = _float(reset) if reset is not None else self._epoch_reset
            if epoch is not None:
                return max(0.0, epoch - self._wall())
        return None

    def _note_rate_headers(self, response: httpx.Response) -> None:
        headers = response.headers
        reset = headers.get("X-RateLimit-Reset")
        if reset is None or not response.is_success:
            return
        if self.reset_header == "epoch":
            self._epoch_reset = _float(reset)
        remaining = _float(headers.get("X-RateLimit-Remaining"))
        if remaining is not None and remaining <= 0:
            # The quota is spent: hold the next request until the window resets, rather than
            # collecting a 429 first.
            wait = self._server_wait(response, 429)
            if wait is not None and wait <= self.settings.max_retry_after_s:
                log.info("%s: rate-limit quota spent, holding requests for %.1f s", self.name, wait)
                self.limiter.hold_off(wait)

    def _retry_wait(self, server_wait: float | None, attempt: int, shown: str, problem: str) -> None:
        if server_wait is None:
            wait = min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2**attempt))
        else:
            wait = server_wait
            if wait > self.settings.max_retry_after_s:
                raise SourceError(
                    f"{self.name}: {shown} asks us to wait {wait:.0f} s ({problem}), more than "
                    f"max_retry_after_s={self.settings.max_retry_after_s:.0f} s; try again later"
                )
        log.warning("%s: %s on %s; retry %d in %.1f s", self.name, problem, _brief(shown), attempt + 1, wait)
        if server_wait is not None:
            self.limiter.hold_off(wait)  # the server's wait applies to every thread using this source
        self._sleep(wait)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PoliteClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if params is None:
        return None
    out: dict[str, str] = {}
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        out[k] = str(v)
    return out


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _snippet(response: httpx.Response, scrub: Callable[[str], str], limit: int = 200) -> str:
    try:
        text = response.text
    except Exception:  # undecodable body: say nothing rather than fail while failing
        return ""
    text = " ".join(text.split())
    if not text:
        return ""
    if len(text) > limit:
        text = text[:limit] + "..."
    return f": {scrub(text)!r}"
