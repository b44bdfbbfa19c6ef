"""Downloads from a real local HTTP server: limits, redirects, errors, retries, politeness."""

from __future__ import annotations

import time

import pytest
from werkzeug.wrappers import Response

from corpus.harvest.fetch import FetchConfig, Fetcher, FetchFailed, HostLimiter
from tests.harvest.support import make_jpeg, serve_image

UA = "mic-corpus-test/1.0"


@pytest.fixture
def fetcher():
    f = Fetcher(FetchConfig(UA, timeout_s=5, max_bytes=200_000, retries=2, max_retry_after_s=2, backoff_s=0.01))
    yield f
    f.close()


def failure(fetcher, url) -> FetchFailed:
    with pytest.raises(FetchFailed) as ei:
        fetcher.fetch(url)
    return ei.value


def test_plain_download_sends_our_user_agent(httpserver, fetcher):
    data = make_jpeg(1)
    serve_image(httpserver, "/a.jpg", data)
    got = fetcher.fetch(httpserver.url_for("/a.jpg"))
    assert got.data == data and got.content_type == "image/jpeg"
    req, _ = httpserver.log[0]
    assert req.headers["User-Agent"] == UA


def test_redirects_are_followed(httpserver, fetcher):
    data = make_jpeg(2)
    httpserver.expect_request("/r1").respond_with_response(Response(status=302, headers={"Location": "/r2"}))
    httpserver.expect_request("/r2").respond_with_response(Response(status=301, headers={"Location": "/final.jpg"}))
    serve_image(httpserver, "/final.jpg", data)
    got = fetcher.fetch(httpserver.url_for("/r1"))
    assert got.data == data and got.final_url.endswith("/final.jpg")


def test_redirect_loop_is_bounded(httpserver, fetcher):
    httpserver.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": "/loop"}))
    exc = failure(fetcher, httpserver.url_for("/loop"))
    assert exc.reason == "too_many_redirects" and exc.permanent
    assert len(httpserver.log) == 6  # the first request and 5 redirects


def test_404_is_a_permanent_rejection(httpserver, fetcher):
    httpserver.expect_request("/gone.jpg").respond_with_data("nope", status=404)
    exc = failure(fetcher, httpserver.url_for("/gone.jpg"))
    assert (exc.reason, exc.permanent) == ("http_404", True)
    assert len(httpserver.log) == 1


def test_huge_content_length_is_rejected_before_reading(httpserver, fetcher):
    def handler(request):
        # Announces 10 GB; the client must give up on the header alone.
        return Response(iter([b"\xff\xd8\xff" + b"\0" * 100]), content_type="image/jpeg",
                        headers={"Content-Length": str(10 * 1024**3)})

    httpserver.expect_request("/huge.jpg").respond_with_handler(handler)
    exc = failure(fetcher, httpserver.url_for("/huge.jpg"))
    assert exc.reason == "too_large" and "Content-Length" in exc.detail


def test_body_past_the_limit_without_content_length_is_cut(httpserver, fetcher):
    def handler(request):
        def gen():
            for _ in range(100):
                yield b"\0" * 10_000  # 1 MB in all, limit is 200 kB
        return Response(gen(), content_type="image/jpeg")

    httpserver.expect_request("/stream.jpg").respond_with_handler(handler)
    exc = failure(fetcher, httpserver.url_for("/stream.jpg"))
    assert exc.reason == "too_large" and "more than 200000" in exc.detail


def test_html_content_type_is_rejected_early(httpserver, fetcher):
    httpserver.expect_request("/page.jpg").respond_with_data("<html></html>", content_type="text/html")
    assert failure(fetcher, httpserver.url_for("/page.jpg")).reason == "not_an_image"


