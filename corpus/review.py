"""Review decisions on annotations: accept, reject, relabel, edit, add (and reopen); and on
images: done (the reviewer looked at every instance on it) or not.

Every decision is one UPDATE of the annotation, guarded by its ``version`` column (SQLAlchemy's
version counter: the UPDATE names the version it read, so a concurrent writer makes it fail
instead of being overwritten), plus one append-only :class:`ReviewEvent` saying who did what,
from where, with the state before and after. Callers may also pass the version they showed the
reviewer (``expected_version``): if the annotation moved on since, the decision is refused.

The functions flush but never commit: the caller owns the transaction (one per CLI command, one
per import).
"""

from __future__ import annotations

import datetime as dt
import getpass
import math
import os
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from corpus import shapes
from corpus.errors import ConflictError, UsageError
from corpus.instances import Instance
from corpus.store.annotations import open_proposals_as_annotations, snapshot
from corpus.store.models import (IMAGE_REVIEW_ACTIONS, REVIEW_STATUSES, Annotation, Domain, Image, ImageReview,
                                 OntologyClass, Proposal, ReviewEvent, utcnow)


class ReviewError(UsageError):
    """A decision that cannot be made (unknown annotation or class, bad geometry)."""


class ReviewConflict(ReviewError, ConflictError):
    """The annotation changed since the reviewer saw it."""


