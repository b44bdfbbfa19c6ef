"""Openverse client against recorded responses served locally."""

from __future__ import annotations

import pytest
from werkzeug import Response

from corpus.licenses import LicensePolicy
from corpus.sources import make_source
from corpus.sources.base import SourceError

from .conftest import API_KEY, load

PATH = "/v1/images/"


def _source(make_settings, fake_time, key=None, policy=None):
    return make_source("openverse", make_settings("openverse", "/v1", key=key), policy=policy,
                       sleep=fake_time.sleep, clock=fake_time.monotonic, wall=fake_time.time)


def test_paging_to_page_count_and_licenses(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH, query_string={"q": "tree", "page": "1", "page_size": "2", "mature": "false",
                                                          "license_type": "commercial,modification"}
                                      ).respond_with_json(load("openverse_images_short_page1.json"))
    httpserver.expect_ordered_request(PATH, query_string={"q": "tree", "page": "2", "page_size": "2", "mature": "false",
                                                          "license_type": "commercial,modification"}
                                      ).respond_with_json(load("openverse_images_short_page2.json"))
    hits, state = [], None
    with _source(make_settings, fake_time, policy=LicensePolicy.parse("default")) as src:
        while True:
            page = src.search("tree", "en", state, per_page=2)
            hits += page.hits
            if (state := page.next_state) is None:
                break
    assert len(httpserver.log) == 2 and [h.rank for h in hits] == [1, 2, 3]
    bark, exam, nc = hits
    assert (bark.license.code, bark.author, bark.width, bark.mime) == ("CC0-1.0", "Tim Sullivan", 6016, "image/jpeg")
    assert bark.file_url == "https://cdn.stocksnap.io/img-thumbs/960w/XNVBVXO3B7.jpg"
    assert bark.landing_url == "https://stocksnap.io/photo/XNVBVXO3B7"
    assert bark.extra["tags"] == ["bark", "tree"] and bark.extra["provider"] == "stocksnap"
    assert bark.attribution == '"Tree Bark Photo" by Tim Sullivan, CC0 1.0, via stocksnap via Openverse, https://stocksnap.io/photo/XNVBVXO3B7'
    assert exam.license.code == "CC-BY-2.0" and exam.license_raw == "by 2.0"
    assert nc.width is None and nc.mime is None
    policy = LicensePolicy.parse("default")
    assert [policy.reason(h.license) for h in hits] == [None, None, "license:non-commercial"]
    assert LicensePolicy.parse("research").allows(nc.license)


def test_anonymous_page_size_capped_and_token_sent(httpserver, make_settings, fake_time):
    httpserver.expect_request(PATH).respond_with_json(load("openverse_images_page1.json"))
    with _source(make_settings, fake_time) as src:
        page = src.search("tree", "en", per_page=100)
    assert page.next_state == {"page": 2} and page.total == 240
    req = httpserver.log[0][0]
    assert req.args["page_size"] == "20" and "Authorization" not in req.headers
    with _source(make_settings, fake_time, key=API_KEY) as src:
        src.search("tree", "en", per_page=100)
    req = httpserver.log[1][0]
    assert req.args["page_size"] == "50" and req.headers["Authorization"] == f"Bearer {API_KEY}"


def test_every_language_as_plain_text(httpserver, make_settings, fake_time):
    """No lang parameter, but titles and tags in other languages match as literal tokens (issue 10):
    every language is searched, as the text itself."""
    httpserver.expect_request(PATH).respond_with_json(load("openverse_images_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert src.search_language("en") == src.search_language("de") == src.search_language("bg") == ""
        assert src.search_language("") is None
        page = src.search("тенисист", "bg")
    assert page.hits and httpserver.log[0][0].args["q"] == "тенисист" and "lang" not in httpserver.log[0][0].args


def test_429_retry_after_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_json(load("openverse_429.json"), status=429,
                                                              headers={"Retry-After": "4"})
    httpserver.expect_ordered_request(PATH).respond_with_json(load("openverse_images_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("tree", "en").hits) == 2
    assert fake_time.sleeps == [4.0]


def test_5xx_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("bad gateway", status=502))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("openverse_images_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("tree", "en").hits) == 2
    assert fake_time.sleeps == [1.0]


def test_400_and_malformed_json(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_json(load("openverse_400.json"), status=400)
    httpserver.expect_ordered_request(PATH).respond_with_data('{"results": [', content_type="application/json")
    with _source(make_settings, fake_time) as src:
        with pytest.raises(SourceError, match=r"HTTP 400 .*does not exist"):
            src.search("tree", "en")
        with pytest.raises(SourceError, match="openverse returned malformed JSON"):
            src.search("tree", "en")


def test_token_never_in_errors(httpserver, make_settings, fake_time, caplog):
    httpserver.expect_request(PATH).respond_with_data(f"token {API_KEY} invalid", status=401)
    with _source(make_settings, fake_time, key=API_KEY) as src, pytest.raises(SourceError) as err:
        src.search("tree", "en")
    assert API_KEY not in str(err.value) and "HTTP 401" in str(err.value)
    assert API_KEY not in repr(src) and all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")


def test_request_token(httpserver):
    from corpus.sources.openverse import request_token

    httpserver.expect_ordered_request("/v1/auth_tokens/token/", method="POST", data=(
        "grant_type=client_credentials&client_id=my-id&client_secret=my-secret-123")).respond_with_json(load("openverse_token.json"))
    httpserver.expect_ordered_request("/v1/auth_tokens/token/", method="POST").respond_with_data(
        "bad client my-secret-123", status=401)
    assert request_token(httpserver.url_for("/v1"), "my-id", "my-secret-123") == ("DLBYIcfnKfolaXKcmMC8RIDCavc2hW", 36000)
    with pytest.raises(SourceError, match="HTTP 401") as err:
        request_token(httpserver.url_for("/v1"), "my-id", "my-secret-123")
    assert "my-secret-123" not in str(err.value)
