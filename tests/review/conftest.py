from __future__ import annotations

import pytest

from tests.coco.builder import Store, build


@pytest.fixture
def store(engine, tmp_path) -> Store:
    return build(engine, tmp_path / "data")
