"""Pixabay client against recorded responses served locally."""

from __future__ import annotations

import json
import logging

import pytest
from werkzeug import Request, Response

from corpus.licenses import LicensePolicy
from corpus.sources import make_source
from corpus.sources.base import SourceError

from .conftest import API_KEY, load

PATH = "/api/"


def _source(make_settings, fake_time, **kw):
    return make_source("pixabay", make_settings("pixabay", PATH, **kw),
                       sleep=fake_time.sleep, clock=fake_time.monotonic, wall=fake_time.time)


def _pages_handler(seen: list[dict]):
    def handler(request: Request) -> Response:
        seen.append(dict(request.args))
        body = load("pixabay_search_page1.json")
        for hit in body["hits"]:
            hit["id"] = hit["id"] * 10 + int(request.args["page"])
        return Response(json.dumps(body), content_type="application/json")
    return handler


def test_pages_stop_at_the_500_cap_and_no_ai_training_dropped(httpserver, make_settings, fake_time):
    seen: list[dict] = []
    httpserver.expect_request(PATH).respond_with_handler(_pages_handler(seen))
    pages = []
    state = None
    with _source(make_settings, fake_time) as src:
        while True:
            page = src.search("ball", "de", state, per_page=500)
            pages.append(page)
            if (state := page.next_state) is None:
                break
    assert len(pages) == 3  # totalHits 500 at per_page 200
    assert [s["page"] for s in seen] == ["1", "2", "3"]
    assert {s["per_page"] for s in seen} == {"200"} and {s["lang"] for s in seen} == {"de"}
    assert seen[0]["key"] == API_KEY and seen[0]["q"] == "ball" and seen[0]["image_type"] == "photo"
    for page in pages:
        assert page.dropped == {"noAiTraining": 1} and len(page.hits) == 1 and page.total == 500
    rose = pages[0].hits[0]
    assert rose.license.code == "Pixabay" and LicensePolicy.parse("default").allows(rose.license)
    assert rose.file_url.endswith("_1280.jpg") and (rose.width, rose.height) == (1280, 855)
    assert rose.author == "Nowaja" and rose.title == "yellow rose, rose, flower"
    assert rose.extra["noAiTraining"] is False and "noAiTraining" in rose.extra["terms"]
    assert rose.attribution.endswith("Pixabay Content License, via Pixabay, https://pixabay.com/photos/yellow-rose-rose-flower-cereal-6162613/")
    assert all(not h.extra["noAiTraining"] for p in pages for h in p.hits)


def test_per_page_minimum_and_languages(httpserver, make_settings, fake_time):
    httpserver.expect_request(PATH).respond_with_json(load("pixabay_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        src.search("x" * 150, "en", per_page=1)
        assert (src.search_language("nb"), src.search_language("no"), src.search_language("zh")) == ("no", "no", "zh")
        assert src.search_language("ca") is None and src.search_language("uk") is None
        with pytest.raises(SourceError, match="no lang code for language 'ca'"):
            src.search("pilota", "ca")
    args = httpserver.log[0][0].args
    assert args["per_page"] == "3" and len(args["q"]) == 100


def test_responses_cached_24h_by_default_without_the_key(httpserver, make_settings, fake_time, tmp_path):
    httpserver.expect_request(PATH).respond_with_json(load("pixabay_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        first = src.search("ball", "en")
        second = src.search("ball", "en")
        assert first == second and len(httpserver.log) == 1
        fake_time.now += 24 * 3600 + 5
        src.search("ball", "en")
        assert len(httpserver.log) == 2
    cache_files = list((tmp_path / "data" / "cache" / "http" / "pixabay").rglob("*.json"))
    assert len(cache_files) == 1
    assert API_KEY not in cache_files[0].read_text() and "key=***" in cache_files[0].read_text()


def test_429_rate_limit_reset_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_response(
        Response("API rate limit exceeded", status=429, headers={"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                                                                "X-RateLimit-Reset": "33"}))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("pixabay_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 1
    assert fake_time.sleeps == [33.0]


def test_5xx_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=503))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("pixabay_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 1
    assert fake_time.sleeps == [1.0]


def test_errors_never_show_the_key(httpserver, make_settings, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_ordered_request(PATH).respond_with_data("[ERROR 400] Invalid or missing API key", status=400)
    httpserver.expect_ordered_request(PATH).respond_with_data("<html>", content_type="application/json")
    with _source(make_settings, fake_time) as src:
        with pytest.raises(SourceError) as bad_key:
            src.search("ball", "en")
        with pytest.raises(SourceError, match="pixabay returned malformed JSON") as bad_json:
            src.search("goal", "en")
    for err in (bad_key, bad_json):
        assert API_KEY not in str(err.value) and "key=***" in str(err.value)
    assert "Invalid or missing API key" in str(bad_key.value)
    assert all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")
