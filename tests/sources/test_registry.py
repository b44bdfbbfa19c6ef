"""The source registry: names, defaults, keys, terms."""

from __future__ import annotations

import pytest

from corpus.config import load_settings
from corpus.sources import DEFAULT_ON, KEY_REQUIRED, SOURCES, TERMS, make_source
from corpus.sources.base import Source, SourceError
from corpus.sources.common import MissingKeyError


def test_names_defaults_and_terms():
    assert SOURCES == ("commons", "openverse", "pexels", "pixabay", "flickr")
    assert DEFAULT_ON == ("commons", "openverse")
    assert KEY_REQUIRED == {"pexels", "pixabay", "flickr"}
    assert all(TERMS[name] for name in SOURCES)
    assert "explicit permission" in TERMS["pexels"] and "noAiTraining" in TERMS["pixabay"]
    settings = load_settings(env={})
    assert {n for n in SOURCES if settings.source(n).enabled} == set(DEFAULT_ON)


@pytest.mark.parametrize("name", ["pexels", "pixabay", "flickr"])
def test_key_required(name):
    settings = load_settings(env={})
    with pytest.raises(MissingKeyError, match=f"{name} needs an API key: set CORPUS_{name.upper()}_API_KEY"):
        make_source(name, settings)


def test_builds_every_source_from_env(tmp_path):
    env = {f"CORPUS_{n.upper()}_API_KEY": "k-123456789" for n in KEY_REQUIRED}
    env["CORPUS_DATA_DIR"] = str(tmp_path)
    settings = load_settings(env=env)
    for name in SOURCES:
        src = make_source(name, settings)
        try:
            assert isinstance(src, Source) and src.name == name
            assert "k-123456789" not in repr(src)
        finally:
            src.close()
    pixabay = make_source("pixabay", settings)
    assert pixabay.http.cache is not None and pixabay.http.cache.dir == tmp_path / "cache" / "http" / "pixabay"
    pixabay.close()


def test_unknown_source():
    with pytest.raises(SourceError, match="unknown image source 'bing'"):
        make_source("bing", load_settings(env={}))
