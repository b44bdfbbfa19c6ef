"""Import COCO Annotator exports back into the store as review decisions.

For each image in the file, each of our annotations on it ends as one of:

* ``edited`` - other shape (action edit) or other class only (action relabel): status edited;
* ``deleted`` - gone from the file: status rejected, action delete;
* ``accepted`` - still there, same class, same shape (within ``iou_unchanged``), on an image
  whose review is done: action accept;
* ``untouched`` - the same, on an image not declared done: left as it is. A file holds every
  image of an export part whether or not the reviewer opened it, so "still in the file" alone
  says nothing; only the reviewer's word that an image is done (``done``, or
  :func:`corpus.review.mark_image_done` before) turns untouched proposals into accepted ones;

and each annotation of the file that is not ours is ``added`` (status accepted, action add,
``external_id`` = ``coco-annotator:<its id>``, which makes a second import find it again).
Edits, deletions and additions are explicit acts and are recorded whether or not the image is
done. Images not in the file are left alone (COCO Annotator's exporter stops at the first image
without annotations, so a missing image says nothing).

Finding our annotations again: COCO Annotator gives them its own ids and replaces their metadata
on import, but keeps the segmentation it imported (it matches annotations by image, category and
segmentation itself), its own id from then on, and the colour unless the reviewer changes it.
So a file annotation is ours, in this order, by: ``metadata.corpus_id`` (kept by some versions),
COCO Annotator's id recorded at an earlier import, the exact shape we exported on that image,
the colour that encodes our id, and finally (recoloured *and* reshaped) the best mask overlap
(IoU >= 0.5) among what is left on the image.

Time decides between a file and other reviews: each file has an export time (COCO Annotator names
its exports ``coco-<unix time>.json``; else ``as_of``, else the file's modification time), and an
import records its decisions with that time as ``reviewed_at``. A file never overrides a review
made after it was exported: where they disagree, that is a conflict, reported and left as the
store has it. Re-importing a file changes nothing (the store already says what it says).

Everything is checked before anything is written, and all files go in one transaction: a bad file
(or a concurrent writer, caught by the version column) leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine

from corpus import masks
from corpus.coco.categories import annotator_names, domain_categories, resolve_domain
from corpus.coco.coco_annotator import GENERATOR, color_residue, exported_polygons
from corpus.coco.images import parse_file_name
from corpus.coco.validate import CaFile, InvalidInput, load_json, parse_coco_annotator
from corpus import shapes
from corpus.errors import UsageError
from corpus.instances import Instance
from corpus.review import (MAX_ID, add, as_utc, decide, default_reviewer, done_image_ids, geometry,
                           mark_image_done)
from corpus.store.db import session_scope
from corpus.store.models import Annotation, Image

OUTCOMES = ("accepted", "edited", "relabeled", "deleted", "added", "unchanged", "untouched", "conflict",
            "new-since-export")

# Below this mask overlap a recoloured annotation is not taken for ours (deleted and drawn anew).
MATCH_IOU = 0.5

_CA_NAME = re.compile(r"coco-(\d{9,11}(?:\.\d+)?)\.json$")


def file_time(path: Path, as_of: dt.datetime | None = None) -> tuple[dt.datetime, str]:
    """When the file was exported, and how we know."""
    m = _CA_NAME.search(path.name)
    if m:
        return dt.datetime.fromtimestamp(float(m.group(1)), dt.timezone.utc), "file name"
    if as_of is not None:
        return as_utc(as_of), "given time"
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc), "file modification time"


@dataclass
class Outcome:
    kind: str
    annotation_id: int | None
    external_id: int | None
    image_id: int
    detail: str = ""


@dataclass
class ImportReport:
    files: list[tuple[Path, dt.datetime, str]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    images: int = 0
    dry_run: bool = False
    done_images: int = 0  # images of the files whose review is done (declared or in the store)
    images_not_done: int = 0
    untouched_accepted: int = 0  # untouched proposals accepted because their image is done
    untouched_left: int = 0  # untouched proposals left as they were (image not done)
    marked_done: int = 0  # images this import marked done in the store


@dataclass
class _Context:
    domain_id: int
    class_by_name: dict[str, int]  # casefolded category name -> class id

    @property
    def class_ids(self) -> list[int]:
        return sorted(set(self.class_by_name.values()))


def _category_map(session, domain) -> dict[str, int]:
    cats = domain_categories(session, domain)
    out: dict[str, int] = {}
    plain: Counter = Counter(c.name.casefold() for c in cats)
    for c in cats:
        out[c.synset.casefold()] = c.class_id
        if plain[c.name.casefold()] == 1:
            out[c.name.casefold()] = c.class_id
    for class_id, name in annotator_names(cats).items():
        out[name.casefold()] = class_id
    return out


def _resolve_file(session, ca: CaFile, ctx: _Context) -> dict[int, Image]:
    """Map the file's images to ours and check its categories; raise InvalidInput on any miss."""
    problems: list[str] = []
    images: dict[int, Image] = {}
    for im in ca.images:
        parsed = parse_file_name(im.file_name)
        img = session.get(Image, parsed[0]) if parsed and 0 < parsed[0] <= MAX_ID else None
        if img is None or (parsed[1] and (img.sha1 or "")[:10] != parsed[1]):
            problems.append(f"image {im.id}: file {im.file_name!r} is not an image of this store "
                            "(names come from `corpus export coco-annotator`: <id>-<sha1>.<ext>)")
            continue
        images[im.id] = img
    for a in ca.annotations:  # shapes against the image as we store it, so the export agrees
        img = images.get(a.image_id)
        w, h = (int(img.width or 0), int(img.height or 0)) if img is not None else (0, 0)
        if not (w and h):
            continue
        # The file's bbox is COCO Annotator's own reckoning; the mask decides, so only the mask
        # is checked (and the box is taken from it when the shape is recorded).
        if problem := shapes.shape_problem(a.mask, None, w, h):
            problems.append(f"annotation {a.id} (image {a.image_id}): {problem}"
                            + (" (redraw or delete it)" if "covers no pixel" in problem else ""))
    used = {a.extra["category_id"] for a in ca.annotations}
    for cid in sorted(used):
        cat = ca.categories[cid]
        if cat.name.strip().casefold() not in ctx.class_by_name:
            problems.append(f"category {cid} {cat.name!r} is not a class of this domain "
                            "(add it to the ontology first, or relabel those annotations)")
    if problems:
        raise InvalidInput(ca.path, problems)
    return images


