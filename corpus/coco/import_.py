"""Import COCO Annotator exports back into the store as review decisions.

For each image in the file, each of our annotations on it ends as one of:

* ``accepted`` - still there, same class, same shape (within ``iou_unchanged``): action accept;
* ``edited`` - other shape (action edit) or other class only (action relabel): status edited;
* ``deleted`` - gone from the file: status rejected, action delete;

and each annotation of the file that is not ours is ``added`` (status accepted, action add,
``external_id`` = ``coco-annotator:<its id>``, which makes a second import find it again).
Images not in the file are left alone (COCO Annotator's exporter stops at the first image without
annotations, so a missing image says nothing).

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

from corpus.coco import masks
from corpus.coco.categories import annotator_names, domain_categories, resolve_domain
from corpus.coco.coco_annotator import GENERATOR, color_residue, exported_polygons
from corpus.coco.images import parse_file_name
from corpus.coco.validate import CaAnnotation, CaFile, InvalidInput, load_json, parse_coco_annotator
from corpus.review import _decide, add, as_utc, default_reviewer, geometry
from corpus.store.db import session_scope
from corpus.store.models import Annotation, Image

OUTCOMES = ("accepted", "edited", "relabeled", "deleted", "added", "unchanged", "conflict", "new-since-export")

_CA_NAME = re.compile(r"coco-(\d{9,11}(?:\.\d+)?)\.json$")


def file_time(path: Path, as_of: dt.datetime | None = None) -> tuple[dt.datetime, str]:
    """When the file was exported, and how we know."""
    m = _CA_NAME.search(path.name)
    if m:
        return dt.datetime.fromtimestamp(float(m.group(1)), dt.timezone.utc), "file name"
    if as_of is not None:
        return as_utc(as_of), "time given (as_of)"
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
        img = session.get(Image, parsed[0]) if parsed else None
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
        where = f"annotation {a.id} (image {a.image_id})"
        if masks.is_rle(a.segmentation) and [int(v) for v in a.segmentation["size"]] != [h, w]:
            problems.append(f"{where}: RLE size {a.segmentation['size']} is not the image's [height, width] [{h}, {w}]")
        elif masks.area(a.segmentation, h, w) <= 0:
            problems.append(f"{where}: the shape covers no pixel of the {w}x{h} image (redraw or delete it)")
    used = {a.category_id for a in ca.annotations}
    for cid in sorted(used):
        cat = ca.categories[cid]
        if cat.name.strip().casefold() not in ctx.class_by_name:
            problems.append(f"category {cid} {cat.name!r} is not a class of this domain "
                            "(add it to the ontology first, or relabel those annotations)")
    if problems:
        raise InvalidInput(ca.path, problems)
    return images


def _match(fa: CaAnnotation, ours: dict[int, Annotation], by_residue: dict[int, int], by_external: dict[str, int]) -> int | None:
    cid = fa.metadata.get("corpus_id")
    if isinstance(cid, int) and cid in ours:
        return cid
    r = color_residue(fa.color)
    if r is not None and r in by_residue:
        return by_residue[r]
    return by_external.get(f"coco-annotator:{fa.id}")


def _apply_file(session, ca: CaFile, when: dt.datetime, ctx: _Context, who: str, report: ImportReport,
                iou_unchanged: float) -> None:
    images = _resolve_file(session, ca, ctx)
    origin = f"coco-annotator:{ca.path.name}"
    note = f"COCO Annotator export of {when.isoformat(timespec='seconds')}"
    by_image: dict[int, list[CaAnnotation]] = {}
    for fa in ca.annotations:
        by_image.setdefault(fa.image_id, []).append(fa)
    report.warnings.extend(f"{ca.path.name}: {s}" for s in ca.skipped)

    for ca_image_id, img in images.items():
        report.images += 1
        width, height = int(img.width or 0), int(img.height or 0)
        ours = {a.id: a for a in session.scalars(
            select(Annotation).where(Annotation.image_id == img.id, Annotation.class_id.in_(ctx.class_ids))
            .order_by(Annotation.id))}
        by_residue = {aid % (1 << 24): aid for aid in ours}
        by_external = {a.external_id: a.id for a in ours.values() if a.external_id}
        seen: set[int] = set()

        def out(kind: str, ann_id: int | None, fa: CaAnnotation | None, detail: str = "") -> None:
            report.counts[kind] += 1
            report.outcomes.append(Outcome(kind, ann_id, fa.id if fa else None, img.id, detail))

        for fa in by_image.get(ca_image_id, []):
            new_class = ctx.class_by_name[ca.categories[fa.category_id].name.strip().casefold()]
            ann_id = _match(fa, ours, by_residue, by_external)
            if ann_id is not None and ann_id in seen:
                report.warnings.append(f"{ca.path.name}: annotation {fa.id} repeats our annotation {ann_id} "
                                       "(copied in the editor?); imported as a new one")
                ann_id = None
            if ann_id is None:
                _, ev = add(session, img.id, new_class, who, segmentation=fa.segmentation, bbox=fa.bbox,
                            origin=origin, note=note, external_id=f"coco-annotator:{fa.id}", at=when)
                out("added", ev.annotation_id, fa)
                continue
            seen.add(ann_id)
            ann = ours[ann_id]
            old = exported_polygons(ann, width, height)
            shape_changed = not masks.same_polygons(old, fa.segmentation) if masks.is_polygons(fa.segmentation) else True
            if shape_changed and width and height:
                shape_changed = masks.iou(old, fa.segmentation, height, width) < iou_unchanged
            class_changed = new_class != ann.class_id
            changed = shape_changed or class_changed
            newer = ann.reviewed_at is not None and as_utc(ann.reviewed_at) > when
            if not changed and ann.status in ("accepted", "edited"):
                out("unchanged", ann_id, fa)
                continue
            if newer:
                msg = (f"annotation {ann_id} (image {img.id}): reviewed by {ann.reviewed_by} at "
                       f"{as_utc(ann.reviewed_at).isoformat(timespec='seconds')}, after this file was exported "
                       f"({when.isoformat(timespec='seconds')}); the store keeps status {ann.status}, the file says "
                       + ("edited" if changed else "accepted"))
                report.conflicts.append(f"{ca.path.name}: {msg}")
                out("conflict", ann_id, fa, msg)
                continue
            if not changed:
                _decide(session, ann, "accept", who, status="accepted", origin=origin, note=note, at=when)
                out("accepted", ann_id, fa)
                continue
            changes: dict[str, Any] = {"class_id": new_class, "external_id": f"coco-annotator:{fa.id}"}
            if shape_changed:
                changes.update(geometry(fa.segmentation, fa.bbox, width, height))
            action = "edit" if shape_changed else "relabel"
            _decide(session, ann, action, who, status="edited", changes=changes, origin=origin, note=note, at=when)
            out("edited" if shape_changed else "relabeled", ann_id, fa)

        for ann_id, ann in ours.items():
            if ann_id in seen or ann.status == "rejected":
                continue
            if as_utc(ann.created_at) > when:
                out("new-since-export", ann_id, None)
                continue
            if ann.reviewed_at is not None and as_utc(ann.reviewed_at) > when:
                msg = (f"annotation {ann_id} (image {img.id}): deleted in the file, but reviewed by "
                       f"{ann.reviewed_by} ({ann.status}) after the file was exported; kept")
                report.conflicts.append(f"{ca.path.name}: {msg}")
                out("conflict", ann_id, None, msg)
                continue
            _decide(session, ann, "delete", who, status="rejected", origin=origin, note=note, at=when)
            out("deleted", ann_id, None)


def import_coco_annotator(
    engine: Engine,
    paths: Sequence[Path | str],
    *,
    domain: str | None = None,
    who: str | None = None,
    as_of: dt.datetime | None = None,
    dry_run: bool = False,
    iou_unchanged: float = 0.99,
) -> ImportReport:
    """Read COCO Annotator exports and record the reviewer's decisions; see the module docstring."""
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

    class _DryRun(Exception):
        pass

    try:
        with session_scope(engine) as session:
            dom = resolve_domain(session, domain)
            ctx = _Context(dom.id, _category_map(session, dom))
            for ca, _ in files:  # resolve all before applying any
                _resolve_file(session, ca, ctx)
            for ca, when in files:
                _apply_file(session, ca, when, ctx, who, report, iou_unchanged)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report
