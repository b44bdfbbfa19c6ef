"""The store writer: the only thread that touches the database and decides about images.

It turns pages into download tasks (after text cleaning, the license policy and the "seen
before" check), turns finished downloads into rows (the one duplicate decision of
:class:`~corpus.harvest.known.KnownImages`, for fresh and retried downloads alike), advances a
query's ``page_state`` only in the commit that holds every row of that page, commits in small
batches, and after each commit deletes the files this run created but does not keep and drops the
data folder's claims (:mod:`corpus.harvest.files`).
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.harvest import files
from corpus.harvest.known import Ref
from corpus.harvest.report import ClassReport, count_outcome
from corpus.harvest.sanitize import UnusableHit, clean_hit, jsonable
from corpus.harvest.state import PageEvent, Query, Result, RunState, SearcherDone, Task, Ticket, bucket
from corpus.licenses import attribution_line
from corpus.sources.base import Hit
from corpus.store.models import Annotation, HarvestRun, Image, ImageHit, Proposal, utcnow

log = logging.getLogger("corpus.harvest.run")

__all__ = ["Writer", "hit_extra"]


class Writer:
    """Rows, hits, duplicate decisions and commits of one run (the calling thread)."""

    def __init__(self, st: RunState, session: Session, run_row: HarvestRun | None = None) -> None:
        self.st = st
        self.known = st.known
        self.session = session
        self.run_row = run_row
        self.run_id: int | None = run_row.id if run_row is not None else None
        self.batch_refs: list[Ref] = []
        self.batch_deletes: list[str] = []  # files this run created and does not keep
        self.batch_claims: list[str] = []  # claims to drop once the batch is committed
        self.batch_n = 0
        self.last_commit = time.monotonic()
        self.last_beat = time.monotonic()

    def run(self) -> None:
        """Handle events until the searchers are done and no download is in flight, or a stop."""
        while True:
            if self.st.stop.is_set():
                # Let the workers finish what they hold (they abandon downloads at the next
                # chunk), then store every complete result: fewer orphans for the next run.
                self.st.release()
                self._drain_ready()
                break
            try:
                ev = self.st.results.get(timeout=0.2)
            except queue.Empty:
                ev = None
            t0 = time.thread_time()
            if ev is not None:
                self._handle(ev)
            if self.run_row is not None and time.monotonic() - self.last_beat >= self.st.opt.heartbeat_s:
                self.run_row.heartbeat_at = utcnow()  # committed with the next batch, within a second
                self.last_beat = time.monotonic()
                self.batch_n += 1
            if self.batch_n >= self.st.opt.commit_every or (
                self.batch_n and time.monotonic() - self.last_commit >= self.st.opt.commit_interval_s
            ):
                self._commit()
            self.st.report.times.store += time.thread_time() - t0
            if self.st.searchers_running == 0 and not self.st.inflight:
                break
        self._commit()

    def _drain_ready(self) -> None:
        """After a stop: store what already finished, release waiting searchers, nothing more."""
        while True:
            try:
                ev = self.st.results.get_nowait()
            except queue.Empty:
                return
            if isinstance(ev, PageEvent):
                ev.full = False
                ev.done.set()
            elif isinstance(ev, Result):
                self._on_result(ev)
            elif isinstance(ev, SearcherDone):
                self._on_searcher_done(ev)

    def _handle(self, ev: object) -> None:
        if isinstance(ev, Result):
            self._on_result(ev)
        elif isinstance(ev, PageEvent):
            self._on_page(ev)
        elif isinstance(ev, SearcherDone):
            self._on_searcher_done(ev)

    def _on_searcher_done(self, ev: SearcherDone) -> None:
        self.st.searchers_running -= 1
        if ev.failed_queries and not ev.error:
            self.st.report.query_errors[ev.source] = f"{ev.failed_queries} search(es) failed, left for the next run; last: {ev.last_error}"
        if ev.error:
            self.st.report.source_errors[ev.source] = ev.error
            # The error itself is long (a URL, the cause at its end): it is reported once, whole,
            # in the report; the note only says that the run goes on without this source.
            self.st.progress.note(f"{ev.source} stopped after an error (reported at the end of the run)")

    def _class_report(self, class_id: int) -> ClassReport:
        return self.st.report.classes[self.st.classes[class_id].ontology_class.synset]

    def _on_page(self, ev: PageEvent) -> None:
        q, page = ev.query, ev.page
        ticket = Ticket(q, page.next_state, q.state)  # the searcher moves q.state only after ev.done
        q.tickets.append(ticket)
        cls = self.st.classes[q.class_id]
        crep = self._class_report(q.class_id)
        for reason, n in (page.dropped or {}).items():
            self.st.report.dropped[f"{q.source}:{reason}"] += n
        for hit in page.hits:
            try:
                hit = clean_hit(hit)
            except UnusableHit as exc:  # no row can hold it (an id over the column, ...): count, go on
                crep.found += 1
                ticket.n_hits += 1
                reason = f"bad_hit:{exc.reason}"
                crep.outcomes[reason] += 1
                self.st.report.rejected[reason] += 1
                continue
            key = (q.source, str(hit.source_image_id))
            ref = self.known.by_key.get(key)
            if ref is not None:
                crep.found += 1
                ticket.n_hits += 1
                self._add_hit(ref, q, hit, crep)
                continue
            task = self.st.inflight.get(key)
            if task is not None:
                crep.found += 1
                ticket.n_hits += 1
                task.extra.append((q, hit, ticket))
                ticket.pending += 1
                continue
            reason = self.st.policy.reason(hit.license)
            if reason is not None:
                crep.found += 1
                ticket.n_hits += 1
                self._new_row(q, hit, "rejected", reason[:64], crep)
                continue
            # The class's total, and this language and source's fair share of it (plan.ClassQuota).
            with self.st.cond:
                room = cls.quota.room(bucket(q))
            if cls.kept + cls.inflight >= cls.target or room <= 0:
                ticket.full = False
                break
            crep.found += 1
            ticket.n_hits += 1
            ticket.pending += 1
            self.st.enqueue(Task(key, hit, q, ticket, q.class_id))
        ticket.closed = True
        ev.full = ticket.full
        ev.done.set()
        self._settle(q)

    def _settle(self, q: Query) -> None:
        while q.tickets and q.tickets[0].closed and q.tickets[0].pending == 0:
            t = q.tickets.popleft()
            # Only a page fetched from the stored state moves it on: after a page that was not
            # used up (an interrupted download), a later page must not skip over it.
            if t.full and t.start_state == q.row.page_state:
                q.row.page_state = t.next_state
                q.row.exhausted = t.next_state is None
                q.row.hits_seen = (q.row.hits_seen or 0) + t.n_hits
                q.row.run_id = self.run_id
                self.batch_n += 1

    def _add_hit(self, ref: Ref, q: Query, hit: Hit, crep: ClassReport | None, link: bool = True) -> None:
        """Record that query ``q`` found the image ``ref`` (again, or at another source)."""
        self.known.by_key.setdefault((q.source, str(hit.source_image_id)), ref)
        if (id(ref), q.id) in self.known.hit_pairs:
            if crep is not None:
                crep.outcomes["known"] += 1
            return
        self.known.hit_pairs.add((id(ref), q.id))
        h = ImageHit(query_id=q.id, source_image_id=str(hit.source_image_id), rank=hit.rank)
        if ref.row is not None and ref.id is None:
            h.image = ref.row
        else:
            h.image_id = ref.image_id()
        self.session.add(h)
        self.batch_n += 1
        if q.source != ref.source:
            row = ref.row if ref.row is not None else self.session.get(Image, ref.image_id())
            if row is not None:
                also = list((row.extra or {}).get("also_at", []))
                also.append({"source": q.source, "source_image_id": str(hit.source_image_id),
                             "license": hit.license.code, "landing_url": hit.landing_url})
                row.extra = {**(row.extra or {}), "also_at": also}
        if not link:
            return
        if ref.status == "stored" and q.class_id not in ref.classes:
            ref.classes.add(q.class_id)
            cls = self.st.classes[q.class_id]
            with self.st.cond:
                cls.kept += 1
                cls.quota.add_kept(bucket(q))
                self.st.cond.notify_all()
            ref.buckets[q.class_id] = (bucket(q), True)
            self._count_kept(q)
            self.st.progress.kept(cls.ontology_class.synset, cls.kept)
            if crep is not None:
                crep.linked += 1
        elif crep is not None:
            crep.outcomes["duplicate"] += 1
            self.st.report.rejected["duplicate"] += 1

    def _new_row(self, q: Query, hit: Hit, status: str, reason: str | None, crep: ClassReport | None,
                 res: Result | None = None, duplicate_of: Ref | None = None) -> Ref:
        lic = hit.license
        attribution = hit.attribution or attribution_line(hit.title, hit.author, lic, hit.landing_url, hit.source)
        row = Image(
            source_id=self.st.source_ids[q.source], source_image_id=str(hit.source_image_id),
            landing_url=hit.landing_url or "", file_url=hit.file_url or "",
            width=hit.width, height=hit.height, mime=hit.mime,
            license_code=lic.code, license_url=lic.url, license_raw=hit.license_raw or "",
            author=hit.author or "", author_raw=hit.author_raw or "", attribution=attribution,
            title=hit.title or "", status=status, reject_reason=reason,
            extra=hit_extra(hit),
        )
        if res is not None and res.ok:
            row.sha1, row.phash = res.sha1, res.phash
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            if status == "stored":
                row.local_path = res.local_path
        if status == "failed":
            row.extra = {**row.extra, "attempts": 1}
        if res is not None and res.detail:
            row.extra = {**row.extra, "detail": res.detail[:500]}
        if duplicate_of is not None:
            self._link_duplicate(row, duplicate_of)
        self.session.add(row)
        ref = Ref(q.source, status, row.sha1, row.local_path, row=row)
        self.known.index(ref, str(hit.source_image_id))
        self.batch_refs.append(ref)
        self.batch_n += 1
        self._add_hit(ref, q, hit, None, link=False)
        if crep is not None:
            count_outcome(self.st.report, crep, status, reason)
            if status == "stored":
                ref.counted_in = crep
        return ref

    def _link_duplicate(self, row: Image, dup: Ref) -> None:
        if dup.id is not None:
            row.duplicate_of_id = dup.id
        elif dup.row is not None:
            # Not flushed yet: flush so the id exists (rare: near-duplicates within one batch).
            self.session.flush()
            row.duplicate_of_id = dup.row.id

    def _on_result(self, res: Result) -> None:
        task = res.task
        self.st.inflight.pop(task.key, None)
        cls = self.st.classes[task.class_id]
        with self.st.cond:
            cls.inflight -= 1
            self.st.backlog[task.key[0]] -= 1
            if task.query is not None:
                cls.quota.add_inflight(bucket(task.query), -1)
            self.st.cond.notify_all()
        if res.claim:
            self.batch_claims.append(res.claim)
        if res.local and self.st.report.error is None:
            # The data folder cannot take files: every further download would fail the same way
            # and no image is to blame. Stop; nothing is recorded against the image.
            self.st.report.error = res.detail
            self.st.progress.note(f"stopping: {res.detail}")
            self.st.stop.set()
        if res.local or (not res.ok and res.reason == "interrupted"):
            # Nothing to record; the page must be fetched again by the next run.
            for t in [task.ticket] + [x[2] for x in task.extra]:
                if t is not None:
                    t.full = False
        elif task.retry is not None:
            self._on_retry_result(res)
        else:
            self._on_fresh_result(res)
        for q, hit, ticket in task.extra:
            ref = self.known.by_key.get((q.source, str(hit.source_image_id)))
            if ref is not None:
                self._add_hit(ref, q, hit, self._class_report(q.class_id))
            ticket.pending -= 1
            self._settle(q)
        if task.ticket is not None:
            task.ticket.pending -= 1
            self._settle(task.query)

    def _decide(self, res: Result) -> tuple[str, Ref | None]:
        """The one duplicate decision (:meth:`KnownImages.decide`) for a fresh or retried download."""
        return self.known.decide(res.sha1, res.phash, (res.width or 0) * (res.height or 0), res.nbytes or 0,
                                 res.wrote, self.st.opt.near_dup_bits, self._has_review_work)

    def _has_review_work(self, ref: Ref) -> bool:
        if ref.id is None:
            return False
        s = self.session
        return (s.scalar(select(Proposal.id).where(Proposal.image_id == ref.id).limit(1)) is not None
                or s.scalar(select(Annotation.id).where(Annotation.image_id == ref.id).limit(1)) is not None)

    def _drop_file(self, res: Result) -> None:
        """The writer does not keep this download's file: delete it if this run created it."""
        if res.created and res.local_path not in self.known.stored_paths:
            self.batch_deletes.append(res.local_path)

    def _on_fresh_result(self, res: Result) -> None:
        task, q, hit = res.task, res.task.query, res.task.hit
        crep = self._class_report(q.class_id)
        if not res.ok:
            status = "rejected" if res.permanent else "failed"
            self._new_row(q, hit, status, res.reason[:64], crep, res)
            return
        kind, other = self._decide(res)
        if kind == "duplicate":
            self.known.by_key[task.key] = other
            self._add_hit(other, q, hit, crep)
            self._drop_file(res)
        elif kind == "near":
            self._new_row(q, hit, "rejected", "near_duplicate", crep, res, duplicate_of=other)
            self._drop_file(res)
        elif not res.wrote:  # the worker's hint said duplicate but the writer disagrees: cannot happen
            self._new_row(q, hit, "failed", "not_written", crep, res)
        else:
            ref = self._new_row(q, hit, "stored", None, crep, res)
            self._note_stored(ref, res, q.class_id, q)
            if kind == "better":
                self._supersede(other, ref, crep)

    def _note_stored(self, ref: Ref, res: Result, class_id: int, q: Query | None = None) -> None:
        self.known.stored_paths.add(res.local_path)
        ref.pixels, ref.nbytes = (res.width or 0) * (res.height or 0), res.nbytes or 0
        ref.created = res.created
        self.known.phash_index.add(res.phash, ref.idx)
        cls = self.st.classes[class_id]
        if class_id not in ref.classes:
            ref.classes.add(class_id)
        b = bucket(q) if q is not None else None  # a retried download: class only
        with self.st.cond:
            cls.kept += 1
            cls.quota.add_kept(b)
            self.st.cond.notify_all()
        ref.buckets[class_id] = (b, q is not None)
        if q is not None:
            self._count_kept(q)
        self.st.progress.kept(cls.ontology_class.synset, cls.kept)

    def _count_kept(self, q: Query) -> None:
        self.st.report.by_language[q.planned.lang] += 1
        self.st.report.by_source[q.source] += 1

    def _supersede(self, old: Ref, new: Ref, crep: ClassReport) -> None:
        """``new`` is a better copy of the stored ``old``: ``new`` inherits ``old``'s queries
        (so every class that had the picture still has it) and ``old`` becomes a near-duplicate
        of ``new``. ``old``'s file is deleted when no one else can be using it: this run created
        it, or no other store writes into the data folder (another store may hold the same file)."""
        s = self.session
        s.flush()
        new_id = new.image_id()
        old_row = old.row if old.row is not None else s.get(Image, old.image_id())
        for h in s.scalars(select(ImageHit).where(ImageHit.image_id == old_row.id)).all():
            if (id(new), h.query_id) not in self.known.hit_pairs:
                self.known.hit_pairs.add((id(new), h.query_id))
                s.add(ImageHit(image_id=new_id, query_id=h.query_id, source_image_id=h.source_image_id, rank=h.rank))
        for cid in old.classes:
            if cid in new.classes and cid in self.st.classes:  # counted twice: once is right
                b, this_run = old.buckets.get(cid, (None, False))
                with self.st.cond:
                    self.st.classes[cid].kept -= 1
                    self.st.classes[cid].quota.add_kept(b, -1)  # the share the old copy filled
                if this_run and b is not None:  # and the run summary's counts by language and source
                    for counts, key in ((self.st.report.by_language, b[0]), (self.st.report.by_source, b[1])):
                        counts[key] -= 1
                        if counts[key] <= 0:
                            del counts[key]
            elif cid in old.buckets:
                new.buckets.setdefault(cid, old.buckets[cid])  # the new copy fills the old one's share
            new.classes.add(cid)  # a class that had the old copy has the new one
        for row in s.scalars(select(Image).where(Image.duplicate_of_id == old_row.id)).all():
            row.duplicate_of_id = new_id
        old_row.status = old.status = "rejected"
        old_row.reject_reason = "near_duplicate"
        old_row.duplicate_of_id = new_id
        old.superseded_by = new
        if old.local_path and (old.created or not self.st.folder.may_be_shared):
            self.known.stored_paths.discard(old.local_path)
            self.batch_deletes.append(old.local_path)
            old_row.local_path = old.local_path = None
        if old.counted_in is not None:  # stored earlier in this run: it is not kept after all
            old.counted_in.kept -= 1
            crep = old.counted_in
            old.counted_in = None
        crep.outcomes["near_duplicate"] += 1
        self.st.report.rejected["near_duplicate"] += 1
        self.batch_n += 1

    def _on_retry_result(self, res: Result) -> None:
        ref = res.task.retry
        row = self.session.get(Image, ref.image_id())
        crep = self._class_report(res.task.class_id)
        self.st.report.retried += 1
        if row is None:
            return
        if not res.ok:
            attempts = int((row.extra or {}).get("attempts", 1)) + 1
            row.extra = {**(row.extra or {}), "attempts": attempts, "detail": res.detail[:500]}
            row.status = ref.status = "rejected" if res.permanent else "failed"
            row.reject_reason = res.reason[:64]
            count_outcome(self.st.report, crep, row.status, row.reject_reason)
            self.batch_n += 1
            return
        kind, other = self._decide(res)
        if kind in ("duplicate", "near"):
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            row.status = ref.status = "rejected"
            row.reject_reason = "duplicate" if kind == "duplicate" else "near_duplicate"
            row.phash = res.phash
            if kind == "near":
                row.sha1 = ref.sha1 = res.sha1
                self.known.sha1_index.add(res.sha1, ref.idx)
            self._link_duplicate(row, other)
            self._drop_file(res)
            count_outcome(self.st.report, crep, "rejected", row.reject_reason)
        elif not res.wrote:
            return
        else:
            row.width, row.height, row.mime, row.bytes = res.width, res.height, res.mime, res.nbytes
            row.sha1, row.phash, row.local_path = res.sha1, res.phash, res.local_path
            row.status = ref.status = "stored"
            row.reject_reason = None
            ref.sha1, ref.local_path = res.sha1, res.local_path
            self.known.sha1_index.add(res.sha1, ref.idx)
            self._note_stored(ref, res, res.task.class_id)
            count_outcome(self.st.report, crep, "stored", None)
            ref.counted_in = crep
            if kind == "better":
                self._supersede(other, ref, crep)
        self.batch_n += 1

    def _commit(self) -> None:
        if self.session is None:
            return
        self.session.commit()
        for ref in self.batch_refs:
            if ref.row is not None:
                ref.id = ref.row.id
                self.known.ref_ids[ref.id] = ref
                ref.row = None  # let the session forget the row
        # Only files this run created are deleted, and only now that the rows are committed;
        # then the claims go (a kill before this leaves claims, and the next start-up finishes).
        for rel in self.batch_deletes:
            if rel not in self.known.stored_paths:
                try:
                    files.remove(self.st.data_dir, rel)
                except OSError as exc:  # a read-only folder: the file stays, nothing is lost
                    log.warning("could not delete %s: %s", rel, exc)
        for claim in self.batch_claims:
            try:
                self.st.folder.release(claim)
            except OSError as exc:
                log.warning("could not drop claim %s: %s", claim, exc)
        self.batch_refs.clear()
        self.batch_deletes.clear()
        self.batch_claims.clear()
        self.batch_n = 0
        self.last_commit = time.monotonic()


def hit_extra(hit: Hit) -> dict[str, Any]:
    extra = dict(hit.extra or {})
    if hit.sha1:
        extra["source_sha1"] = hit.sha1
    lic = hit.license
    extra["license_flags"] = {
        "commercial": lic.commercial, "derivatives": lic.derivatives,
        "share_alike": lic.share_alike, "attribution_required": lic.attribution_required, "verify": lic.verify,
    }
    return jsonable(extra)
