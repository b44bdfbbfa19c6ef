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


# -- unknown keys are errors that name the nearest valid ones (issue 11, item 9) ----------------

from corpus.errors import ConfigError  # noqa: E402


@pytest.mark.parametrize("toml, needles", [
    ('[sources.commons]\nenabeld = false\n', ["[sources.commons]", "'enabeld'", "did you mean 'enabled'"]),
    ('db_ulr = "sqlite:///x.db"\n', ["'db_ulr'", "did you mean 'db_url'"]),
    ('[sources.comons]\nenabled = false\n', ["[sources.comons]", "unknown image source 'comons'", "did you mean 'commons'"]),
    ('[source.commons]\nenabled = false\n', ["'source'", "did you mean 'sources'"]),
    ('[sources.pexels]\nrequests_per_secnd = 1\n', ["'requests_per_secnd'", "did you mean 'requests_per_second'"]),
    ('[sources.pexels]\ncolour = "red"\n', ["'colour'", "known keys: api_key, base_url"]),
    ('sources = 3\n', ["'sources' must be a table"]),
])
def test_unknown_toml_keys_name_the_nearest(tmp_path, toml, needles):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings(env={}, config_file=cfg)
    msg = str(exc.value)
    assert str(cfg) in msg and "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_unknown_environment_field_names_the_variable():
    with pytest.raises(ConfigError, match="CORPUS_COMMONS_ENABELD.*did you mean CORPUS_COMMONS_ENABLED"):
        load_settings(env={"CORPUS_COMMONS_ENABELD": "0"})
    # Variables of other programs that merely share the prefix of no source are left alone.
    assert load_settings(env={"CORPUS_REVIEWER": "ann", "CORPUS_SHARED_DIR": "/x"}).db_url == "sqlite:///corpus.db"


def test_misspelled_key_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    cfg = tmp_path / "corpus.toml"
    cfg.write_text("[sources.commons]\nenabeld = false\n")
    r = CliRunner().invoke(app, ["--config", str(cfg), "--db", f"sqlite:///{tmp_path}/c.db", "status"],
                           env={"COLUMNS": "300"})
    assert r.exit_code == 1 and "Traceback" not in r.output
    line = " ".join(r.output.split())
    assert line.startswith("error: ") and "did you mean 'enabled'" in line, r.output


def test_unknown_languages_name_the_nearest():
    from ontology.languages import UnknownLanguage, check_languages

    assert check_languages(["BG", " en "]) == ("bg", "en")
    with pytest.raises(UnknownLanguage, match=r"unknown language 'bgr'.*did you mean bg \(Bulgarian\)"):
        check_languages(["en", "bgr"])
    with pytest.raises(UnknownLanguage, match=r"'german'.*did you mean de \(German\)"):
        check_languages(["german"])
    with pytest.raises(UnknownLanguage, match=r"unknown language 'xx'.*known: en bg sq eu"):
        check_languages(["xx"])


@pytest.mark.parametrize("args", [["harvest", "--domain", "sport", "--languages", "xx", "--dry-run"],
                                  ["harvest", "--domain", "sport", "--languages", "en,bgr", "--dry-run"],
                                  ["ontology", "show", "--domain", "sport", "--lang", "xx"],
                                  ["ontology", "export", "--domain", "sport", "--lang", "xx"]])
def test_unknown_language_through_the_cli(tmp_path, args):
    from typer.testing import CliRunner

    from cli import app

    r = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path}/c.db", "--data-dir", str(tmp_path / "d"), *args],
                           env={"COLUMNS": "300"})
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert text.startswith("error: unknown language"), r.output
    assert ("did you mean bg (Bulgarian)" in text) if "bgr" in args[-2] + args[-1] else ("known: en bg" in text)
