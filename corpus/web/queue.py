"""The review queue and progress: which images to look at next, and how far the team got.

The queue orders images by their most doubtful annotation (lowest proposal score first), then
images whose annotations have no score. It walks proposals in score order through an index and
stops as soon as it has the page's images, so its cost does not grow with the store (see
``bench/review_serve.py`` and the query plan in docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from corpus.store.models import REVIEW_STATUSES, AnnotatedImage, Annotation, ImageReview, OntologyClass, Proposal

BATCH = 2000  # rows per step of the index walk
DENSE = 20_000  # fewer matching annotations than this: sorting them beats walking proposals
DONE_CHOICES = ("todo", "done", "all")  # images not yet done (the work left), done ones, both


@dataclass(frozen=True)
class QueueFilter:
    """Which images: those holding annotations of these statuses (of this class, proposed by
    this model), and whose review is not done yet (``done="todo"``), done, or either."""

    statuses: tuple[str, ...] = ("pending",)
    class_id: int | None = None
    model: str | None = None
    done: str = "todo"

    def __post_init__(self) -> None:
        bad = [s for s in self.statuses if s not in REVIEW_STATUSES]
        if bad or not self.statuses:
            raise ValueError(f"unknown status {', '.join(bad) or '(none)'}; use {', '.join(REVIEW_STATUSES)} or all")
        if self.done not in DONE_CHOICES:
            raise ValueError(f"unknown image state {self.done!r}; use {', '.join(DONE_CHOICES)}")


@dataclass
class QueueImage:
    image_id: int
    min_score: float | None
    counts: dict[str, int] = field(default_factory=dict)  # annotations per status on the image
    class_ids: list[int] = field(default_factory=list)  # classes of its matching annotations


def _sorted_rows(domain_id: int, f: QueueFilter):
    """Matching annotations with their proposal's score, in score order (the planner reads them
    through the status or class index and sorts them: right when few match)."""
    q = (select(Annotation.image_id, Proposal.score, Proposal.id)
         .join(Annotation, Annotation.proposal_id == Proposal.id)
         .join(OntologyClass, OntologyClass.id == Annotation.class_id)
         .where(OntologyClass.domain_id == domain_id, Annotation.status.in_(f.statuses)))
    if f.class_id is not None:
        q = q.where(Annotation.class_id == f.class_id)
    if f.model:
        q = q.where(Proposal.model_name == f.model)
    return q.order_by(Proposal.score, Proposal.id)


def _walk_proposals(f: QueueFilter):
    """Proposals in score order: one table, read along ``ix_proposals_score``."""
    q = select(Proposal.id, Proposal.image_id, Proposal.score)
    if f.model:
        q = q.where(Proposal.model_name == f.model)
    return q.order_by(Proposal.score, Proposal.id)


def _matching(session: Session, proposal_ids: list[int], class_ids: list[int], f: QueueFilter) -> set[int]:
    """Of these proposals, those whose annotation matches the filter (probes of a unique index)."""
    return set(session.scalars(select(Annotation.proposal_id).where(
        Annotation.proposal_id.in_(proposal_ids), Annotation.status.in_(f.statuses),
        Annotation.class_id.in_(class_ids))))


def _dense(session: Session, f: QueueFilter) -> bool:
    """Whether so many annotations have the wanted statuses that walking proposals in score
    order finds a page quickly (a count through the status index, stopped at DENSE, decides)."""
    if f.class_id is not None:
        return False
    probe = select(Annotation.id).where(Annotation.status.in_(f.statuses)).limit(DENSE).subquery()
    return session.scalar(select(func.count()).select_from(probe)) >= DENSE


def _unscored(domain_id: int, f: QueueFilter):
    q = (select(Annotation.image_id, Annotation.id)
         .join(OntologyClass, OntologyClass.id == Annotation.class_id)
         .where(OntologyClass.domain_id == domain_id, Annotation.status.in_(f.statuses),
                Annotation.proposal_id.is_(None)))
    if f.class_id is not None:
        q = q.where(Annotation.class_id == f.class_id)
    return q.order_by(Annotation.image_id, Annotation.id)


def queue_image_ids(session: Session, domain_id: int, f: QueueFilter = QueueFilter(), *, limit: int = 50,
                    offset: int = 0, exclude: Sequence[int] = ()) -> list[tuple[int, float | None]]:
    """Image ids in queue order with their lowest score, ``offset`` and ``limit`` applied."""
    want = offset + limit
    seen: dict[int, float | None] = {}
    skip = set(exclude)

    def allowed(rows) -> set[int]:
        """Of these rows' images, those the done filter lets through (one indexed lookup)."""
        ids = {r[0] for r in rows} - skip - seen.keys()
        if f.done == "all" or not ids:
            return ids
        done = set(session.scalars(select(ImageReview.image_id).where(
            ImageReview.image_id.in_(ids), ImageReview.done.is_(True))))
        return ids - done if f.done == "todo" else ids & done

    def take(rows) -> None:
        ok = allowed(rows)
        for image_id, score in rows:
            if image_id not in seen and image_id in ok:
                seen[image_id] = score
                if len(seen) >= want:
                    return

    last: tuple[float, int] | None = None
    batch = max(64, 2 * want)
    if _dense(session, f):
        # Most annotations match: walk proposals in score order and keep those whose annotation
        # matches, until the page is full. Its cost follows the page, not the store.
        class_ids = list(session.scalars(select(OntologyClass.id).where(OntologyClass.domain_id == domain_id)))
        while len(seen) < want:
            q = _walk_proposals(f)
            if last is not None:
                q = q.where(tuple_(Proposal.score, Proposal.id) > tuple_(*last))
            props = session.execute(q.limit(batch)).all()
            if not props:
                break
            match = _matching(session, [p.id for p in props], class_ids, f)
            take([(p.image_id, p.score) for p in props if p.id in match])
            last = (props[-1].score, props[-1].id)
            batch = min(2 * batch, BATCH)  # sparser than hoped: bigger steps
    else:
        while len(seen) < want:
            q = _sorted_rows(domain_id, f)
            if last is not None:
                q = q.where(tuple_(Proposal.score, Proposal.id) > tuple_(*last))
            rows = session.execute(q.limit(BATCH)).all()
            take([(r.image_id, r.score) for r in rows])
            if len(rows) < BATCH:
                break
            last = (rows[-1].score, rows[-1].id)
    if len(seen) < want and not f.model:
        last_a: tuple[int, int] | None = None
        while len(seen) < want:
            q = _unscored(domain_id, f)
            if last_a is not None:
                q = q.where(tuple_(Annotation.image_id, Annotation.id) > tuple_(*last_a))
            rows = session.execute(q.limit(BATCH)).all()
            take([(r.image_id, None) for r in rows])
            if len(rows) < BATCH:
                break
            last_a = (rows[-1].image_id, rows[-1].id)
    return list(seen.items())[offset:want]


