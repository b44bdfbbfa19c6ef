"""The review export for COCO Annotator (github.com/jsbroks/coco-annotator), in the terms its
importer really accepts (backend/workers/tasks/data.py, ``import_annotations``):

* polygons only: an annotation without a ``segmentation`` is dropped, RLE is not read. RLE masks
  are traced into polygons; an instance without a usable mask is sent as its box (a rectangle
  polygon), so the reviewer still sees it.
* images are matched by bare ``file_name`` inside the dataset: our names are unique in the corpus
  (``<image id>-<sha1 prefix>.<ext>``), which also lets the import find the image again.
* categories are matched by ``name``, case-insensitively, across all of COCO Annotator's datasets;
  ``supercategory`` and per-annotation ``metadata`` are ignored (the annotation's metadata is
  replaced by the dataset's default on import). Names are made unique without regard to case.
* ``bbox`` and ``area`` (an integer field there) are always written.
* big files stall the import task, so the export is split into parts of ``chunk_images`` images.

Round trip: COCO Annotator gives imported annotations new ids and drops our metadata, but it keeps
the segmentation as imported, its own id from then on, and each annotation's ``color`` (a string,
stored, saved by the editor and exported again) unless the reviewer changes it. So each
annotation's colour encodes our annotation id: ``id * 0x9E3779 mod 2**24`` as ``#rrggbb``, a
bijection on 24 bits that spreads neighbouring ids over distinct colours, and
``metadata.corpus_id`` is written too. The import (corpus.coco.import_) finds our annotations by
these and by the exported shape, so a changed colour loses nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.instances import Instance
from corpus.shapes import CocoShape, ShapeError
from corpus.coco.categories import annotator_names, domain_categories, resolve_domain
from corpus.store.queries import annotations_of_classes
from corpus.coco.images import FilePlacer, file_name, image_select, license_of
from corpus.coco.writer import JsonObjectWriter
from corpus.errors import UsageError
from corpus.output import prepare_output_dir
from corpus.store.db import session_scope
from corpus.store.models import Annotation, Image

# Marks our own review files, so importing them back by mistake (instead of COCO Annotator's
# export of the reviewed dataset) is refused rather than read as "everything accepted".
GENERATOR = "mic-corpus coco-annotator export"

COLOR_MULT = 0x9E3779  # odd, so invertible modulo 2**24
COLOR_MOD = 1 << 24
COLOR_INV = pow(COLOR_MULT, -1, COLOR_MOD)


def id_color(annotation_id: int) -> str:
    return f"#{(annotation_id * COLOR_MULT) % COLOR_MOD:06x}"


def color_residue(color: Any) -> int | None:
    """``annotation id mod 2**24`` from a colour written by :func:`id_color`, or None."""
    if not isinstance(color, str) or len(color) != 7 or not color.startswith("#"):
        return None
    try:
        value = int(color[1:], 16)
    except ValueError:
        return None
    return (value * COLOR_INV) % COLOR_MOD


def category_color(synset: str) -> str:
    return f"#{zlib.crc32(synset.encode()) & 0xFFFFFF:06x}"


@dataclass
class AnnotatorExportOptions:
    domain: str | None = None
    statuses: tuple[str, ...] = ("pending",)  # images with at least one such annotation go out
    chunk_images: int = 250
    files: str = "copy"
    open_proposals: bool = False  # first create pending annotations on images that have none
    min_score: float = 0.0
    # The same policy as the training export: review work on an image the training export would
    # leave out is wasted, and its file must not be copied anywhere it is not allowed to go.
    license_policy: str = "default"


@dataclass
class AnnotatorExportSummary:
    out_dir: Path
    domain: str
    parts: list[Path] = field(default_factory=list)
    categories_file: Path | None = None
    images: int = 0
    annotations: int = 0
    opened: int = 0  # pending annotations created from proposals
    box_only: int = 0
    converted: int = 0
    missing_files: int = 0
    invalid: int = 0  # annotations left out: a shape unsafe to rasterise (see corpus.shapes)
    skipped_license: Counter = field(default_factory=Counter)  # reason -> images
    policy: str = ""
    exported_at: str = ""


def _shape(ann: Any, width: int, height: int) -> CocoShape | None:
    """The annotation as sent to COCO Annotator (polygons only), or None if its shape is unusable."""
    try:
        return Instance.from_annotation(ann).to_coco(width, height, "polygon")
    except ShapeError:
        return None


def exported_polygons(ann: Any, width: int, height: int) -> list[list[float]]:
    """The polygons this annotation was (or would be) sent to COCO Annotator as ([] if none)."""
    shape = _shape(ann, width, height)
    return shape.segmentation if shape is not None else []


def export_coco_annotator(
    engine: Engine,
    out_dir: Path,
    data_dir: Path,
    opts: AnnotatorExportOptions | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> AnnotatorExportSummary:
    """Write ``OUT/images/*`` and ``OUT/annotations/part-NNNN.json`` for COCO Annotator."""
    from corpus.licenses import LicensePolicy
    from corpus.review import open_proposals

    opts = opts or AnnotatorExportOptions()
    if opts.chunk_images < 1:
        raise UsageError("chunk_images must be at least 1")
    policy = LicensePolicy.parse(opts.license_policy)
    out_dir = Path(out_dir)
    placer = FilePlacer(data_dir, opts.files)

    # Domain and folder are checked before anything changes (--open-proposals writes to the store).
    with Session(engine) as session:
        resolve_domain(session, opts.domain)
    prepare_output_dir(out_dir)
    prepare_output_dir(out_dir / "annotations", "annotations folder")

    if opts.open_proposals:
        with session_scope(engine) as session:
            dom = resolve_domain(session, opts.domain)
            opened = open_proposals(session, dom, min_score=opts.min_score)
    else:
        opened = 0

    with Session(engine) as session:
        dom = resolve_domain(session, opts.domain)
        cats = domain_categories(session, dom)
        names = annotator_names(cats)
        cat_id = {c.class_id: c.id for c in cats}
        summary = AnnotatorExportSummary(out_dir=out_dir, domain=dom.name, opened=opened, policy=policy.describe(),
                                         exported_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        categories = [{"id": c.id, "name": names[c.class_id], "supercategory": c.supercategory,
                       "color": category_color(c.synset), "metadata": {}, "keypoints": [], "skeleton": []}
                      for c in cats]
        (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
        info = {"generator": GENERATOR, "domain": dom.name, "exported_at": summary.exported_at}
        cw = JsonObjectWriter(out_dir / "annotations" / "categories.json")
        cw.member("info", info)
        cw.member("images", [])
        cw.member("annotations", [])
        cw.member("categories", categories)
        summary.categories_file = cw.close()

        domain_classes = list(cat_id)
        wanted = select(Annotation.image_id).where(Annotation.status.in_(opts.statuses),
                                                   annotations_of_classes(domain_classes))
        q = image_select().where(Image.id.in_(wanted)).order_by(Image.id)
        chunk: list[tuple[Any, str, tuple[int, int]]] = []
        part = 0

        def flush_chunk() -> None:
            nonlocal part
            if not chunk:
                return
            part += 1
            w = JsonObjectWriter(out_dir / "annotations" / f"part-{part:04d}.json")
            try:
                w.member("info", info)
                w.member("categories", categories)
                w.begin_array("images")
                for row, name, (width, height) in chunk:
                    w.item({"id": row.id, "file_name": name, "width": width, "height": height})
                w.end_array()
                w.begin_array("annotations")
                sizes = {row.id: size for row, _, size in chunk}
                anns = session.scalars(
                    select(Annotation).where(Annotation.image_id.in_(list(sizes)), Annotation.status != "rejected",
                                             annotations_of_classes(domain_classes))
                    .order_by(Annotation.image_id, Annotation.id)
                )
                for ann in anns:
                    width, height = sizes[ann.image_id]
                    entry, note = Instance.from_annotation(ann).coco(width, height, "polygon",
                                                                     category_id=cat_id[ann.class_id])
                    if entry is None:  # unsafe to rasterise (a store older than the shape checks)
                        summary.invalid += 1
                        continue
                    summary.box_only += note == "box"
                    summary.converted += note == "converted"
                    # COCO Annotator's own fields: integer area, boolean flags, a colour per
                    # instance and our ids, by which the import matches its edits back.
                    entry.update(area=int(round(entry["area"])), iscrowd=False, isbbox=False, color=id_color(ann.id),
                                 metadata={"corpus_id": ann.id, "corpus_version": ann.version, "status": ann.status})
                    w.item(entry)
                    summary.annotations += 1
                w.end_array()
                summary.parts.append(w.close())
            except BaseException:
                w.abort()
                raise
            session.expunge_all()
            chunk.clear()

        for row in session.execute(q.execution_options(yield_per=1000)):
            reason = policy.reason(license_of(row))
            if reason:
                summary.skipped_license[reason] += 1
                continue
            found = placer.locate(row)
            if found is None:
                summary.missing_files += 1
                continue
            src, size = found
            name = file_name(row.id, row.sha1, row.local_path, row.mime)
            if src is not None:
                placer.place(src, out_dir / "images" / name)
            chunk.append((row, name, size))
            summary.images += 1
            if progress:
                progress("images", 1)
            if len(chunk) >= opts.chunk_images:
                flush_chunk()
        flush_chunk()
    return summary


__all__ = ["AnnotatorExportOptions", "AnnotatorExportSummary", "export_coco_annotator", "id_color", "color_residue",
           "exported_polygons"]
