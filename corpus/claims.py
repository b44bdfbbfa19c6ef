"""Leases on work, so that a team's harvests and annotation workers share one store.

A process claims a unit of work (``kind`` + ``key``: a class to harvest, an image to annotate)
by writing a ``work_claims`` row with its holder id and an expiry, in one statement that only
succeeds where nobody else holds a live lease::

    INSERT ... ON CONFLICT (kind, key) DO UPDATE SET holder = me, expires_at = ...
        WHERE work_claims.expires_at < now OR work_claims.holder = me
    RETURNING key

PostgreSQL (and SQLite) run that atomically per row, so two processes never both get a key.
The holder releases its keys when the work is stored; a process that is killed releases
nothing, and its leases simply expire (``ttl_s``), after which others claim that work again.
Because every stage is resumable from the store (a harvest query's ``page_state``, an image's
``annotated_images`` row) and its rows are unique, a reclaimed unit continues where the killed
holder stopped and never adds a row twice: leases only keep people from doing work twice.

Clocks: expiry times are written by the holders, so machines' clocks should agree to within a
small part of ``ttl_s`` (NTP does this).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from typing import Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from corpus.store.db import session_scope
from corpus.store.models import WorkClaim, utcnow

__all__ = ["Claims", "holder_id", "team_mode", "DEFAULT_TTL_S"]

DEFAULT_TTL_S = 120.0


def holder_id() -> str:
    """Who holds a lease: host, process and a random part (a pid can be reused)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def team_mode(engine: Engine, setting: bool | None = None) -> bool:
    """Whether to claim work: asked explicitly, else on for PostgreSQL (the team store)."""
    if setting is not None:
        return setting
    return engine.dialect.name == "postgresql"


def _insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the store supports these two
        raise NotImplementedError(f"work claims need PostgreSQL or SQLite, not {engine.dialect.name}")
    return insert


class Claims:
    """The leases one process holds on one kind of work."""

    def __init__(self, engine: Engine, kind: str, ttl_s: float = DEFAULT_TTL_S, holder: str | None = None) -> None:
        self.engine = engine
        self.kind = kind
        self.ttl_s = float(ttl_s)
        self.holder = holder or holder_id()
        self.held: set[str] = set()
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()

    def claim(self, keys: Iterable[str]) -> list[str]:
        """Claim every key nobody else holds a live lease on; returns those now held, in order."""
        keys = list(dict.fromkeys(str(k) for k in keys))
        if not keys:
            return []
        now = utcnow()
        until = now + dt.timedelta(seconds=self.ttl_s)
        insert = _insert(self.engine)
        # Rows in one global order: two claims over the same keys then wait for each other
        # instead of deadlocking.
        stmt = insert(WorkClaim).values([
            {"kind": self.kind, "key": k, "holder": self.holder, "claimed_at": now, "expires_at": until}
            for k in sorted(keys)
        ])
        stmt = stmt.on_conflict_do_update(
            index_elements=[WorkClaim.kind, WorkClaim.key],
            set_={"holder": self.holder, "claimed_at": now, "expires_at": until},
            where=(WorkClaim.expires_at < now) | (WorkClaim.holder == self.holder),
        ).returning(WorkClaim.key)
        with session_scope(self.engine) as s:
            got = set(s.scalars(stmt))
        with self._lock:
            self.held |= got
        return [k for k in keys if k in got]

    def renew(self) -> int:
        """Push the expiry of every lease this process holds; returns how many it still has."""
        with self._lock:
            keys = list(self.held)
        if not keys:
            return 0
        until = utcnow() + dt.timedelta(seconds=self.ttl_s)
        with session_scope(self.engine) as s:
            n = s.execute(update(WorkClaim).where(WorkClaim.kind == self.kind, WorkClaim.holder == self.holder,
                                                  WorkClaim.key.in_(keys)).values(expires_at=until)).rowcount
        return n

    def release(self, keys: Iterable[str] | None = None) -> None:
        """Give back these keys (default: all this process holds)."""
        with self._lock:
            keys = list(self.held) if keys is None else [str(k) for k in keys]
            self.held.difference_update(keys)
        if not keys:
            return
        with session_scope(self.engine) as s:
            s.execute(delete(WorkClaim).where(WorkClaim.kind == self.kind, WorkClaim.holder == self.holder,
                                              WorkClaim.key.in_(keys)))

    def holders(self, keys: Sequence[str]) -> dict[str, tuple[str, dt.datetime]]:
        """Live leases of others on these keys: key -> (holder, expires_at)."""
        now = utcnow()
        with session_scope(self.engine) as s:
            rows = s.execute(select(WorkClaim.key, WorkClaim.holder, WorkClaim.expires_at).where(
                WorkClaim.kind == self.kind, WorkClaim.key.in_([str(k) for k in keys]),
                WorkClaim.holder != self.holder)).all()
        out = {}
        for key, holder, expires in rows:
            if expires.tzinfo is None:  # SQLite hands back naive datetimes (stored as UTC)
                expires = expires.replace(tzinfo=dt.timezone.utc)
            if expires >= now:
                out[key] = (holder, expires)
        return out

    def start_heartbeat(self) -> None:
        """Renew the leases every third of the TTL from a thread, until :meth:`close`."""
        if self._beat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(self.ttl_s / 3):
                try:
                    self.renew()
                except Exception:  # a short database outage: the next beat tries again
                    pass

        self._beat = threading.Thread(target=beat, name=f"claims-{self.kind}", daemon=True)
        self._beat.start()

    def close(self) -> None:
        """Stop the heartbeat and release every lease still held."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(5)
            self._beat = None
        self.release()

    def __enter__(self) -> "Claims":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
