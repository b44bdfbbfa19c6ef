"""The store's own id: a random UUID made on first use and kept in ``store_info``.

Data folders name their writers by this id (``data_dir/.corpus/<store_id>/``), so two stores
sharing one folder never mistake each other's files for their own leftovers.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from corpus.store.models import StoreInfo

STORE_ID_KEY = "store_id"


def store_id(engine: Engine) -> str:
    """This store's id, created (once, race-free) on first call."""
    for _ in range(3):
        with Session(engine) as s:
            value = s.scalar(select(StoreInfo.value).where(StoreInfo.key == STORE_ID_KEY))
            if value:
                return value
            s.add(StoreInfo(key=STORE_ID_KEY, value=uuid.uuid4().hex))
            try:
                s.commit()
            except IntegrityError:  # another process made it first: read theirs
                s.rollback()
    raise RuntimeError("could not read or create the store id")  # pragma: no cover