def _pair(fas: list[Instance], ours: dict[int, Annotation], width: int, height: int,
          warnings: list[str], fname: str) -> dict[int, int]:
    """File annotation id -> our annotation id, for the file annotations that are ours."""
    pairs: dict[int, int] = {}
    free = dict(ours)  # ours not matched yet
    exported = {aid: exported_polygons(a, width, height) for aid, a in ours.items()}
    by_external = {a.external_id: aid for aid, a in ours.items() if a.external_id}

    def take(fa: Instance, aid: int) -> None:
        pairs[fa.id] = aid
        del free[aid]

    def residue_id(fa: Instance) -> int | None:
        r = color_residue(fa.extra["color"])
        return next((aid for aid in ours if aid % (1 << 24) == r), None) if r is not None else None

    rest = list(fas)
    for step in ("metadata", "external", "shape", "colour"):
        left = []
        for fa in rest:
            aid: int | None = None
            if step == "metadata":
                cid = fa.extra["metadata"].get("corpus_id")
                aid = cid if isinstance(cid, int) and not isinstance(cid, bool) else None
            elif step == "external":
                aid = by_external.get(f"coco-annotator:{fa.id}")
            elif step == "shape" and masks.is_polygons(fa.mask):
                same = [a for a in free if masks.same_polygons(exported[a], fa.mask)]
                if len(same) > 1:  # identical shapes: the colour, then the class, decide
                    same.sort(key=lambda a: (a != residue_id(fa), ours[a].class_id != fa.extra["category_id"]))
                aid = same[0] if same else None
            elif step == "colour":
                aid = residue_id(fa)
                if aid is not None and aid not in free:
                    warnings.append(f"{fname}: annotation {fa.id} has the colour of our annotation {aid}, "
                                    "already found (copied in the editor?)")
            if aid is not None and aid in free:
                take(fa, aid)
            else:
                left.append(fa)
        rest = left
    if rest and free and width and height:  # recoloured and reshaped: the best overlap left
        cands = sorted(((masks.iou(exported[aid], fa.mask, height, width), fa.id, aid)
                        for fa in rest for aid in free), reverse=True)
        by_id = {fa.id: fa for fa in rest}
        for score, fid, aid in cands:
            if score < MATCH_IOU:
                break
            if fid in by_id and aid in free:
                take(by_id.pop(fid), aid)
    return pairs


