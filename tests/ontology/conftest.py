"""Fixtures for the ontology tests: real WordNet (NLTK_DATA from tests/conftest.py) and small specs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MINI_SPEC = '''
name = "mini"
description = "Court games, for tests."
roots = ["court_game.n.01"]
exclude = ["fives.n.01", "pallone.n.01", "deck_tennis.n.01", "jai_alai.n.01"]
exclude_attributes = []

[objects]

[attributes]
"tennis_player.n.01" = ["tennis_ball.n.01"]
'''


@pytest.fixture(scope="session")
def wordnet_ready():
    from ontology.wordnet import WordNetMissing, wordnet

    try:
        return wordnet()
    except WordNetMissing as exc:
        pytest.fail(f"these tests need WordNet data (see tests/conftest.py): {exc}")


@pytest.fixture
def ontology_dir(tmp_path, repo_root) -> Path:
    """A private ontology folder (domains/, data/, overrides/) with the mini spec and a copy of
    the committed category id registry, so builds never touch the repository."""
    base = tmp_path / "onto"
    (base / "domains").mkdir(parents=True)
    (base / "data").mkdir()
    (base / "overrides").mkdir()
    (base / "domains" / "mini.toml").write_text(MINI_SPEC, encoding="utf-8")
    shutil.copyfile(repo_root / "ontology" / "data" / "category_ids.json", base / "data" / "category_ids.json")
    return base
