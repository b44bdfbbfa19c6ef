"""The training export: COCO instances JSON, streamed, with splits, licenses and image files.

Layout of ``OUT``::

    annotations/instances.json            (or instances_<split>.json per split)
    images/<file_name>                    (or images/<split>/<file_name>)

The writer makes two passes over the store, images then annotations, each a server-side
iteration of plain rows in batches; every entry is encoded and written as it comes. What stays in
memory is the category list and, per run, the few images whose file is missing. So memory does not
grow with the corpus (see ``bench/export.py``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.instances import Instance
from corpus.coco.categories import Category, domain_categories, resolve_domain
from corpus.store.queries import annotations_of_classes
from corpus.coco.images import FilePlacer, file_name, image_entry, image_select, license_entry, license_of
from corpus.coco.splits import Splits, split_key, split_of
from corpus.coco.writer import JsonObjectWriter, Spool
from corpus.errors import UsageError
from corpus.output import prepare_output_dir
from corpus.store.models import REVIEW_STATUSES, Annotation, ImageReview, Image

Progress = Callable[[str, int], None]  # (stage, rows done since the last call)

STATUS_ALIASES = {
    # "accepted" means what a trainer wants: every instance a reviewer let through, as is or edited.
    "accepted": ("accepted", "edited"),
    "reviewed": ("accepted", "edited"),
    "all": REVIEW_STATUSES,
}


def parse_statuses(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"accepted"`` -> (accepted, edited); ``"pending,edited"``; ``"all"``."""
    tokens = spec.split(",") if isinstance(spec, str) else [t for s in spec for t in s.split(",")]
    out: list[str] = []
    for t in (t.strip().lower() for t in tokens):
        if not t:
            continue
        for s in STATUS_ALIASES.get(t, (t,)):
            if s not in REVIEW_STATUSES:
                raise UsageError(f"unknown review status {t!r}; use {', '.join((*REVIEW_STATUSES, 'reviewed', 'all'))}")
            if s not in out:
                out.append(s)
    if not out:
        raise UsageError("no review status given")
    return tuple(out)


@dataclass
class CocoExportOptions:
    domain: str | None = None
    statuses: tuple[str, ...] = ("accepted", "edited")
    splits: Splits | None = None
    seed: int = 0
    segmentation: str = "polygon"  # or "rle"
    files: str = "copy"  # copy | link | symlink | none
    license_policy: str = "default"
    batch: int = 5000
    # Only images whose review is done (corpus.review.mark_image_done): the strict reading of
    # "reviewed", where an untouched annotation on an unfinished image is not yet truth.
    done_only: bool = False


@dataclass
class CocoExportSummary:
    out_dir: Path
    domain: str
    files: dict[str, Path] = field(default_factory=dict)
    images: Counter = field(default_factory=Counter)
    annotations: Counter = field(default_factory=Counter)
    categories: int = 0
    skipped_license: Counter = field(default_factory=Counter)  # reason -> images
    missing_files: int = 0
    box_only: int = 0  # annotations without a usable mask, written as their box
    empty: int = 0  # annotations left out: neither mask nor box covers a pixel
    invalid: int = 0  # annotations left out: a shape unsafe to rasterise (see corpus.shapes)
    converted: int = 0  # polygon <-> RLE conversions
    fallback_categories: list[str] = field(default_factory=list)
    policy: str = ""


def annotation_entry(row: Any, category_id: int, mode: str, width: int, height: int) -> tuple[dict[str, Any] | None, str]:
    """One COCO annotation from a store row (an ``Annotation`` or a row of ANNOTATION_COLUMNS),
    and a note on its mask: see :meth:`corpus.instances.Instance.coco`, the one conversion the
    exports and evaluate share (box and area from the mask written; None for an instance that
    covers no pixel or is unsafe to rasterise)."""
    return Instance.from_annotation(row).coco(width, height, mode, category_id=category_id)


ANNOTATION_COLUMNS = (
    Annotation.id, Annotation.image_id, Annotation.class_id, Annotation.bbox_x, Annotation.bbox_y,
    Annotation.bbox_w, Annotation.bbox_h, Annotation.segmentation, Annotation.area, Annotation.iscrowd,
    Image.sha1, Image.width, Image.height, Image.license_code, Image.license_url,
)


class _Selection:
    """Which rows an export takes and how each image is routed (split, license, file)."""

    def __init__(self, session: Session, opts: CocoExportOptions) -> None:
        from corpus.licenses import LicensePolicy

        self.session = session
        self.opts = opts
        self.domain = resolve_domain(session, opts.domain)
        self.categories: list[Category] = domain_categories(session, self.domain)
        self.cat_id = {c.class_id: c.id for c in self.categories}
        self.policy = LicensePolicy.parse(opts.license_policy)
        self.excluded: set[int] = set()  # images whose file is missing (rare, so kept)
        self.sizes: dict[int, tuple[int, int]] = {}  # only images whose row lacks a size

    def ann_filter(self):
        cond = (Annotation.status.in_(self.opts.statuses), annotations_of_classes(self.cat_id))
        if self.opts.done_only:
            done = select(ImageReview.image_id).where(ImageReview.done.is_(True))
            cond = (*cond, Annotation.image_id.in_(done))
        return cond

    def images(self) -> Iterator[Any]:
        sub = select(Annotation.image_id).where(*self.ann_filter())
        q = image_select().where(Image.id.in_(sub)).order_by(Image.id)
        yield from self.session.execute(q.execution_options(yield_per=self.opts.batch))

    def annotations(self) -> Iterator[Any]:
        q = (select(*ANNOTATION_COLUMNS).join(Image, Image.id == Annotation.image_id)
             .where(*self.ann_filter()).order_by(Annotation.image_id, Annotation.id))
        yield from self.session.execute(q.execution_options(yield_per=self.opts.batch))

    def license_reason(self, row: Any) -> str | None:
        return self.policy.reason(license_of(row))