def parse_review_statuses(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Literal review statuses from ``"pending,edited"``, a sequence, or ``"all"`` (unlike exports,
    ``accepted`` is not widened to edited here)."""
    tokens = spec.split(",") if isinstance(spec, str) else [t for s in spec for t in str(s).split(",")]
    tokens = [t.strip().lower() for t in tokens if t.strip()]
    statuses = tuple(REVIEW_STATUSES) if tokens == ["all"] else tuple(dict.fromkeys(tokens))
    bad = [t for t in statuses if t not in REVIEW_STATUSES]
    if bad or not statuses:
        raise UsageError(f"unknown status {', '.join(bad) or repr(spec)}; use {', '.join(REVIEW_STATUSES)} or all",
                         param="statuses")
    return statuses


def default_reviewer() -> str:
    return os.environ.get("CORPUS_REVIEWER") or getpass.getuser()


def as_utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


# Ids are 64-bit integers in every store: a larger number (10**23) is no id at all, and the
# database driver would fail on it (OverflowError) instead of finding nothing.
MAX_ID = 2**63 - 1


def _plausible_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get_annotation(session: Session, annotation_id: int) -> Annotation:
    ann = session.get(Annotation, annotation_id) if _plausible_id(annotation_id) else None
    if ann is None:
        raise ReviewError(f"annotation {annotation_id} does not exist")
    return ann


def _check_version(ann: Annotation, expected_version: int | None) -> None:
    if expected_version is not None and ann.version != expected_version:
        raise ReviewConflict(
            f"annotation {ann.id} is at version {ann.version}, not {expected_version}: "
            f"someone reviewed it meanwhile (last by {ann.reviewed_by or 'unknown'}); look again and retry"
        )


def decide(
    session: Session,
    ann: Annotation,
    action: str,
    who: str,
    *,
    status: str,
    changes: dict[str, Any] | None = None,
    expected_version: int | None = None,
    origin: str = "cli",
    note: str = "",
    at: dt.datetime | None = None,
) -> ReviewEvent:
    """Record one decision on ``ann``: set ``status`` (and ``changes``), bump the version, append
    the event. Every decision goes through here, the COCO Annotator import's included."""
    _check_version(ann, expected_version)
    ann_id = ann.id  # read now: after a failed flush the object cannot be loaded any more
    before = snapshot(ann)
    for key, value in (changes or {}).items():
        setattr(ann, key, value)
    ann.status = status
    ann.reviewed_by = who
    ann.reviewed_at = at or utcnow()
    try:
        session.flush()
    except StaleDataError:
        raise ReviewConflict(f"annotation {ann_id} was changed by another writer meanwhile; retry") from None
    # ``at`` is when the decision was made (for an import: when the file was exported); the
    # event's own time is when it was recorded.
    event = ReviewEvent(annotation_id=ann.id, who=who, action=action, before=before, after=snapshot(ann),
                        origin=origin, note=note)
    session.add(event)
    session.flush()
    return event


_decide = decide  # the name this had while private


def resolve_class(session: Session, ref: "str | int | OntologyClass", domain_id: int) -> OntologyClass:
    """A class of the domain by id, synset (``tennis_player.n.01``), category id or English name
    (or the class itself, e.g. picked by its row id in the web app, checked to be of the domain)."""
    if isinstance(ref, OntologyClass):
        if ref.domain_id != domain_id:
            raise ReviewError(f"class {ref.synset} is not a class of this domain")
        return ref
    q = select(OntologyClass).where(OntologyClass.domain_id == domain_id)
    s = str(ref).strip()
    cands: Sequence[OntologyClass] = []
    if s.isdigit() and int(s) <= MAX_ID:
        cands = session.scalars(q.where(OntologyClass.category_id == int(s))).all() or \
            session.scalars(q.where(OntologyClass.id == int(s))).all()
    if not cands:
        cands = session.scalars(q.where(OntologyClass.synset == s)).all()
    if not cands:
        cands = session.scalars(q.where(func.lower(OntologyClass.name) == s.lower())).all()
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        raise ReviewError(f"class {s!r} is ambiguous: " + ", ".join(c.synset for c in cands) + "; give the synset")
    raise ReviewError(f"no class {s!r} in this domain (give a category id, synset or English name)")


def _domain_of(session: Session, ann: Annotation) -> int:
    return session.scalar(select(OntologyClass.domain_id).where(OntologyClass.id == ann.class_id))


def accept(session: Session, annotation_id: int, who: str, **kw: Any) -> ReviewEvent:
    """Keep the annotation as it is."""
    return decide(session, get_annotation(session, annotation_id), "accept", who, status="accepted", **kw)


def reject(session: Session, annotation_id: int, who: str, *, action: str = "reject", **kw: Any) -> ReviewEvent:
    """Drop the annotation (it stays in the store, marked rejected, with its history)."""
    return decide(session, get_annotation(session, annotation_id), action, who, status="rejected", **kw)


def reopen(session: Session, annotation_id: int, who: str, **kw: Any) -> ReviewEvent:
    """Put the annotation back to pending."""
    return decide(session, get_annotation(session, annotation_id), "reopen", who, status="pending", **kw)


def relabel(session: Session, annotation_id: int, class_ref: "str | int | OntologyClass", who: str, **kw: Any) -> ReviewEvent:
    """Give the annotation another class of its domain; the shape stays."""
    ann = get_annotation(session, annotation_id)
    cls = resolve_class(session, class_ref, _domain_of(session, ann))
    return decide(session, ann, "relabel", who, status="edited", changes={"class_id": cls.id}, **kw)


def _image_size(session: Session, image_id: int) -> tuple[int, int]:
    row = (session.execute(select(Image.width, Image.height).where(Image.id == image_id)).first()
           if _plausible_id(image_id) else None)
    if row is None:
        raise ReviewError(f"image {image_id} does not exist")
    return int(row.width or 0), int(row.height or 0)


def geometry(
    segmentation: Any | None, bbox: Sequence[float] | None, width: int, height: int
) -> dict[str, Any]:
    """Columns for a shape given as a segmentation and/or a box, checked by :mod:`corpus.shapes`
    (finite, inside the image, bounded) before anything rasterises it. With a segmentation, box
    and area are the mask's (a box given along with it is checked, then superseded)."""
    from corpus import masks as amasks

    if segmentation is not None and not (shapes.is_polygons(segmentation) or shapes.is_rle(segmentation)):
        raise ReviewError("segmentation must be COCO polygons [[x1, y1, x2, y2, x3, y3, ...], ...] or an RLE")
    if segmentation is not None and (not width or not height) and shapes.is_polygons(segmentation):
        # An image of unknown size: the polygon's own extent, if it is a sane one.
        if problem := shapes.segmentation_problem(segmentation):
            raise ReviewError(f"segmentation: {problem}")
        xs = [v for p in segmentation for v in p[0::2]]
        ys = [v for p in segmentation for v in p[1::2]]
        width, height = max(1, math.ceil(max(xs))), max(1, math.ceil(max(ys)))
    if problem := shapes.shape_problem(segmentation, bbox, width, height):
        raise ReviewError(problem)
    if segmentation is not None:
        rle = segmentation if shapes.is_rle(segmentation) else amasks.polygons_to_rle(segmentation, height, width)
        box = list(amasks.rle_to_bbox(rle))
        area_ = amasks.rle_area(rle)
    else:
        box = [float(v) for v in bbox]
        area_ = float(box[2] * box[3])
    return {"segmentation": segmentation, "bbox_x": float(box[0]), "bbox_y": float(box[1]),
            "bbox_w": float(box[2]), "bbox_h": float(box[3]), "area": float(area_)}


def edit(
    session: Session,
    annotation_id: int,
    who: str,
    *,
    segmentation: Any | None = None,
    bbox: Sequence[float] | None = None,
    class_ref: str | int | None = None,
    **kw: Any,
) -> ReviewEvent:
    """Change the shape (and optionally the class) of an annotation."""
    ann = get_annotation(session, annotation_id)
    changes: dict[str, Any] = {}
    if segmentation is not None or bbox is not None:
        w, h = _image_size(session, ann.image_id)
        changes.update(geometry(segmentation, bbox, w, h))
    if class_ref is not None:
        changes["class_id"] = resolve_class(session, class_ref, _domain_of(session, ann)).id
    if not changes:
        raise ReviewError("nothing to edit: give a new shape or class")
    return decide(session, ann, "edit", who, status="edited", changes=changes, **kw)


def add(
    session: Session,
    image_id: int,
    class_id: int,
    who: str,
    *,
    segmentation: Any | None = None,
    bbox: Sequence[float] | None = None,
    origin: str = "cli",
    note: str = "",
    external_id: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[Annotation, ReviewEvent]:
    """An instance the detectors missed, drawn by a reviewer: stored as accepted."""
    w, h = _image_size(session, image_id)
    if not _plausible_id(class_id) or session.get(OntologyClass, class_id) is None:
        raise ReviewError(f"class {class_id} does not exist")
    ann = Annotation(image_id=image_id, class_id=class_id, origin="import" if origin.startswith("coco-annotator") else "manual",
                     status="accepted", reviewed_by=who, reviewed_at=at or utcnow(), external_id=external_id,
                     **geometry(segmentation, bbox, w, h))
    session.add(ann)
    session.flush()
    event = ReviewEvent(annotation_id=ann.id, who=who, action="add", before=None, after=snapshot(ann),
                        origin=origin, note=note)
    session.add(event)
    session.flush()
    return ann, event


def open_proposals(
    session: Session,
    domain: Domain,
    *,
    model_name: str | None = None,
    min_score: float = 0.0,
    who: str = "system",
) -> int:
    """Turn proposals on images that have no annotation yet into pending annotations (one
    ``create`` event each), so reviewers can decide on them. Returns how many were created.

    Images that already have annotations are left alone, as ``corpus annotate`` does: a second
    model's proposals there are for comparison (``corpus evaluate``), not more work for reviewers.
    With several models on a fresh image, name one with ``model_name``."""
    annotated = select(Annotation.image_id)
    q = (select(Proposal).join(OntologyClass, OntologyClass.id == Proposal.class_id)
         .where(OntologyClass.domain_id == domain.id, Proposal.score >= min_score,
                Proposal.image_id.not_in(annotated))
         .order_by(Proposal.id))
    if model_name:
        q = q.where(Proposal.model_name == model_name)
    return len(open_proposals_as_annotations(session, session.scalars(q).all(), who=who))


def annotation_record(inst: Instance) -> dict[str, Any]:
    """A listed annotation (from :func:`list_annotations`) as a plain record for JSON and CSV."""
    return {"id": inst.id, "image_id": inst.image_id, "file": inst.extra.get("file", ""), "class": inst.class_name,
            "synset": inst.extra.get("synset"), "status": inst.extra.get("status"), "origin": inst.extra.get("origin"),
            "score": inst.score, "model": inst.extra.get("model"), "bbox": list(inst.box_xywh),
            "version": inst.extra.get("version"), "reviewed_by": inst.extra.get("reviewed_by")}


def _filtered(session: Session, q, domain: Domain | None, *, statuses: Sequence[str], image_id: int | None,
              class_ref: str | int | None, model: str | None, min_score: float | None, max_score: float | None):
    """``q`` (over Annotation joined to OntologyClass and outer-joined to Proposal) narrowed by the
    review filters. Scores and models are those of the proposal an annotation came from: an
    annotation drawn by a reviewer has neither, so a score or model filter leaves it out."""
    if min_score is not None and max_score is not None and min_score > max_score:
        raise ReviewError(f"min_score {min_score:g} is above max_score {max_score:g}: nothing can match")
    q = q.where(Annotation.status.in_(list(statuses)))
    if domain is not None:
        q = q.where(OntologyClass.domain_id == domain.id)
    if class_ref is not None:
        if domain is None:
            raise ReviewError("a class filter needs a domain")
        q = q.where(Annotation.class_id == resolve_class(session, class_ref, domain.id).id)
    if image_id is not None:
        q = q.where(Annotation.image_id == image_id) if _plausible_id(image_id) else q.where(False)
    if model is not None:
        name, _, version = model.partition("@")
        q = q.where(Proposal.model_name == name)
        if version:
            q = q.where(Proposal.model_version.startswith(version, autoescape=True))
    if min_score is not None:
        q = q.where(Proposal.score >= min_score)
    if max_score is not None:
        q = q.where(Proposal.score <= max_score)
    return q


def list_annotations(
    session: Session,
    domain: Domain | None = None,
    *,
    statuses: Sequence[str] = ("pending",),
    image_id: int | None = None,
    class_ref: str | None = None,
    model: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    limit: int | None = 50,
) -> list[Instance]:
    """Annotations to look at, lowest proposal score first (the doubtful ones); ``limit`` None
    (or 0) for all.

    Each is an :class:`~corpus.instances.Instance` (``score`` and ``label``: those of the proposal
    it came from, if any); its review state is in ``extra`` and readable as attributes:
    ``status``, ``origin``, ``version``, ``reviewed_by``, ``model`` ("name@version" of the proposal),
    ``synset`` and ``file`` (the image's path in the data folder). :func:`annotation_record`
    makes a plain record of one."""
    q = (select(Annotation, OntologyClass.name, OntologyClass.synset, Proposal.score, Image.local_path,
                Proposal.model_name, Proposal.model_version, Proposal.detector_label)
         .join(OntologyClass, OntologyClass.id == Annotation.class_id)
         .join(Image, Image.id == Annotation.image_id)
         .outerjoin(Proposal, Proposal.id == Annotation.proposal_id))
    q = _filtered(session, q, domain, statuses=statuses, image_id=image_id, class_ref=class_ref, model=model,
                  min_score=min_score, max_score=max_score)
    q = q.order_by(Proposal.score.is_(None), Proposal.score, Annotation.id)
    if limit:
        q = q.limit(limit)
    out = []
    for ann, name, synset, score, path, mname, mversion, label in session.execute(q):
        out.append(Instance.from_annotation(
            ann, name, label=label, score=score, file=path or "", synset=synset, status=ann.status,
            origin=ann.origin, version=ann.version, reviewed_by=ann.reviewed_by,
            model=f"{mname}@{mversion}" if mname else None))
    return out


def matching_annotation_ids(
    session: Session,
    domain: Domain | None = None,
    *,
    statuses: Sequence[str] = ("pending",),
    image_id: int | None = None,
    class_ref: str | int | None = None,
    model: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
) -> list[int]:
    """Ids of the annotations matching the filters (pending ones by default), in id order.

    ``model``: a model name, or ``name@version`` (a version prefix will do)."""
    q = (select(Annotation.id).join(OntologyClass, OntologyClass.id == Annotation.class_id)
         .outerjoin(Proposal, Proposal.id == Annotation.proposal_id))
    q = _filtered(session, q, domain, statuses=statuses, image_id=image_id, class_ref=class_ref, model=model,
                  min_score=min_score, max_score=max_score)
    return list(session.scalars(q.order_by(Annotation.id)))


def decide_matching(session: Session, action: str, who: str, domain: Domain | None = None, *,
                    dry_run: bool = False, note: str = "", origin: str = "cli", **filters: Any) -> list[int]:
    """Accept or reject (``action``) every annotation matching ``filters`` (as for
    :func:`matching_annotation_ids`), each with its own event in the review log; with ``dry_run``
    only find them. Returns the ids (decided, or that would be)."""
    decide = {"accept": accept, "reject": reject}.get(action)
    if decide is None:
        raise ReviewError(f"bulk decisions are accept or reject, not {action!r}")
    ids = matching_annotation_ids(session, domain, **filters)
    if not dry_run:
        for i in ids:
            decide(session, i, who, note=note, origin=origin)
    return ids


# --- images whose review is done ------------------------------------------------------------
#
# "Done" is the reviewer's word that every instance on an image was looked at. It is the only
# safe reading of an untouched proposal: on a done image it was seen and kept; elsewhere it may
# never have been opened. So only done images count as reviewed (the COCO Annotator import
# accepts untouched proposals on done images only). ``image_reviews`` holds the current state,
# the review log every change.


def _domain_image_ids(domain: Domain):
    """Images holding at least one annotation of a class of ``domain`` (a subquery)."""
    return (select(Annotation.image_id).join(OntologyClass, OntologyClass.id == Annotation.class_id)
            .where(OntologyClass.domain_id == domain.id).distinct())


def mark_image_done(
    session: Session,
    image_id: int,
    *,
    reviewer: str,
    done: bool = True,
    origin: str = "cli",
    note: str = "",
    at: dt.datetime | None = None,
) -> ReviewEvent | None:
    """Declare an image's review done (or, with ``done=False``, not done any more).

    Records who and when in ``image_reviews`` and a ``done``/``undone`` event in the review log.
    Returns the event, or None when the image already was in that state (nothing recorded)."""
    if not _plausible_id(image_id) or session.get(Image, image_id) is None:
        raise ReviewError(f"image {image_id} does not exist")
    state = session.get(ImageReview, image_id)
    was = bool(state is not None and state.done)
    if was == done:
        return None
    when = at or utcnow()
    if state is None:
        state = ImageReview(image_id=image_id, done=done, changed_by=reviewer, changed_at=when)
        session.add(state)
    else:
        state.done, state.changed_by, state.changed_at = done, reviewer, when
    try:
        session.flush()
    except StaleDataError:
        raise ReviewConflict(f"image {image_id} was marked by another reviewer meanwhile; retry") from None
    event = ReviewEvent(image_id=image_id, who=reviewer, action="done" if done else "undone",
                        before={"done": was}, after={"done": done, "at": when.isoformat()},
                        origin=origin, note=note)
    session.add(event)
    session.flush()
    return event


def mark_images_done(session: Session, image_ids: Sequence[int], *, reviewer: str, done: bool = True,
                     **kw: Any) -> int:
    """:func:`mark_image_done` for several images; returns how many changed state."""
    return sum(mark_image_done(session, i, reviewer=reviewer, done=done, **kw) is not None for i in image_ids)


def done_image_ids(session: Session, domain: Domain | None = None, *, image_ids: Sequence[int] | None = None) -> set[int]:
    """Ids of images whose review is done, optionally only those of ``domain`` or among ``image_ids``."""
    q = select(ImageReview.image_id).where(ImageReview.done.is_(True))
    if domain is not None:
        q = q.where(ImageReview.image_id.in_(_domain_image_ids(domain)))
    if image_ids is not None:
        q = q.where(ImageReview.image_id.in_(list(image_ids)))
    return set(session.scalars(q))


def is_image_done(session: Session, image_id: int) -> bool:
    return bool(session.scalar(select(ImageReview.done).where(ImageReview.image_id == image_id)))


def review_image_ids(session: Session, domain: Domain | None = None) -> set[int]:
    """Images there is something to review on: those with annotations (of ``domain``)."""
    if domain is not None:
        return set(session.scalars(_domain_image_ids(domain)))
    return set(session.scalars(select(Annotation.image_id).distinct()))


def pending_counts(session: Session, image_ids: Sequence[int]) -> dict[int, int]:
    """Pending annotations per image, for the images that have any."""
    rows = session.execute(select(Annotation.image_id, func.count()).where(
        Annotation.image_id.in_(list(image_ids)), Annotation.status == "pending").group_by(Annotation.image_id))
    return {i: n for i, n in rows}


# --- undo -----------------------------------------------------------------------------------

UNDO_NOTE = "undo of event "


def undoable_event(session: Session, who: str, origin: str) -> ReviewEvent | None:
    """The reviewer's latest decision from ``origin`` that is not itself an undo and was not undone."""
    undone: set[int] = set()
    q = (select(ReviewEvent).where(ReviewEvent.who == who, ReviewEvent.origin == origin, ReviewEvent.action != "create")
         .order_by(ReviewEvent.id.desc()).limit(500))
    for ev in session.scalars(q):
        if ev.note.startswith(UNDO_NOTE):
            undone.add(int(ev.note[len(UNDO_NOTE):].split()[0]))
        elif ev.id not in undone:
            return ev
    return None


def undo(session: Session, event_id: int, who: str, *, origin: str = "cli") -> ReviewEvent:
    """Take back a decision: the annotation (or image) returns to the state the event found it in.

    The log stays append-only: the undo is a new event (action named for the state restored:
    ``reopen`` back to pending, ``accept``, ``edit``, ``reject``; ``delete`` withdraws an added
    annotation; ``undone``/``done`` for an image) whose note says which event it undoes. Refused
    when the annotation or image changed since that event (someone decided after it), like any
    stale decision."""
    ev = session.get(ReviewEvent, event_id)
    if ev is None:
        raise ReviewError(f"review event {event_id} does not exist")
    if ev.action == "create" or ev.note.startswith(UNDO_NOTE):
        raise ReviewError(f"review event {event_id} ({ev.action}) is not a decision that can be undone")
    note = f"{UNDO_NOTE}{ev.id}"
    if ev.action in IMAGE_REVIEW_ACTIONS:
        if is_image_done(session, ev.image_id) != (ev.action == "done"):
            raise ReviewConflict(f"image {ev.image_id} changed after that decision; nothing was undone")
        undone = mark_image_done(session, ev.image_id, reviewer=who, done=ev.action != "done", origin=origin, note=note)
        assert undone is not None  # the state was checked just above
        return undone
    ann = get_annotation(session, ev.annotation_id)
    after = ev.after or {}
    if ann.version != after.get("version"):
        raise ReviewConflict(
            f"annotation {ann.id} changed after that decision (now at version {ann.version}, last by "
            f"{ann.reviewed_by or 'unknown'}); nothing was undone")
    if ev.before is None:  # an annotation the reviewer added: withdraw it
        return decide(session, ann, "delete", who, status="rejected", origin=origin, note=note)
    b = ev.before
    x, y, w, h = b["bbox"]
    changes = {"class_id": b["class_id"], "segmentation": b["segmentation"], "bbox_x": x, "bbox_y": y,
               "bbox_w": w, "bbox_h": h, "area": b["area"]}
    action = {"pending": "reopen", "accepted": "accept", "edited": "edit", "rejected": "reject"}[b["status"]]
    return decide(session, ann, action, who, status=b["status"], changes=changes, origin=origin, note=note)
