"""Flickr client against recorded responses served locally."""

from __future__ import annotations

import logging

import pytest
from werkzeug import Response

from corpus.licenses import LicensePolicy
from corpus.sources import make_source
from corpus.sources.base import SourceError
from corpus.sources.flickr import license_ids_for

from .conftest import API_KEY, load

PATH = "/services/rest/"


def _source(make_settings, fake_time, policy=None):
    return make_source("flickr", make_settings("flickr", "/services/rest"), policy=policy,
                       sleep=fake_time.sleep, clock=fake_time.monotonic, wall=fake_time.time)


def test_paging_typing_quirks_and_licenses(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_json(load("flickr_search_page1.json"))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("flickr_search_page2.json"))
    hits, totals, state = [], [], None
    with _source(make_settings, fake_time, LicensePolicy.parse("default")) as src:
        while True:
            page = src.search("футбол", "bg", state, per_page=2)
            hits += page.hits
            totals.append(page.total)
            if (state := page.next_state) is None:
                break
    assert totals == [30, 4]  # "30" (string) on page 1, 4 (int) on page 2
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    args = [entry[0].args for entry in httpserver.log]
    assert [a["page"] for a in args] == ["1", "2"]
    a = args[0]
    assert (a["method"], a["text"], a["format"], a["nojsoncallback"]) == ("flickr.photos.search", "футбол", "json", "1")
    assert a["license"] == "4,5,9,10,11,12" and a["api_key"] == API_KEY
    assert {"license", "owner_name", "url_l", "url_c", "url_o"} <= set(a["extras"].split(","))
    reef, bled, match, orig = hits
    assert (reef.license.code, reef.width, reef.height) == ("CC-BY-2.0", 1024, 683)
    assert reef.file_url.endswith("_b.jpg") and reef.mime == "image/jpeg"
    assert reef.landing_url == "https://www.flickr.com/photos/71925535@N03/49514824541/"
    assert reef.author == "Marine Explorer" and reef.extra["original_width"] == 6000
    assert reef.extra["tags"][:2] == ["scuba", "nature"]
    assert bled.license.code == "CC0-1.0" and bled.license_raw == "9"
    assert match.license.code == "CC-BY-SA-4.0"  # license sent as an int
    assert orig.file_url.endswith("_o.jpg") and (orig.width, orig.height) == (3464, 2309)
    assert reef.attribution.startswith('"Surveying Ruperts Reef @reeflifesurvey #lapofaus #marineexplorer" by Marine Explorer, CC BY 2.0, via Flickr, ')


def test_license_filter_follows_policy():
    assert license_ids_for(LicensePolicy.parse("research")) == (1, 2, 4, 5, 9, 10, 11, 12, 14, 15)
    assert license_ids_for(LicensePolicy.parse("default,verify")) == (4, 5, 7, 8, 9, 10, 11, 12)
    assert license_ids_for(None) == (4, 5, 9, 10, 11, 12)


def test_any_language(make_settings, fake_time):
    with _source(make_settings, fake_time) as src:
        assert src.search_language("bg") == "" and src.search_language("en") == ""


def test_stat_fail_is_a_source_error_without_the_key(httpserver, make_settings, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(PATH).respond_with_json(load("flickr_error_100.json"))
    with _source(make_settings, fake_time) as src, pytest.raises(SourceError) as err:
        src.search("ball", "en")
    msg = str(err.value)
    assert "flickr error 100: Invalid API Key (Key has invalid format)" in msg
    assert "api_key=***" in msg and API_KEY not in msg
    assert len(httpserver.log) == 1 and fake_time.sleeps == []
    assert all(API_KEY not in r.getMessage() for r in caplog.records if r.name != "werkzeug")


def test_transient_stat_fail_retried(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_json(load("flickr_error_105.json"))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("flickr_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 2
    assert fake_time.sleeps == [1.0]


def test_429_and_5xx_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=429, headers={"Retry-After": "9"}))
    httpserver.expect_ordered_request(PATH).respond_with_response(Response("", status=500))
    httpserver.expect_ordered_request(PATH).respond_with_json(load("flickr_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 2
    assert fake_time.sleeps == [9.0, 2.0]


def test_malformed_json(httpserver, make_settings, fake_time):
    httpserver.expect_request(PATH).respond_with_data('jsonFlickrApi({"stat":"ok"})', content_type="application/json")
    with _source(make_settings, fake_time) as src, pytest.raises(SourceError, match="flickr returned malformed JSON"):
        src.search("ball", "en")


def test_stops_at_4000_results(httpserver, make_settings, fake_time):
    body = load("flickr_search_page1.json")
    body["photos"].update(page=8, pages=40, perpage=500)
    httpserver.expect_request(PATH).respond_with_json(body)
    with _source(make_settings, fake_time) as src:
        assert src.search("ball", "en", {"page": 7}, per_page=500).next_state == {"page": 8}
        assert src.search("ball", "en", {"page": 8}, per_page=500).next_state is None
