"""A real Uvicorn server per test module, serving whichever app the current test made.

Each test builds its own store (tests/coco/builder.py: real SQLite file, real image files) and
app; the server stays up for the module and forwards requests to that app, so tests stay
independent without paying a server start each.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.coco.builder import Store, build


class Swap:
    """An ASGI app that hands each request to ``self.app``."""

    app = None

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


class LiveServer:
    def __init__(self, app) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live():
    swap = Swap()
    server = LiveServer(swap).start()
    server.swap = swap
    yield server
    server.stop()


@pytest.fixture
def store(engine, tmp_path) -> Store:
    return build(engine, tmp_path / "data")


def serve(live, store: Store, **kw):
    """Point the live server at a new app over ``store``; returns the app."""
    from corpus.web.app import create_app

    kw.setdefault("lang", "bg")
    app = create_app(store.engine, store.data_dir, **kw)
    live.swap.app = app
    return app


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Reviewer(httpx.Client):
    """A browser-less reviewer: a cookie jar, the CSRF token of its session, JSON helpers."""

    csrf = ""

    def login(self, name: str, lang: str = "bg", token: str | None = None) -> httpx.Response:
        page = self.get("/login")
        form = {"name": name, "lang": lang, "csrf": CSRF.search(page.text).group(1), "next": "/"}
        if token is not None:
            form["token"] = token
        r = self.post("/login", data=form)
        found = CSRF.search(r.text)
        self.csrf = found.group(1) if found else ""
        return r

    def act(self, path: str, body=None, **kw) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.post(path, json=body if body is not None else {}, headers=headers, **kw)


@pytest.fixture
def client(live, store):
    """The app over the test's store, and a reviewer 'ivan' signed in with Bulgarian names."""
    serve(live, store)
    with Reviewer(base_url=live.url, follow_redirects=True, timeout=30) as c:
        assert c.login("ivan").status_code == 200
        yield c


@pytest.fixture
def anon(live, store):
    serve(live, store)
    with Reviewer(base_url=live.url, follow_redirects=False, timeout=30) as c:
        yield c