def _apply_file(session, ca: CaFile, when: dt.datetime, ctx: _Context, who: str, report: ImportReport,
                iou_unchanged: float, declared_done: set[int] | None) -> None:
    images = _resolve_file(session, ca, ctx)
    origin = f"coco-annotator:{ca.path.name}"
    note = f"COCO Annotator export of {when.isoformat(timespec='seconds')}"
    by_image: dict[int, list[Instance]] = {}
    for fa in ca.annotations:
        by_image.setdefault(fa.image_id, []).append(fa)
    report.warnings.extend(f"{ca.path.name}: {s}" for s in ca.skipped)
    store_done = done_image_ids(session, image_ids=[img.id for img in images.values()])

    for ca_image_id, img in images.items():
        report.images += 1
        if declared_done is not None and (not declared_done or img.id in declared_done) and img.id not in store_done:
            if mark_image_done(session, img.id, reviewer=who, origin=origin, note="declared done at import"):
                report.marked_done += 1
            store_done.add(img.id)
        done = img.id in store_done
        report.done_images += done
        report.images_not_done += not done
        width, height = int(img.width or 0), int(img.height or 0)
        ours = {a.id: a for a in session.scalars(
            select(Annotation).where(Annotation.image_id == img.id, Annotation.class_id.in_(ctx.class_ids))
            .order_by(Annotation.id))}
        fas = by_image.get(ca_image_id, [])
        pairs = _pair(fas, ours, width, height, report.warnings, ca.path.name)
        seen: set[int] = set()

        def out(kind: str, ann_id: int | None, fa: Instance | None, detail: str = "") -> None:
            report.counts[kind] += 1
            report.outcomes.append(Outcome(kind, ann_id, fa.id if fa else None, img.id, detail))

        for fa in fas:
            new_class = ctx.class_by_name[fa.class_name.strip().casefold()]
            ann_id = pairs.get(fa.id)
            if ann_id is None:
                _, ev = add(session, img.id, new_class, who, segmentation=fa.mask, bbox=None,
                            origin=origin, note=note, external_id=f"coco-annotator:{fa.id}", at=when)
                out("added", ev.annotation_id, fa)
                continue
            seen.add(ann_id)
            ann = ours[ann_id]
            old = exported_polygons(ann, width, height)
            shape_changed = not masks.same_polygons(old, fa.mask) if masks.is_polygons(fa.mask) else True
            if shape_changed and width and height:
                shape_changed = masks.iou(old, fa.mask, height, width) < iou_unchanged
            class_changed = new_class != ann.class_id
            changed = shape_changed or class_changed
            newer = ann.reviewed_at is not None and as_utc(ann.reviewed_at) > when
            if not changed and ann.status in ("accepted", "edited"):
                out("unchanged", ann_id, fa)
                continue
            if not changed and not done:  # still in the file says nothing: maybe never opened
                report.untouched_left += 1
                out("untouched", ann_id, fa)
                continue
            if newer:
                msg = (f"annotation {ann_id} (image {img.id}): reviewed by {ann.reviewed_by} at "
                       f"{as_utc(ann.reviewed_at).isoformat(timespec='seconds')}, after this file was exported "
                       f"({when.isoformat(timespec='seconds')}); the store keeps status {ann.status}, the file says "
                       + ("edited" if changed else "accepted"))
                report.conflicts.append(f"{ca.path.name}: {msg}")
                out("conflict", ann_id, fa, msg)
                continue
            # COCO Annotator's id is kept with every decision, so a later file finds the
            # annotation by it even if its colour and shape both changed meanwhile.
            changes: dict[str, Any] = {"external_id": f"coco-annotator:{fa.id}"}
            if not changed:
                decide(session, ann, "accept", who, status="accepted", changes=changes, origin=origin, note=note,
                        at=when)
                report.untouched_accepted += 1
                out("accepted", ann_id, fa)
                continue
            changes["class_id"] = new_class
            if shape_changed:
                changes.update(geometry(fa.mask, None, width, height))
            action = "edit" if shape_changed else "relabel"
            decide(session, ann, action, who, status="edited", changes=changes, origin=origin, note=note, at=when)
            out("edited" if shape_changed else "relabeled", ann_id, fa)

        for ann_id, ann in ours.items():
            if ann_id in seen or ann.status == "rejected":
                continue
            if as_utc(ann.created_at) > when:
                out("new-since-export", ann_id, None)
                continue
            if any(o in seen and ours[o].class_id == ann.class_id
                   and exported_polygons(ours[o], width, height) == exported_polygons(ann, width, height)
                   for o in ours if o != ann_id):
                # COCO Annotator's import merges an annotation into one it already holds with the
                # same image, category and segmentation: its twin came back, it was not deleted.
                report.warnings.append(f"{ca.path.name}: annotation {ann_id} (image {img.id}) has the same class "
                                       "and shape as another; COCO Annotator kept one of the two: left as it is")
                out("untouched", ann_id, None)
                continue
            if ann.reviewed_at is not None and as_utc(ann.reviewed_at) > when:
                msg = (f"annotation {ann_id} (image {img.id}): deleted in the file, but reviewed by "
                       f"{ann.reviewed_by} ({ann.status}) after the file was exported; kept")
                report.conflicts.append(f"{ca.path.name}: {msg}")
                out("conflict", ann_id, None, msg)
                continue
            decide(session, ann, "delete", who, status="rejected", origin=origin, note=note, at=when)
            out("deleted", ann_id, None)


