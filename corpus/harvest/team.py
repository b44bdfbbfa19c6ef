"""Several harvests on one store (a team on PostgreSQL): classes claimed, and taken over.

Each harvest claims the classes it was asked for in ``work_claims`` (:mod:`corpus.claims`,
kind ``harvest``, key the class id) and harvests those it got; the others are left to the live
harvests that hold them. Once its own are done it waits for those, and takes over any whose
holder stopped without finishing (killed: its lease expired, renewed until then by a heartbeat):
it continues from the queries' ``page_state`` as any rerun does. So a team-mode harvest ends when
every class it was asked for has been harvested by someone.

Two harvests of different classes may still find the same image (another class, another source).
The store's unique rows decide: the batch that loses is rolled back (``IntegrityError``) and the
harvest runs again from the store, where the image now is, and links to it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from corpus.claims import Claims, team_mode
from corpus.harvest.options import HarvestOptions, ProgressSink
from corpus.harvest.report import HarvestReport
from corpus.store.models import Domain, OntologyClass
from ontology.model import OntologyClassData

KIND = "harvest"
MAX_CONFLICTS = 5  # reruns after lost races for an image, before the error is the user's


def claim_classes(engine: Engine, report: HarvestReport, picked: Sequence[OntologyClassData],
                  options: HarvestOptions) -> tuple[list[OntologyClassData], Claims | None]:
    """Team mode: the classes no other live harvest holds, now claimed (the caller closes the
    claims); the others leave ``report`` (planned queries and classes) for ``claimed_elsewhere``."""
    if not team_mode(engine, options.team):
        return list(picked), None
    claims = Claims(engine, KIND, ttl_s=options.claim_ttl_s)
    got = set(claims.claim(str(c.class_id) for c in picked))
    claims.start_heartbeat()
    for c in picked:
        if str(c.class_id) not in got:
            report.classes.pop(c.synset, None)
            report.claimed_elsewhere.append(c.synset)
    report.planned = [q for q in report.planned if str(q.class_id) in got]
    return [c for c in picked if str(c.class_id) in got], claims


def in_rounds(engine: Engine, options: HarvestOptions, progress: ProgressSink | None, stop: threading.Event,
              once: Callable[[HarvestOptions], HarvestReport]) -> HarvestReport:
    """Run ``once`` until every class asked for is done by someone (see the module docstring).

    Each round sets ``stop`` to end its threads; a user's stop shows as status "interrupted"."""
    report: HarvestReport | None = None
    wanted = options
    conflicts = 0
    while True:
        try:
            this = once(wanted)
        except IntegrityError:
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise
            stop.clear()
            if progress is not None:
                progress.note("another harvest stored some of the same images first: continuing from the store")
            continue
        report = this if report is None else merge(report, this)
        if this.status != "done" or not this.claimed_elsewhere or options.dry_run:
            report.claimed_elsewhere = list(this.claimed_elsewhere)
            return report
        stop.clear()
        waiting = tuple(this.claimed_elsewhere)
        if progress is not None:
            progress.note(f"{len(waiting)} class(es) held by other harvests: waiting to finish what they leave")
        if not wait_for_classes(engine, waiting, options, stop):
            report.claimed_elsewhere = list(waiting)
            report.status = "interrupted"
            return report
        wanted = replace(options, classes=waiting)


def wait_for_classes(engine: Engine, synsets: Sequence[str], options: HarvestOptions, stop: threading.Event) -> bool:
    """Sleep until some of these classes of the domain have no live lease; False if stopped."""
    with Session(engine) as s:
        ids = [str(i) for i in s.scalars(select(OntologyClass.id).join(Domain).where(
            Domain.name == options.domain, OntologyClass.synset.in_(list(synsets))))]
    watcher = Claims(engine, KIND, ttl_s=options.claim_ttl_s)
    poll = max(0.2, min(5.0, options.claim_ttl_s / 4))
    while not stop.is_set():
        if len(watcher.holders(ids)) < len(ids):
            return True
        stop.wait(poll)
    return False


def merge(a: HarvestReport, b: HarvestReport) -> HarvestReport:
    """Two rounds of one harvest as one report."""
    a.status = b.status
    a.planned = a.planned + b.planned
    for synset, c in b.classes.items():
        if synset in a.classes:
            mine = a.classes[synset]
            mine.found += c.found
            mine.kept += c.kept
            mine.linked += c.linked
            mine.outcomes.update(c.outcomes)
        else:
            a.classes[synset] = c
    for k in ("rejected", "failed", "dropped", "by_language", "by_source"):
        getattr(a, k).update(getattr(b, k))
    a.unnamed = a.unnamed or b.unnamed
    a.source_errors.update(b.source_errors)
    a.query_errors.update(b.query_errors)
    a.stale_runs += b.stale_runs
    a.retried += b.retried
    a.times.add(b.times)
    a.wall_s += b.wall_s
    a.rounds += b.rounds
    return a
