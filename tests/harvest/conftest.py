from __future__ import annotations

import pytest

from tests.harvest.support import FakeApi, seed_domain, settings_for


@pytest.fixture
def seeded(engine):
    """The store with a 'sport' domain of one class (tennis_player.n.01, en + bg lemmas)."""
    return seed_domain(engine)


@pytest.fixture
def hsettings(tmp_path, db_url):
    return settings_for(tmp_path / "data", db_url)


@pytest.fixture
def api():
    return FakeApi()


@pytest.fixture
def slow_server():
    """A threaded local HTTP server, for downloads held up on purpose (killed runs, deadlines)."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