def _declared_done(done: str | Sequence[int] | None, files: list[tuple[CaFile, dt.datetime]]) -> set[int] | None:
    """Our image ids the caller declares done: None (none), an empty set (all), or the ids, each of
    which must be an image of the files."""
    if done is None:
        return None
    if isinstance(done, str):
        if done.strip().lower() != "all":
            raise UsageError(f"done must be 'all' or image ids, not {done!r}", param="done")
        return set()
    ids = {int(i) for i in done}
    in_files = {parsed[0] for ca, _ in files for im in ca.images if (parsed := parse_file_name(im.file_name))}
    missing = sorted(ids - in_files)
    if missing:
        raise InvalidInput(files[0][0].path if files else Path("."),
                           [f"done: image {i} is not in the imported file(s)" for i in missing])
    return ids


def import_coco_annotator(
    engine: Engine,
    paths: Sequence[Path | str],
    *,
    domain: str | None = None,
    who: str | None = None,
    as_of: dt.datetime | None = None,
    dry_run: bool = False,
    iou_unchanged: float = 0.99,
    done: str | Sequence[int] | None = None,
) -> ImportReport:
    """Read COCO Annotator exports and record the reviewer's decisions; see the module docstring.

    ``done``: the images the reviewer declares done, ``"all"`` (every image of the files) or our
    image ids; they are marked done in the store, and untouched proposals on them (and on images
    already done in the store) are accepted. By default no untouched proposal is accepted."""
    who = who or default_reviewer()
    report = ImportReport(dry_run=dry_run)
    files: list[tuple[CaFile, dt.datetime]] = []
    for p in paths:  # parse every file before touching the store
        p = Path(p)
        data = load_json(p)
        if isinstance(data, dict) and isinstance(data.get("info"), dict) and data["info"].get("generator") == GENERATOR:
            raise InvalidInput(p, ["this is a file `corpus export coco-annotator` wrote, not COCO Annotator's export "
                                   "of the reviewed dataset: import it into COCO Annotator, review, then export there"])
        ca = parse_coco_annotator(data, p)
        when, how = file_time(p, as_of)
        files.append((ca, when))
        report.files.append((p, when, how))
    files.sort(key=lambda f: f[1])  # older first, so a newer file has the last word
    declared = _declared_done(done, files)

    class _DryRun(Exception):
        pass

    try:
        with session_scope(engine) as session:
            dom = resolve_domain(session, domain)
            ctx = _Context(dom.id, _category_map(session, dom))
            for ca, _ in files:  # resolve all before applying any
                _resolve_file(session, ca, ctx)
            for ca, when in files:
                _apply_file(session, ca, when, ctx, who, report, iou_unchanged, declared)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report
