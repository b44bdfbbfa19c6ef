"""Settings: precedence, per-source overrides, and API keys that never show."""

from __future__ import annotations

import logging

import pytest

from corpus.config import Secret, load_settings


def test_defaults():
    s = load_settings(env={})
    assert s.db_url == "sqlite:///corpus.db"
    assert str(s.data_dir) == "data"
    assert s.source("commons").enabled and not s.source("pexels").enabled
    assert s.source("commons").file_concurrency <= 2  # Wikimedia's robot policy


def test_toml_then_environment(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'db_url = "sqlite:///x.db"\n[sources.commons]\nbase_url = "http://127.0.0.1:9/w/api.php"\n'
        '[sources.pexels]\nenabled = true\napi_key = "from-file"\nrequests_per_second = 3\n'
    )
    s = load_settings(env={"CORPUS_PEXELS_API_KEY": "from-env", "CORPUS_DB_URL": "sqlite:///y.db"}, config_file=cfg)
    assert s.db_url == "sqlite:///y.db"
    assert s.source("commons").base_url == "http://127.0.0.1:9/w/api.php"
    pex = s.source("pexels")
    assert pex.enabled and pex.requests_per_second == 3.0 and pex.api_key.get() == "from-env"


def test_api_key_never_printed(caplog):
    s = load_settings(env={"CORPUS_FLICKR_API_KEY": "topsecretkey123"})
    key = s.source("flickr").api_key
    logging.getLogger("t").warning("settings %s %r %s", s, s.source("flickr"), key)
    text = caplog.text + repr(s) + str(s) + f"{key}"
    assert "topsecretkey123" not in text
    assert key.get() == "topsecretkey123"


def test_bad_values_are_reported_with_their_place(tmp_path):
    with pytest.raises(ValueError, match="CORPUS_COMMONS.max_concurrency"):
        load_settings(env={"CORPUS_COMMONS_MAX_CONCURRENCY": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text("db_url = ")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_settings(env={}, config_file=bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_settings(env={}, config_file=tmp_path / "missing.toml")


def test_secret_equality_and_bool():
    assert Secret("a") == Secret("a") and not Secret("")