_split_key = split_key


def export_coco(
    engine: Engine,
    out_dir: Path,
    data_dir: Path,
    opts: CocoExportOptions | None = None,
    progress: Progress | None = None,
) -> CocoExportSummary:
    """Write a COCO instances export of one domain to ``out_dir``; see the module docstring."""
    opts = opts or CocoExportOptions()
    if opts.segmentation not in ("polygon", "rle"):
        raise UsageError(f"segmentation must be 'polygon' or 'rle', not {opts.segmentation!r}")
    out_dir = Path(out_dir)
    placer = FilePlacer(data_dir, opts.files)
    split_names = [n for n, _ in opts.splits] if opts.splits else ["all"]

    with Session(engine) as session:
        sel = _Selection(session, opts)
        # Checked once the domain is known and before any work: an unwritable folder is one clear error.
        prepare_output_dir(out_dir)
        prepare_output_dir(out_dir / "annotations", "annotations folder")
        summary = CocoExportSummary(out_dir=out_dir, domain=sel.domain.name, categories=len(sel.categories),
                                    policy=sel.policy.describe())
        summary.fallback_categories = [c.synset for c in sel.categories if c.fallback_id]

        def split_for(image_id: int, sha1: str | None) -> str:
            if not opts.splits:
                return "all"
            return split_of(_split_key(image_id, sha1), opts.splits, opts.seed)

        writers: dict[str, JsonObjectWriter] = {}
        spools: dict[str, Spool] = {}
        try:
            info = {
                "description": f"MIC Corpus, domain {sel.domain.name}",
                "version": sel.domain.ontology_version or "",
                "year": dt.date.today().year,
                "date_created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "contributor": "MIC Corpus",
                "url": "",
                "domain": sel.domain.name,
                "statuses": list(opts.statuses),
                "license_policy": opts.license_policy,
                "segmentation": opts.segmentation,
                "seed": opts.seed,
                "splits": dict(opts.splits) if opts.splits else None,
            }
            cats = [c.coco() for c in sel.categories]
            for name in split_names:
                fname = "instances.json" if name == "all" else f"instances_{name}.json"
                w = JsonObjectWriter(out_dir / "annotations" / fname)
                w.member("info", {**info, "split": None if name == "all" else name})
                w.member("categories", cats)
                w.begin_array("images")
                writers[name] = w
                spools[name] = Spool(out_dir / "annotations" / f".{fname}.licenses")
                summary.files[name] = w.path

            # Pass 1: images (and their license entries, spooled until the images array closes).
            done = 0
            for row in sel.images():
                done += 1
                if done % 1000 == 0 and progress:
                    progress("images", 1000)
                reason = sel.license_reason(row)
                if reason:
                    summary.skipped_license[reason] += 1
                    continue
                found = placer.locate(row)
                if found is None:
                    sel.excluded.add(row.id)
                    summary.missing_files += 1
                    continue
                src, size = found
                if not (row.width and row.height):
                    sel.sizes[row.id] = size
                split = split_for(row.id, row.sha1)
                name = file_name(row.id, row.sha1, row.local_path, row.mime)
                if src is not None:
                    sub = "images" if split == "all" else f"images/{split}"
                    placer.place(src, out_dir / sub / name)
                writers[split].item(image_entry(row, name, size[0], size[1], license_id=row.id))
                spools[split].add(license_entry(row, license_id=row.id))
                summary.images[split] += 1
            if progress:
                progress("images", done % 1000)
            for name, w in writers.items():
                w.end_array()
                w.begin_array("licenses")
                spools[name].drain_into(w)
                w.end_array()
                w.begin_array("annotations")

            # Pass 2: annotations, in image order, so the per-image routing is computed once.
            last_image, last_route = None, None
            done = 0
            for row in sel.annotations():
                done += 1
                if done % 5000 == 0 and progress:
                    progress("annotations", 5000)
                inst = Instance.from_annotation(row)
                if inst.image_id != last_image:  # the image's columns are read once per image
                    last_image = inst.image_id
                    if inst.image_id in sel.excluded or sel.license_reason(row):
                        last_route = None
                    else:
                        size = sel.sizes.get(inst.image_id) or (row.width, row.height)
                        last_route = (split_for(inst.image_id, row.sha1), size)
                if last_route is None:
                    continue
                split, (w_, h_) = last_route
                entry, note = inst.coco(w_, h_, opts.segmentation, category_id=sel.cat_id[inst.class_id])
                if entry is None:
                    if note == "invalid":
                        summary.invalid += 1
                    else:
                        summary.empty += 1
                    continue
                if note == "box":
                    summary.box_only += 1
                elif note == "converted":
                    summary.converted += 1
                writers[split].item(entry)
                summary.annotations[split] += 1
            if progress:
                progress("annotations", done % 5000)
            for w in writers.values():
                w.end_array()
                w.close()
        except BaseException:
            for w in writers.values():
                w.abort()
            for s in spools.values():
                s.close()
            raise
    return summary


def count_rows(engine: Engine, opts: CocoExportOptions) -> tuple[int, int]:
    """(images, annotations) an export would read, for progress bars."""
    from sqlalchemy import func

    with Session(engine) as session:
        sel = _Selection(session, opts)
        n_ann = session.scalar(select(func.count()).select_from(Annotation).where(*sel.ann_filter())) or 0
        n_img = session.scalar(
            select(func.count(func.distinct(Annotation.image_id))).where(*sel.ann_filter())
        ) or 0
    return n_img, n_ann
