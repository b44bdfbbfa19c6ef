"""The polite client against a real local HTTP server: retries, waits, caching, secrets."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from dataclasses import replace

import pytest
from werkzeug import Response

from corpus.config import DEFAULT_SOURCES, Secret
from corpus.sources.base import SourceError
from corpus.sources.http import PoliteClient, RateLimiter, RetryableError, parse_retry_after, redact_url

from .conftest import API_KEY

UA = "mic-corpus-test/0 (test@example.org)"


def client(httpserver, fake_time, tmp_path=None, **kw) -> PoliteClient:
    reset = kw.pop("reset_header", None)
    opts = {"requests_per_second": 0.0, "max_retries": 3, "timeout_s": 5.0, "cache_ttl_s": 0.0, **kw}
    s = replace(DEFAULT_SOURCES["pixabay"], base_url=httpserver.url_for("/"), api_key=Secret(API_KEY), **opts)
    return PoliteClient(s, UA, reset_header=reset, cache_dir=tmp_path, sleep=fake_time.sleep,
                        clock=fake_time.monotonic, wall=fake_time.time)


def test_user_agent_and_json(httpserver, fake_time):
    httpserver.expect_request("/api/", headers={"User-Agent": UA}).respond_with_json({"ok": 1})
    with client(httpserver, fake_time) as c:
        assert c.get_json(httpserver.url_for("/api/"), {"q": "ball"}) == {"ok": 1}
    assert fake_time.sleeps == []


def test_429_retry_after_seconds_then_success(httpserver, fake_time):
    httpserver.expect_ordered_request("/api/").respond_with_response(
        Response("Too Many Requests", status=429, headers={"Retry-After": "7"}))
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 2})
    with client(httpserver, fake_time) as c:
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 2}
        assert c.requests_sent == 2
    assert fake_time.sleeps == [7.0]


def test_429_retry_after_http_date(httpserver, fake_time):
    when = email.utils.formatdate(fake_time.time() + 30, usegmt=True)
    httpserver.expect_ordered_request("/api/").respond_with_response(Response("", status=429, headers={"Retry-After": when}))
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 3})
    with client(httpserver, fake_time) as c:
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 3}
    assert len(fake_time.sleeps) == 1 and 28.5 <= fake_time.sleeps[0] <= 30.5


def test_5xx_backoff_then_success(httpserver, fake_time):
    for _ in range(2):
        httpserver.expect_ordered_request("/api/").respond_with_response(Response("oops", status=503))
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 4})
    with client(httpserver, fake_time) as c:
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 4}
    assert fake_time.sleeps == [1.0, 2.0]  # exponential backoff, no Retry-After given


def test_gives_up_after_max_retries_naming_the_url_without_the_key(httpserver, fake_time, caplog):
    httpserver.expect_request("/api/").respond_with_response(Response("down", status=500))
    caplog.set_level(logging.DEBUG)
    with client(httpserver, fake_time, max_retries=2) as c, pytest.raises(SourceError) as err:
        c.get_json(httpserver.url_for("/api/"), {"key": API_KEY, "q": "ball"})
    msg = str(err.value)
    assert "giving up" in msg and "after 3 attempt(s)" in msg and "HTTP 500" in msg
    assert "/api/?key=***&q=ball" in msg
    assert API_KEY not in msg
    assert len(httpserver.log) == 3
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx's own log line, redacted
    # werkzeug is the test server itself logging what it received, not our code
    assert caplog.records and all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")


def test_retry_after_longer_than_allowed_gives_up_at_once(httpserver, fake_time):
    httpserver.expect_request("/api/").respond_with_response(Response("", status=429, headers={"Retry-After": "3600"}))
    with client(httpserver, fake_time, max_retry_after_s=60) as c, pytest.raises(SourceError, match="wait 3600 s"):
        c.get_json(httpserver.url_for("/api/"))
    assert fake_time.sleeps == [] and len(httpserver.log) == 1


def test_rate_limit_reset_seconds(httpserver, fake_time):
    httpserver.expect_ordered_request("/api/").respond_with_response(
        Response("API rate limit exceeded", status=429, headers={"X-RateLimit-Reset": "12"}))
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 5}, headers={
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40"})
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 6})
    with client(httpserver, fake_time, reset_header="seconds") as c:
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 5}
        assert fake_time.sleeps == [12.0]
        # quota spent: the next request waits for the window to reset, without a 429 first
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 6}
    assert fake_time.sleeps == [12.0, 40.0]


def test_rate_limit_reset_epoch_remembered_from_2xx(httpserver, fake_time):
    reset_at = int(fake_time.time()) + 25
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 7}, headers={
        "X-Ratelimit-Remaining": "5", "X-Ratelimit-Reset": str(reset_at)})
    httpserver.expect_ordered_request("/api/").respond_with_response(Response("", status=429))  # no headers, as Pexels
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 8})
    with client(httpserver, fake_time, reset_header="epoch") as c:
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 7}
        assert c.get_json(httpserver.url_for("/api/")) == {"ok": 8}
    assert len(fake_time.sleeps) == 1 and 23 <= fake_time.sleeps[0] <= 25


def test_transport_error_retried(httpserver, fake_time):
    # A server that is not there: connection refused on every attempt.
    s = replace(DEFAULT_SOURCES["commons"], base_url="http://127.0.0.1:9/", requests_per_second=0.0,
                max_retries=2, timeout_s=1.0)
    with PoliteClient(s, UA, sleep=fake_time.sleep, clock=fake_time.monotonic) as c:
        with pytest.raises(SourceError, match=r"giving up on http://127\.0\.0\.1:9/x after 3 attempt\(s\): ConnectError"):
            c.get_json("http://127.0.0.1:9/x")
    assert fake_time.sleeps == [1.0, 2.0]


def test_malformed_json(httpserver, fake_time):
    httpserver.expect_request("/api/").respond_with_data('{"hits": [1, 2', content_type="application/json")
    with client(httpserver, fake_time) as c, pytest.raises(SourceError) as err:
        c.get_json(httpserver.url_for("/api/"), {"key": API_KEY})
    assert "returned malformed JSON" in str(err.value) and "?key=***" in str(err.value)
    assert API_KEY not in str(err.value)


def test_4xx_is_not_retried_and_body_is_scrubbed(httpserver, fake_time):
    httpserver.expect_request("/api/").respond_with_data(f"[ERROR 400] Invalid API key {API_KEY}", status=400)
    with client(httpserver, fake_time) as c, pytest.raises(SourceError) as err:
        c.get_json(httpserver.url_for("/api/"), {"key": API_KEY})
    assert "HTTP 400" in str(err.value) and "Invalid API key ***" in str(err.value)
    assert API_KEY not in str(err.value) and len(httpserver.log) == 1


def test_check_hook_retry_and_fail(httpserver, fake_time):
    httpserver.expect_ordered_request("/api/").respond_with_json({"err": "busy"}, headers={"Retry-After": "5"})
    httpserver.expect_ordered_request("/api/").respond_with_json({"err": "busy"})
    httpserver.expect_ordered_request("/api/").respond_with_json({"ok": 1})

    def check(body, response):
        if body.get("err"):
            raise RetryableError("busy")

    with client(httpserver, fake_time) as c:
        assert c.get_json(httpserver.url_for("/api/"), check=check) == {"ok": 1}
    assert fake_time.sleeps == [5.0, 2.0]


def test_cache_ttl_and_key_without_secrets(httpserver, fake_time, tmp_path):
    httpserver.expect_request("/api/").respond_with_json({"n": 1})
    with client(httpserver, fake_time, tmp_path, cache_ttl_s=24 * 3600) as c:
        url = httpserver.url_for("/api/")
        assert c.get_json(url, {"key": API_KEY, "q": "ball"}) == {"n": 1}
        assert c.get_json(url, {"key": API_KEY, "q": "ball"}) == {"n": 1}
        assert len(httpserver.log) == 1 and c.cache_hits == 1
        assert c.get_json(url, {"key": API_KEY, "q": "goal"}) == {"n": 1}
        assert len(httpserver.log) == 2
        fake_time.now += 24 * 3600 + 1
        c.get_json(url, {"key": API_KEY, "q": "ball"})
        assert len(httpserver.log) == 3
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 2
    assert all(API_KEY not in f.read_text() for f in files)
    files[0].write_text("{not json")  # a damaged entry is ignored, not fatal
    with client(httpserver, fake_time, tmp_path, cache_ttl_s=3600) as c:
        c.get_json(url, {"key": API_KEY, "q": "ball"})
        c.get_json(url, {"key": API_KEY, "q": "goal"})


def test_rate_limiter_spacing_and_concurrency():
    ft_sleeps: list[float] = []
    now = [0.0]
    lim = RateLimiter(2.0, 1, sleep=lambda s: (ft_sleeps.append(s), now.__setitem__(0, now[0] + s)), clock=lambda: now[0])
    for _ in range(3):
        with lim:
            pass
    assert ft_sleeps == [0.5, 0.5]

    real = RateLimiter(0, 2)
    inflight, peak, lock = [0], [0], threading.Lock()

    def work():
        with real:
            with lock:
                inflight[0] += 1
                peak[0] = max(peak[0], inflight[0])
            time.sleep(0.02)
            with lock:
                inflight[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_redact_and_retry_after_parsing():
    assert redact_url("https://x/api/?key=abc&q=a+b&api_key=z") == "https://x/api/?key=***&q=a+b&api_key=***"
    assert redact_url("https://x/api/") == "https://x/api/"
    assert parse_retry_after("5", 0) == 5.0
    assert parse_retry_after("garbage", 0) is None
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10.0


def test_authorization_header_never_in_messages(httpserver, fake_time, caplog):
    s = replace(DEFAULT_SOURCES["pexels"], base_url=httpserver.url_for("/"), api_key=Secret(API_KEY),
                requests_per_second=0.0, max_retries=1)
    httpserver.expect_request("/v1/search").respond_with_data(f"echo {API_KEY}", status=503)
    caplog.set_level(logging.DEBUG)
    with PoliteClient(s, UA, headers={"Authorization": API_KEY}, sleep=fake_time.sleep, clock=fake_time.monotonic) as c:
        with pytest.raises(SourceError) as err:
            c.get_json(httpserver.url_for("/v1/search"), {"query": "ball"})
    assert API_KEY not in str(err.value) and "echo ***" in str(err.value)
    assert all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert httpserver.log[0][0].headers["Authorization"] == API_KEY
