"""Helpers for source-client tests: recorded API responses served by a real local HTTP server
(pytest-httpserver), and a fake clock whose sleep() records waits instead of waiting."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from corpus.config import DEFAULT_SOURCES, Secret, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"
API_KEY = "SEKRET-test-key-0123456789"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeTime:
    """sleep() advances the clock and records the wait, so retries are instant but measurable."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_settings(httpserver, tmp_path):
    """Settings whose sources all point at the local server, politeness lifted except retries."""

    def _make(name: str, path: str = "/", *, key: str | None = API_KEY, **kw: Any) -> Settings:
        base = replace(
            DEFAULT_SOURCES[name],
            base_url=httpserver.url_for(path),
            api_key=Secret(key) if key else None,
            requests_per_second=0.0,
            max_retries=3,
            timeout_s=5.0,
            **kw,
        )
        sources = dict(DEFAULT_SOURCES)
        sources[name] = base
        return Settings(data_dir=tmp_path / "data", sources=sources)

    return _make
