"""``harvest_runs`` rows: who runs a harvest, which runs were killed, and how each ended.

A killed run cannot mark itself, so the next harvest on the store does (:func:`claim_store`): a
``running`` run whose process is gone (same host), or whose heartbeat stopped (any host, for a
PostgreSQL store shared by several machines), is marked ``interrupted``; a live one stops the new
harvest with :class:`~corpus.harvest.lock.HarvestLocked`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.harvest.lock import HarvestLocked
from corpus.harvest.options import HarvestOptions
from corpus.harvest.report import HarvestReport
from corpus.harvest.sanitize import jsonable
from corpus.sources.base import Source
from corpus.store.models import HarvestRun, utcnow

__all__ = ["claim_store", "start_run", "finish_run", "run_params"]


def claim_store(session: Session, options: HarvestOptions, team: bool = False) -> list[int]:
    """Make sure no other harvest is running on this store; mark runs that were killed.

    A ``running`` run is alive when its process still exists (same host) and its heartbeat is
    recent (any host). Killed runs (SIGKILL, power loss) are marked ``interrupted``: their ids are
    returned. A live one raises :class:`~corpus.harvest.lock.HarvestLocked`, unless ``team``:
    then harvests share the store by claiming classes (:mod:`corpus.harvest.team`), and each data
    folder's clean-up stays safe as before (a local folder takes one harvest at a time under its
    lock; a bucket is never cleaned)."""
    host = socket.gethostname()[:255]
    now = utcnow()
    stale, alive = [], []
    for run in session.scalars(select(HarvestRun).where(HarvestRun.status == "running").order_by(HarvestRun.id)):
        why = _why_stale(run, host, now, options.stale_after_s)
        if why is None:
            alive.append(run)
            continue
        run.status = "interrupted"
        run.finished_at = now
        run.summary = {**(run.summary or {}), "error": f"found killed by a later harvest: {why}"}
        stale.append(run.id)
    session.commit()
    if alive and not team:
        run = alive[0]
        raise HarvestLocked(
            f"another harvest is running on this store: run {run.id} (process {run.pid} on {run.host}, started "
            f"{_aware(run.started_at):%Y-%m-%d %H:%M} UTC); wait for it or stop it")
    return stale


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def _why_stale(run: HarvestRun, host: str, now: dt.datetime, stale_after_s: float) -> str | None:
    """Why a ``running`` run cannot still be running, or None when it may be."""
    if run.pid is not None and run.host == host:
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return f"process {run.pid} on {host} is gone"
        except PermissionError:
            pass  # alive, another user's
    beat = _aware(run.heartbeat_at) or _aware(run.started_at)
    if run.pid is None or beat is None:
        return "started by an older version, no heartbeat"
    silent = (now - beat).total_seconds()
    if silent > stale_after_s:
        return f"no heartbeat for {silent:.0f} s"
    return None


def start_run(session: Session, domain_id: int | None, options: HarvestOptions, sources: Mapping[str, Source],
              *, team: bool = False) -> HarvestRun:
    """The ``running`` row of a new run, committed, saying which process runs it.

    In team mode several harvests share the store by design (each holds its own class leases,
    corpus.harvest.team), so a run that is already going is a teammate, not a reason to give way."""
    run = HarvestRun(domain_id=domain_id, status="running", params=run_params(options, sources),
                     host=socket.gethostname()[:255], pid=os.getpid(), heartbeat_at=utcnow())
    session.add(run)
    session.commit()
    if team:
        return run
    # Two harvests that started at the same moment both passed claim_store: the later row gives way.
    now = utcnow()
    for other in session.scalars(select(HarvestRun).where(HarvestRun.status == "running", HarvestRun.id < run.id)):
        if _why_stale(other, run.host, now, options.stale_after_s) is None:
            run.status = "interrupted"
            run.finished_at = now
            run.summary = {"error": f"gave way to run {other.id}, which started at the same time"}
            session.commit()
            raise HarvestLocked(
                f"another harvest is running on this store: run {other.id} (process {other.pid} on {other.host}, "
                f"started {_aware(other.started_at):%Y-%m-%d %H:%M} UTC); wait for it or stop it")
    return run


def finish_run(engine: Engine, run_id: int, report: HarvestReport) -> None:
    """Record how the run ended: status, end time and the summary shown to the user."""
    with Session(engine) as s:
        run = s.get(HarvestRun, run_id)
        if run is not None:
            run.status = report.status
            run.finished_at = utcnow()
            run.summary = report.as_dict()
            s.commit()


def run_params(options: HarvestOptions, sources: Mapping[str, Source]) -> dict[str, Any]:
    from dataclasses import asdict

    p = jsonable(asdict(options))
    p["sources"] = list(sources)
    return p
