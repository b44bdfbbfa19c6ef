"""Hostile API bodies: items that are not objects, items without an id, null or wrongly typed
fields. The client keeps the good hits of the page, counts the bad ones as ``malformed`` and
never turns a missing id into the id "None" (which would merge unrelated images)."""

from __future__ import annotations

import copy

import pytest

from corpus.sources import make_source
from corpus.sources.base import SourceError

from .conftest import load

# source -> (settings path, request path, fixture, where the item list is, id field)
CASES = {
    "commons": ("/w/api.php", "/w/api.php", "commons_search_fv2_page1.json", ("query", "pages"), "pageid"),
    "openverse": ("/v1", "/v1/images/", "openverse_images_page1.json", ("results",), "id"),
    "pexels": ("/v1", "/v1/search", "pexels_search_page1.json", ("photos",), "id"),
    "pixabay": ("/api/", "/api/", "pixabay_search_page1.json", ("hits",), "id"),
    "flickr": ("/services/rest", "/services/rest/", "flickr_search_page1.json", ("photos", "photo"), "id"),
}
STRING_FIELDS = ("title", "creator", "photographer", "user", "ownername", "alt", "foreign_landing_url", "url",
                 "pageURL", "descriptionurl")


def _source(name, make_settings, fake_time):
    return make_source(name, make_settings(name, CASES[name][0]), sleep=fake_time.sleep,
                       clock=fake_time.monotonic, wall=fake_time.time)


def _items(body, where):
    for k in where:
        body = body[k]
    return body


@pytest.mark.parametrize("name", list(CASES))
def test_bad_items_are_dropped_and_counted(name, httpserver, make_settings, fake_time):
    _, path, fixture, where, id_field = CASES[name]
    body = load(fixture)
    items = _items(body, where)
    good = len(items)
    no_id = copy.deepcopy(items[0])
    del no_id[id_field]
    if name == "commons":
        no_id.pop("title", None)
    items += [None, ["not", "an", "object"], "text", no_id]
    httpserver.expect_request(path).respond_with_json(body)
    lang = "en"
    with _source(name, make_settings, fake_time) as src:
        page = src.search("tree", lang)
    assert len(page.hits) == good - (1 if name == "pixabay" else 0)  # the fixture's noAiTraining hit
    assert "None" not in {h.source_image_id for h in page.hits}
    assert page.dropped.get("malformed") == 4


@pytest.mark.parametrize("name", list(CASES))
def test_wrongly_typed_fields_do_not_lose_the_page(name, httpserver, make_settings, fake_time):
    _, path, fixture, where, _ = CASES[name]
    body = load(fixture)
    items = _items(body, where)
    odd = copy.deepcopy(items[0])
    for f in STRING_FIELDS:
        if f in odd:
            odd[f] = {"unexpected": 1} if f not in ("url", "descriptionurl") else 12345
    odd["license"] = None
    items[0] = odd
    httpserver.expect_request(path).respond_with_json(body)
    with _source(name, make_settings, fake_time) as src:
        page = src.search("tree", "en")
    # Either read (a field dropped, never a crash) or dropped as malformed; never an exception.
    assert len(page.hits) + page.dropped.get("malformed", 0) >= len(items) - 1 - (1 if name == "pixabay" else 0)
    for h in page.hits:
        assert isinstance(h.title, str) and isinstance(h.author, str) and isinstance(h.file_url, str)


@pytest.mark.parametrize("name", list(CASES))
def test_a_list_body_is_a_clear_source_error(name, httpserver, make_settings, fake_time):
    path = CASES[name][1]
    httpserver.expect_request(path).respond_with_json([{"id": 1}])
    with _source(name, make_settings, fake_time) as src, pytest.raises(SourceError, match=name):
        src.search("tree", "en")


def test_commons_query_of_the_wrong_shape_is_a_clear_source_error(httpserver, make_settings, fake_time):
    httpserver.expect_request("/w/api.php").respond_with_json({"batchcomplete": True, "query": ["pages"]})
    with _source("commons", make_settings, fake_time) as src, pytest.raises(SourceError, match="commons"):
        src.search("tree", "en")
