"""Engine, SQLite pragmas, sessions and migrations.

SQLite gets WAL (readers never block the single writer), foreign keys on (off by default in
SQLite), and a busy timeout so a second process waits for the lock instead of failing at once.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from corpus.errors import StoreError, one_line

REPO_ROOT = Path(__file__).resolve().parents[2]


def _alembic_dir() -> Path:
    # Installed from a wheel the migrations sit inside this package (corpus/store/alembic); in a
    # checkout (editable install) they are the top-level alembic/ folder.
    for cand in (Path(__file__).resolve().parent / "alembic", REPO_ROOT / "alembic"):
        if (cand / "env.py").is_file() and (cand / "versions").is_dir():
            return cand
    raise FileNotFoundError("alembic migrations folder not found next to the corpus package")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


EXAMPLE_URLS = "sqlite:///corpus.db or postgresql://user@host/corpus"


class StoreUnavailable(StoreError):
    """The store cannot be reached: a malformed URL, an unknown database kind, a server that is
    down or refuses us, a SQLite file that cannot be opened."""


def parse_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy URL, or :class:`StoreUnavailable` saying what a good one looks like."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except ArgumentError:
        raise StoreUnavailable(f"not a database URL: {url!r} (expected e.g. {EXAMPLE_URLS})") from None


def make_engine(url: str | URL, **kw) -> Engine:
    """Create an engine for ``url`` with the settings our store relies on (connects lazily)."""
    u = parse_url(url)
    try:
        backend = u.get_backend_name()
        if backend == "sqlite":
            if u.database and u.database != ":memory:":
                folder = Path(u.database).expanduser().parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"cannot open database {safe_url(u)}: folder {folder} cannot be created "
                                           f"({exc.strerror or exc})") from None
            kw.setdefault("connect_args", {"timeout": 30})
            engine = create_engine(u, **kw)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if backend == "postgresql" and u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        kw.setdefault("pool_pre_ping", True)
        return create_engine(u, **kw)
    except NoSuchModuleError:
        raise StoreUnavailable(f"unknown database kind {u.drivername!r} in {safe_url(u)} "
                               f"(expected e.g. {EXAMPLE_URLS})") from None
    except ImportError as exc:  # a known dialect whose driver is not installed
        raise StoreUnavailable(f"the driver for {safe_url(u)} is not installed ({exc}); for PostgreSQL: "
                               "pip install 'mic-corpus[postgres]'") from None


def unavailable(exc: BaseException, url: str | URL) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` that ``exc`` means, when it is a failure to reach the store
    (rather than a bug or a constraint violation); None otherwise."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if not isinstance(exc, DBAPIError):
        return None
    u = parse_url(url)
    reason = one_line(exc.orig if exc.orig is not None else exc)
    if u.get_backend_name() == "sqlite":
        if "unable to open database file" in reason or "not a database" in reason or "disk I/O" in reason:
            return StoreUnavailable(f"cannot open database {safe_url(u)}: {reason}")
        return None
    # psycopg raises OperationalError for everything that happens before a session exists:
    # refused or timed-out connections, unknown hosts, authentication, a missing database.
    if exc.connection_invalidated or type(exc.orig).__name__ == "OperationalError":
        reason = reason.removeprefix("connection failed: ")
        return StoreUnavailable(f"cannot connect to database {safe_url(u)}: {reason}")
    return None


def connect(engine: Engine) -> Connection:
    """``engine.connect()``, with a failure to reach the store as :class:`StoreUnavailable`."""
    try:
        return engine.connect()
    except DBAPIError as exc:
        err = unavailable(exc, engine.url)
        if err is None:
            raise
        raise err from None


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_alembic_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


class StoreNotReady(StoreError):
    """The store's schema is not the one this version needs (and upgrading was not allowed)."""


def ensure_ready(url: str, auto_upgrade: bool = True) -> Engine:
    """Return an engine for a store at the latest schema, creating/upgrading it if allowed."""
    cur, head = current_revision(url), head_revision(url)
    if cur != head:
        if not auto_upgrade:
            raise StoreNotReady(f"database {safe_url(url)} is at revision {cur or 'none'}, expected {head}: run `corpus db upgrade`")
        upgrade(url)
    return make_engine(url)


def safe_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except StoreUnavailable:
        return repr(url)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error (Ctrl-C included)."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def run_with_retry(engine: Engine, fn, attempts: int = 20):
    """Run ``fn(session)`` in its own transaction, retrying when a concurrent writer won.

    Annotations carry a version counter: an UPDATE that finds a newer version than it read fails
    with StaleDataError instead of overwriting. Re-reading and re-applying the change is then the
    correct response, so no update is ever lost.
    """
    import random
    import time

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    for attempt in range(attempts):
        try:
            with session_scope(engine) as session:
                return fn(session)
        except (StaleDataError, OperationalError) as exc:
            # OperationalError covers PostgreSQL serialization failures and SQLite "locked".
            if isinstance(exc, OperationalError) and "lock" not in str(exc).lower() and "serializ" not in str(exc).lower():
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
