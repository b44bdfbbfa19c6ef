"""The SQL review store (SQLAlchemy 2 models, Alembic migrations)."""

from corpus.store.db import make_engine, session_scope, upgrade
from corpus.store import models

__all__ = ["make_engine", "session_scope", "upgrade", "models"]