def test_503_with_retry_after_then_success(httpserver, fetcher):
    data = make_jpeg(3)
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("busy", status=503, headers={"Retry-After": "1"})
        return Response(data, content_type="image/jpeg")

    httpserver.expect_request("/busy.jpg").respond_with_handler(handler)
    assert fetcher.fetch(httpserver.url_for("/busy.jpg")).data == data
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9


def test_persistent_500_is_a_transient_failure(httpserver, fetcher):
    httpserver.expect_request("/broken.jpg").respond_with_data("oops", status=500)
    exc = failure(fetcher, httpserver.url_for("/broken.jpg"))
    assert (exc.reason, exc.permanent) == ("http_500", False)
    assert len(httpserver.log) == 3  # first try + 2 retries


def test_short_body_is_a_truncated_transfer(httpserver, fetcher):
    def handler(request):
        return Response(iter([b"\xff\xd8\xff" + b"\0" * 100]), content_type="image/jpeg", headers={"Content-Length": "5000"})

    httpserver.expect_request("/short.jpg").respond_with_handler(handler)
    exc = failure(fetcher, httpserver.url_for("/short.jpg"))
    assert exc.reason == "truncated" and not exc.permanent


def test_timeout_is_transient(httpserver):
    f = Fetcher(FetchConfig(UA, timeout_s=0.3, retries=0))
    serve_image(httpserver, "/slow.jpg", make_jpeg(4), delay_s=1.0)
    try:
        exc = failure(f, httpserver.url_for("/slow.jpg"))
    finally:
        f.close()
    assert (exc.reason, exc.permanent) == ("timeout", False)


def test_noai_robots_header_is_honoured(httpserver, fetcher):
    serve_image(httpserver, "/noai.jpg", make_jpeg(5), headers={"X-Robots-Tag": "noai"})
    assert failure(fetcher, httpserver.url_for("/noai.jpg")).reason == "noai"


def test_connection_refused_is_transient(fetcher):
    exc = failure(fetcher, "http://127.0.0.1:9/x.jpg")
    assert (exc.reason, exc.permanent) == ("connection_error", False)


def test_host_limiter_caps_concurrency_per_host():
    lim = HostLimiter({"upload.wikimedia.org": 2})
    sem = lim.semaphore("upload.wikimedia.org")
    assert lim.semaphore("example.org") is None
    assert sem.acquire(timeout=0.1) and sem.acquire(timeout=0.1)
    assert not sem.acquire(timeout=0.1)
    sem.release()
    sem.release()


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.org/a.jpg", "javascript:alert(1)"])
def test_redirect_to_a_non_http_scheme_is_a_permanent_rejection(httpserver, fetcher, target):
    httpserver.expect_request("/evil").respond_with_response(Response(status=302, headers={"Location": target}))
    exc = failure(fetcher, httpserver.url_for("/evil"))
    assert exc.reason == "bad_url" and exc.permanent
    assert len(httpserver.log) == 1  # not retried


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.jpg", "", "not a url"])
def test_non_http_urls_are_never_fetched(fetcher, url):
    exc = failure(fetcher, url)
    assert exc.reason == "bad_url" and exc.permanent


def test_a_dripping_server_meets_the_total_deadline(httpserver):
    """200 bytes/s never trips the read timeout; the total deadline ends the download, it is not
    retried within the run (it would drip again) and is reported as such."""
    from tests.harvest.support import drip_image

    drip_image(httpserver, "/drip.jpg", b"\xff\xd8" + b"x" * 3998, bytes_per_s=200)
    f = Fetcher(FetchConfig(UA, timeout_s=5, retries=2, backoff_s=0.01, deadline_s=1.5))
    try:
        t0 = time.monotonic()
        exc = failure(f, httpserver.url_for("/drip.jpg"))
        elapsed = time.monotonic() - t0
    finally:
        f.close()
    assert (exc.reason, exc.permanent) == ("deadline", False)
    assert "gave up after" in exc.detail and "deadline 1.5 s" in exc.detail
    assert 1.4 < elapsed < 3.0
