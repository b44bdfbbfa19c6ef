"""Pexels client against recorded responses served locally."""

from __future__ import annotations

import logging

import pytest
from werkzeug import Response

from corpus.licenses import LicensePolicy
from corpus.sources import make_source
from corpus.sources.base import SourceError
from corpus.sources.common import MissingKeyError

from .conftest import API_KEY, load

PATH = "/v1/search"


def _source(make_settings, fake_time, key=API_KEY):
    return make_source("pexels", make_settings("pexels", "/v1", key=key),
                       sleep=fake_time.sleep, clock=fake_time.monotonic, wall=fake_time.time)


def test_paging_locale_and_hits(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH, query_string={"query": "Fußball", "locale": "de-DE", "page": "1",
                                                          "per_page": "2"},
                                      headers={"Authorization": API_KEY}).respond_with_json(load("pexels_search_page1.json"))
    httpserver.expect_ordered_request(PATH, query_string={"query": "Fußball", "locale": "de-DE", "page": "2",
                                                          "per_page": "2"}).respond_with_json(load("pexels_search_page2.json"))
    hits, state = [], None
    with _source(make_settings, fake_time) as src:
        while True:
            page = src.search("Fußball", "de", state, per_page=2)
            hits += page.hits
            if (state := page.next_state) is None:
                break
    assert len(httpserver.log) == 2 and [h.rank for h in hits] == [1, 2, 3]
    trees = hits[0]
    assert trees.license.code == "Pexels" and LicensePolicy.parse("default").allows(trees.license)
    assert trees.file_url.startswith("https://images.pexels.com/photos/3573351/pexels-photo-3573351.png?")
    assert "dpr=2" in trees.file_url and trees.mime == "image/png"
    assert trees.author == "Lukas Rodriguez" and trees.title == "Trees during day"
    assert trees.attribution == '"Trees during day" by Lukas Rodriguez, Pexels License, via Pexels, https://www.pexels.com/photo/trees-during-day-3573351/'
    assert trees.extra["original_width"] == 3066 and "dataset" in trees.extra["terms"]
    assert hits[1].mime == "image/jpeg"


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-US"), ("pt", "pt-BR"), ("zh", "zh-CN"), ("nb", "nb-NO"),
                                              ("uk", "uk-UA"), ("bg", None), ("sl", None), ("he", None)])
def test_locales(make_settings, fake_time, lang, locale):
    with _source(make_settings, fake_time) as src:
        assert src.search_language(lang) == locale


def test_unsupported_language_raises(make_settings, fake_time):
    with _source(make_settings, fake_time) as src, pytest.raises(SourceError, match="no locale for language 'bg'"):
        src.search("топка", "bg")


def test_needs_a_key(make_settings):
    with pytest.raises(MissingKeyError, match="pexels needs an API key: set CORPUS_PEXELS_API_KEY"):
        make_source("pexels", make_settings("pexels", "/v1", key=None))


def test_429_without_headers_waits_for_remembered_reset(httpserver, make_settings, fake_time):
    reset_at = int(fake_time.time()) + 20
    httpserver.expect_ordered_request(PATH).respond_with_json(
        load("pexels_search_page1.json"), headers={"X-Ratelimit-Remaining": "3", "X-Ratelimit-Reset": str(reset_at)})
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=429))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("pexels_search_page2.json"))
    with _source(make_settings, fake_time) as src:
        src.search("nature", "en")
        assert len(src.search("nature", "en", {"page": 2}).hits) == 1
    assert len(fake_time.sleeps) == 1 and 18 <= fake_time.sleeps[0] <= 20


def test_monthly_quota_exhausted_gives_a_clear_error(httpserver, make_settings, fake_time):
    reset_at = int(fake_time.time()) + 10 * 24 * 3600
    httpserver.expect_ordered_request(PATH).respond_with_json(
        load("pexels_search_page1.json"), headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(reset_at)})
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=429))
    with _source(make_settings, fake_time) as src:
        src.search("nature", "en")
        with pytest.raises(SourceError, match=r"asks us to wait \d+ s .*try again later"):
            src.search("nature", "en", {"page": 2})


def test_5xx_then_success_and_key_not_logged(httpserver, make_settings, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=500))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("pexels_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("nature", "en").hits) == 2
    assert fake_time.sleeps == [1.0]
    assert all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")


def test_malformed_json_and_bad_key(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_data("{", content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_json({"error": "Unauthorized"}, status=401)
    with _source(make_settings, fake_time) as src:
        with pytest.raises(SourceError, match="pexels returned malformed JSON"):
            src.search("nature", "en")
        with pytest.raises(SourceError, match="HTTP 401") as err:
            src.search("nature", "en")
    assert API_KEY not in str(err.value)