def review_queue(session: Session, domain_id: int, f: QueueFilter = QueueFilter(), *, limit: int = 50,
                 offset: int = 0) -> list[QueueImage]:
    """A page of the queue: images, most doubtful first, with their annotations counted per status."""
    ids = queue_image_ids(session, domain_id, f, limit=limit, offset=offset)
    items = {i: QueueImage(i, s) for i, s in ids}
    if items:
        rows = session.execute(
            select(Annotation.image_id, Annotation.status, Annotation.class_id, func.count())
            .where(Annotation.image_id.in_(list(items)))
            .group_by(Annotation.image_id, Annotation.status, Annotation.class_id)).all()
        for image_id, status, class_id, n in rows:
            it = items[image_id]
            it.counts[status] = it.counts.get(status, 0) + n
            if status in f.statuses and f.class_id in (None, class_id) and class_id not in it.class_ids:
                it.class_ids.append(class_id)
    return list(items.values())


def neighbours(session: Session, domain_id: int, image_id: int, f: QueueFilter = QueueFilter(),
               window: int = 200) -> tuple[int | None, int | None]:
    """The images before and after ``image_id`` in the queue; when it has left the queue (all its
    annotations decided), no previous one and the queue's first as the next."""
    ids = [i for i, _ in queue_image_ids(session, domain_id, f, limit=window)]
    if image_id in ids:
        k = ids.index(image_id)
        return (ids[k - 1] if k > 0 else None), (ids[k + 1] if k + 1 < len(ids) else None)
    return None, (ids[0] if ids else None)


@dataclass(frozen=True)
class ClassProgress:
    class_id: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def decided(self) -> int:
        return self.total - self.counts.get("pending", 0)


@dataclass(frozen=True)
class ReviewerProgress:
    who: str
    counts: dict[str, int]  # annotations whose latest decision is theirs, per status
    images_done: int = 0  # images of the domain they marked done (and nobody reopened)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def progress(session: Session, domain_id: int) -> tuple[list[ClassProgress], list[ReviewerProgress]]:
    """Annotations per class and status, and per reviewer (latest decision) and status.

    Both read one covering index (class, status, reviewer) rather than the annotation rows."""
    # The domain's class ids as a list (not a join): each annotation is then counted from the
    # index entry alone, without a lookup of its class.
    class_ids = list(session.scalars(select(OntologyClass.id).where(OntologyClass.domain_id == domain_id)))
    rows = session.execute(
        select(Annotation.class_id, Annotation.status, Annotation.reviewed_by, func.count())
        .where(Annotation.class_id.in_(class_ids))
        .group_by(Annotation.class_id, Annotation.status, Annotation.reviewed_by)).all() if class_ids else []
    per_class: dict[int, dict[str, int]] = {}
    per_who: dict[str, dict[str, int]] = {}
    for class_id, status, who, n in rows:
        c = per_class.setdefault(class_id, {})
        c[status] = c.get(status, 0) + n
        if who and status != "pending":
            w = per_who.setdefault(who, {})
            w[status] = w.get(status, 0) + n
    # Per done image, one indexed probe for an annotation of the domain (not a domain-wide list).
    of_domain = (select(Annotation.id).join(OntologyClass, OntologyClass.id == Annotation.class_id)
                 .where(Annotation.image_id == ImageReview.image_id, OntologyClass.domain_id == domain_id)
                 .exists())
    done = dict(session.execute(
        select(ImageReview.changed_by, func.count()).where(ImageReview.done.is_(True), of_domain)
        .group_by(ImageReview.changed_by)).all())
    for who in done:
        per_who.setdefault(who, {})
    classes = sorted((ClassProgress(c, d) for c, d in per_class.items()), key=lambda p: (-p.counts.get("pending", 0), p.class_id))
    reviewers = sorted((ReviewerProgress(w, d, done.get(w, 0)) for w, d in per_who.items()),
                       key=lambda p: (-p.total, -p.images_done, p.who))
    return classes, reviewers


def model_names(session: Session) -> list[str]:
    """Models that annotated images (for the queue's model filter)."""
    return list(session.scalars(select(AnnotatedImage.model_name).distinct().order_by(AnnotatedImage.model_name)))
