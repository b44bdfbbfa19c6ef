"""Wikimedia Commons client against recorded MediaWiki responses served locally."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from werkzeug import Response

from corpus.licenses import LicensePolicy
from corpus.sources import make_source
from corpus.sources.base import Source, SourceError

from .conftest import load

API = "/w/api.php"


def _source(make_settings, fake_time, **kw):
    return make_source("commons", make_settings("commons", API, key=None, **kw), sleep=fake_time.sleep,
                       clock=fake_time.monotonic, wall=fake_time.time)


def _params(entry) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(entry[0].query_string.decode()).items()}


def test_paging_and_continuation_to_exhaustion(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(API).respond_with_json(load("commons_search_fv2_page1.json"))
    httpserver.expect_ordered_request(API).respond_with_json(
        load("commons_search_fv2_page2.json"))
    src = _source(make_settings, fake_time)
    assert isinstance(src, Source)
    hits, state, pages = [], None, 0
    while True:
        page = src.search("Fußball", "de", state, per_page=2)
        pages += 1
        hits.extend(page.hits)
        state = page.next_state
        if state is None:
            break
    src.close()
    assert pages == 2 and len(hits) == 4
    assert [h.rank for h in hits] == [1, 2, 3, 4]  # ordered by `index`, not by response order

    first, second = _params(httpserver.log[0]), _params(httpserver.log[1])
    assert first["gsrsearch"] == "Fußball filetype:bitmap"
    assert (first["generator"], first["gsrnamespace"], first["formatversion"], first["maxlag"]) == ("search", "6", "2", "5")
    assert first["iiprop"] == "url|size|mime|sha1|extmetadata" and first["iiurlwidth"] == "1280"
    assert first["gsrlimit"] == "2"
    assert "gsroffset" not in first
    # the continuation object goes back unchanged
    assert (second["gsroffset"], second["continue"]) == ("2", "gsroffset||")
    assert httpserver.log[0][0].headers["User-Agent"].startswith("mic-corpus/")


def test_hit_fields_licenses_and_author_html(httpserver, make_settings, fake_time):
    httpserver.expect_request(API).respond_with_json(load("commons_search_fv2_page2.json"))
    with _source(make_settings, fake_time) as src:
        page = src.search("ball", "en")
    assert page.next_state is None and page.total == 4
    stadium, mystery = page.hits  # sorted by index (3, 4) though the response lists 4 first
    assert stadium.source == "commons" and stadium.source_image_id == "5550001"
    assert stadium.file_url.endswith("/1280px-Fu%C3%9Fball_Stadion_M%C3%BCnchen.jpg")
    assert (stadium.width, stadium.height) == (1280, 853)
    assert stadium.extra["original_width"] == 4000 and stadium.sha1 == "2f1e0c3d4b5a69788796a5b4c3d2e1f001122334"
    assert stadium.license.code == "CC-BY-SA-3.0" and stadium.license.name == "CC BY-SA 3.0 DE"
    assert stadium.license.url == "https://creativecommons.org/licenses/by-sa/3.0/de/"
    assert stadium.license_raw == "cc-by-sa-3.0-de"
    assert stadium.author == "Jörg Müller & Team"
    assert stadium.author_raw.startswith('<a href="//commons.wikimedia.org/w/index.php?title=User:M%C3%BCller&amp;action=edit')
    assert stadium.title == "Fußball Stadion München"
    assert stadium.attribution == (
        '"Fußball Stadion München" by Jörg Müller & Team, CC BY-SA 3.0 DE, via Wikimedia Commons, '
        "https://commons.wikimedia.org/wiki/File:Fu%C3%9Fball_Stadion_M%C3%BCnchen.jpg"
    )
    assert stadium.extra["restrictions"] == "personality"
    assert mystery.license.code == "unknown" and mystery.mime == "image/jpeg"  # the thumb's mime
    policy = LicensePolicy.parse("default")
    assert [policy.reason(h.license) for h in page.hits] == [None, "license:unknown"]


def test_formatversion_1_recording(httpserver, make_settings, fake_time):
    httpserver.expect_request(API).respond_with_json(load("commons_search_page1.json"))
    with _source(make_settings, fake_time) as src:
        page = src.search("tree", "en")
    tree, volcano = page.hits
    assert tree.author == "PtrQs" and tree.license.code == "CC-BY-SA-4.0"
    assert volcano.author == "The original uploader was Elvezio at Italian Wikipedia."
    assert volcano.license.code == "PDM-1.0" and not volcano.license.attribution_required
    assert page.next_state == {"gsroffset": 2, "continue": "gsroffset||"}


def test_maxlag_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(API).respond_with_json(
        load("commons_error_maxlag_fv2.json"), headers={"Retry-After": "5", "X-Database-Lag": "6"})
    httpserver.expect_ordered_request(API).respond_with_json(load("commons_search_fv2_page2.json"))
    with _source(make_settings, fake_time) as src:
        page = src.search("ball", "en")
    assert len(page.hits) == 2 and fake_time.sleeps == [5.0]


def test_ratelimited_error_then_success_without_retry_after(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(API).respond_with_json(
        {"error": {"code": "ratelimited", "info": "You've exceeded your rate limit."}})
    httpserver.expect_ordered_request(API).respond_with_json(load("commons_search_fv2_page2.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 2
    assert fake_time.sleeps == [1.0]


def test_429_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(API).respond_with_response(Response("", status=429, headers={"Retry-After": "3"}))
    httpserver.expect_ordered_request(API).respond_with_json(load("commons_search_fv2_page2.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 2
    assert fake_time.sleeps == [3.0]


def test_5xx_then_success(httpserver, make_settings, fake_time):
    httpserver.expect_ordered_request(API).respond_with_response(Response("upstream", status=502))
    httpserver.expect_ordered_request(API).respond_with_json(load("commons_search_fv2_page2.json"))
    with _source(make_settings, fake_time) as src:
        assert len(src.search("ball", "en").hits) == 2
    assert fake_time.sleeps == [1.0]


def test_other_api_error_is_a_source_error(httpserver, make_settings, fake_time):
    httpserver.expect_request(API).respond_with_json(
        {"error": {"code": "badvalue", "info": 'Unrecognized value for parameter "gsrnamespace": 99.'}})
    with _source(make_settings, fake_time) as src, pytest.raises(SourceError, match="MediaWiki error badvalue"):
        src.search("ball", "en")
    assert len(httpserver.log) == 1


def test_malformed_json(httpserver, make_settings, fake_time):
    httpserver.expect_request(API).respond_with_data("<html>Wikimedia Error</html>", content_type="text/html")
    with _source(make_settings, fake_time) as src, pytest.raises(SourceError, match="commons returned malformed JSON"):
        src.search("ball", "en")


def test_empty_result(httpserver, make_settings, fake_time):
    httpserver.expect_request(API).respond_with_json({"batchcomplete": True})
    with _source(make_settings, fake_time) as src:
        page = src.search("qwxzzy", "en")
    assert page.hits == [] and page.next_state is None


def test_any_language(make_settings, fake_time):
    with _source(make_settings, fake_time) as src:
        assert src.search_language("bg") == "" and src.search_language("en") == ""
        assert "free licenses" in src.terms
