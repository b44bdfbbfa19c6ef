"""The Ultralytics YOLO dataset export: what `corpus train` trains on, and any YOLO-seg trainer reads.

Layout of ``OUT`` (what ``ultralytics`` expects, loaded by ``YOLO.train(data="OUT/data.yaml")``)::

    data.yaml                      splits, class names in the chosen language, and (under
                                   ``mic_corpus``) the synset, category id and store id of each class
    images/<split>/<file_name>     the same file names as the COCO export
    labels/<split>/<stem>.txt      one instance per line: class index, then the outline as
                                   normalised x y pairs (0..1)
    ATTRIBUTION.md, licenses.json  every image's license, author, attribution and source URL

Images go to the same split as in ``corpus export coco`` with the same ``--split`` and ``--seed``
(:func:`corpus.coco.splits.split_key`), and the same license policy decides which images may go.
Class indexes are contiguous (YOLO needs 0..n-1), in category id order, over the classes that
have exported instances (or the ones chosen with ``classes``).

One pass over the store, annotations joined to their images in image order: an image's label file
is written when its last row has been read, so memory does not grow with the corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus import masks, shapes
from corpus.coco.categories import Category, domain_categories
from corpus.coco.images import IMAGE_COLUMNS, FilePlacer, file_name, license_entry, license_of
from corpus.coco.splits import Splits, split_key, split_of
from corpus.errors import NotFoundError, UsageError
from corpus.instances import Instance
from corpus.store.models import Annotation, Domain, Image, OntologyClass, Source
from corpus.output import prepare_output_dir
from corpus.store.queries import annotations_of_classes, resolve_domain

__all__ = ["YoloExportOptions", "YoloExportSummary", "YoloClass", "export_yolo", "label_line", "one_polygon",
           "select_classes", "DEFAULT_SPLITS", "ClassError"]

DEFAULT_SPLITS: Splits = [("train", 0.8), ("val", 0.1), ("test", 0.1)]
Progress = Callable[[int], None]  # annotation rows read since the last call


class ClassError(NotFoundError):
    """A class that is not in the domain (unknown, or a class of another domain)."""


@dataclass
class YoloExportOptions:
    domain: str | None = None
    statuses: tuple[str, ...] = ("accepted", "edited")
    splits: Splits = field(default_factory=lambda: list(DEFAULT_SPLITS))
    seed: int = 0
    lang: str = "en"
    classes: Sequence[str] | None = None  # synsets, English names or category ids; None: all with instances
    files: str = "copy"  # copy | link | symlink | none
    license_policy: str = "default"
    record: bool = False  # keep (annotation id, version, image id, split) of every line written
    batch: int = 5000


@dataclass(frozen=True)
class YoloClass:
    index: int  # the class index in the label files
    class_id: int  # OntologyClass.id in the store
    category_id: int  # the COCO export's category id
    synset: str
    name: str  # in the chosen language (English where the class has no lemma in it)


@dataclass
class YoloExportSummary:
    out_dir: Path
    domain: str
    lang: str
    data_yaml: Path
    classes: list[YoloClass] = field(default_factory=list)
    images: Counter = field(default_factory=Counter)  # split -> images
    instances: Counter = field(default_factory=Counter)  # split -> label lines
    per_class: Counter = field(default_factory=Counter)  # (class index, split) -> label lines
    skipped_license: Counter = field(default_factory=Counter)  # reason -> images
    missing_files: int = 0
    box_only: int = 0  # instances without a usable mask, written as their box
    empty: int = 0  # instances left out: neither mask nor box covers a pixel
    merged: int = 0  # instances in several parts, joined into one outline
    untranslated: list[str] = field(default_factory=list)  # classes named in English for want of a lemma
    trained_on: list[tuple[int, int, int, str]] = field(default_factory=list)  # (ann id, version, image id, split)
    policy: str = ""
    splits: list[str] = field(default_factory=list)

    def count(self, index: int, split: str) -> int:
        return self.per_class[(index, split)]


# --------------------------------------------------------------------------------------------
# Label lines


def _loop(parts: list[np.ndarray], i: int, start: int) -> list[np.ndarray]:
    """Part ``i`` walked once round from vertex ``start``, with the later parts spliced in where
    they come closest; the walk returns the same way, so each bridge adds no area."""
    p = parts[i]
    order = [(start + k) % len(p) for k in range(len(p))] + [start]
    if i + 1 == len(parts):
        return [p[j] for j in order]
    nxt = parts[i + 1]
    d = ((p[:, None, :] - nxt[None, :, :]) ** 2).sum(-1)
    here, there = np.unravel_index(int(np.argmin(d)), d.shape)
    out: list[np.ndarray] = []
    spliced = False
    for j in order:
        out.append(p[j])
        if j == here and not spliced:
            out.extend(_loop(parts, i + 1, int(there)))
            out.append(p[j])
            spliced = True
    return out


def one_polygon(polygons: Sequence[Sequence[float]]) -> list[float]:
    """One outline from COCO polygons: YOLO takes a single polygon per instance, so an instance in
    several parts is joined by zero-width bridges between nearest vertices (as Ultralytics' own
    COCO converter does)."""
    parts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons if len(p) >= 6]
    if not parts:
        return []
    if len(parts) == 1:
        return parts[0].reshape(-1).tolist()
    return np.asarray(_loop(parts, 0, 0)).reshape(-1).tolist()


def label_line(index: int, polygon: Sequence[float], width: int, height: int) -> str:
    """``"<index> x1 y1 x2 y2 ..."`` with coordinates divided by the image size, clipped to 0..1."""
    xy = np.asarray(polygon, dtype=np.float64).reshape(-1, 2) / np.array([width, height], dtype=np.float64)
    xy = np.clip(xy, 0.0, 1.0)
    return f"{index} " + " ".join(f"{v:.6f}" for v in xy.reshape(-1))


def instance_outline(inst: Instance, width: int, height: int) -> tuple[list[float], str]:
    """(outline in pixels, note): note is "" (its mask), "merged" (several parts joined), "box"
    (no usable mask: its box, clipped to the image) or "empty" (nothing covers a pixel: left out).

    YOLO-seg labels hold one polygon per instance, so unlike COCO (``Instance.coco``) several
    parts are joined, and a box that overshoots the image is clipped rather than refused."""
    segmentation, box = inst.mask, inst.box_xywh
    if isinstance(segmentation, np.ndarray):
        segmentation = masks.mask_to_rle(segmentation)
    polys: list[list[float]] = []
    if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(shapes.is_number(v) for v in box)):
        return [], "empty"
    if segmentation is not None and shapes.segmentation_problem(segmentation, width, height):
        # Unsafe to rasterise (a store older than the shape checks): pycocotools must not see it.
        segmentation = None
    if masks.is_polygons(segmentation):
        polys = [list(map(float, p)) for p in segmentation]
    elif masks.is_rle(segmentation):
        try:
            polys = masks.to_polygons(segmentation, height, width)
        except (ValueError, TypeError):
            polys = []
    if polys and masks.area(polys, height, width) > 0:
        return one_polygon(polys), ("merged" if len(polys) > 1 else "")
    x, y, w, h = (float(v) for v in box)
    x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, float(width)), min(y + h, float(height))
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return [], "empty"
    return masks.box_polygon(x0, y0, x1 - x0, y1 - y0)[0], "box"


# --------------------------------------------------------------------------------------------
# Classes


def _display_names(cats: Sequence[Category], lang: str) -> tuple[dict[int, str], list[str]]:
    """class id -> name in ``lang`` (English where it has none), unique: clashes get the synset."""
    names, untranslated = {}, []
    for c in cats:
        name = c.names.get(lang)
        if not name:
            name = c.name
            if lang != "en":
                untranslated.append(c.synset)
        names[c.class_id] = " ".join(str(name).replace("_", " ").split())
    counts = Counter(n.casefold() for n in names.values())
    by_id = {c.class_id: c for c in cats}
    return {cid: (n if counts[n.casefold()] == 1 else f"{n} ({by_id[cid].synset})") for cid, n in names.items()}, untranslated


def select_classes(session: Session, domain: Domain, cats: Sequence[Category], wanted: Sequence[str] | None,
                   statuses: Sequence[str]) -> list[Category]:
    """The categories to export: those named in ``wanted`` (synset, English name or category id),
    else every class of the domain with instances of these statuses. A name of a class of another
    domain, or of none, is a :class:`ClassError`."""
    if wanted:
        out: list[Category] = []
        for token in wanted:
            t = str(token).strip()
            hit = [c for c in cats if t in (c.synset, str(c.id)) or t.casefold() == c.name.casefold()]
            if not hit:
                other = session.execute(
                    select(OntologyClass.synset, Domain.name).join(Domain, Domain.id == OntologyClass.domain_id)
                    .where((OntologyClass.synset == t) | (func.lower(OntologyClass.name) == t.lower()))
                    .where(Domain.id != domain.id)
                ).first()
                if other is not None:
                    raise ClassError(f"class {t!r} ({other.synset}) belongs to domain {other.name!r}, not {domain.name!r}; "
                                     f"export and train one domain at a time", param="classes")
                raise ClassError(f"class {t!r} is not in domain {domain.name!r} (give a synset such as "
                                 f"{cats[0].synset if cats else 'tennis_ball.n.01'}, an English name or a category id)",
                                 param="classes")
            if len(hit) > 1:
                raise ClassError(f"{t!r} names {len(hit)} classes ({', '.join(c.synset for c in hit)}): give the synset",
                                 param="classes")
            if hit[0] not in out:
                out.append(hit[0])
        return sorted(out, key=lambda c: c.id)
    ids = {c.class_id for c in cats}
    used = set(session.scalars(select(Annotation.class_id).distinct().where(
        Annotation.status.in_(list(statuses)), annotations_of_classes(ids))))
    return [c for c in cats if c.class_id in used]


# --------------------------------------------------------------------------------------------
# The export


def _instance(row: Any) -> Instance:
    """The annotation of a joined image + annotation row (its ``id`` is the image's: the
    annotation's columns are labelled ``ann_*``)."""
    xywh = (x, y, w, h) = (float(row.bbox_x), float(row.bbox_y), float(row.bbox_w), float(row.bbox_h))
    return Instance("", None, (x, y, x + w, y + h), row.segmentation, id=row.ann_id, image_id=row.id,
                    class_id=row.class_id, stored_xywh=xywh)


_ROW_COLUMNS = (
    *IMAGE_COLUMNS,
    Annotation.id.label("ann_id"), Annotation.version.label("ann_version"), Annotation.class_id,
    Annotation.bbox_x, Annotation.bbox_y, Annotation.bbox_w, Annotation.bbox_h, Annotation.segmentation,
)


def _rows(session: Session, class_ids: list[int], statuses: Sequence[str], batch: int) -> Iterator[Any]:
    q = (select(*_ROW_COLUMNS).select_from(Annotation)
         .join(Image, Image.id == Annotation.image_id).join(Source, Source.id == Image.source_id)
         .where(Annotation.status.in_(list(statuses)), annotations_of_classes(class_ids))
         .order_by(Annotation.image_id, Annotation.id))
    yield from session.execute(q.execution_options(yield_per=batch))


def _group(rows: Iterable[Any]) -> Iterator[list[Any]]:
    """Consecutive rows of one image."""
    group: list[Any] = []
    for row in rows:
        if group and row.id != group[0].id:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def count_annotations(engine: Engine, opts: YoloExportOptions) -> int:
    """Annotation rows an export would read (before the license policy), for progress bars."""
    with Session(engine) as session:
        dom = resolve_domain(session, opts.domain)
        cats = select_classes(session, dom, domain_categories(session, dom), opts.classes, opts.statuses)
        return session.scalar(select(func.count()).select_from(Annotation).where(
            Annotation.status.in_(list(opts.statuses)), Annotation.class_id.in_([c.class_id for c in cats]))) or 0


def _check_out_dir(out_dir: Path) -> None:
    # Stale images or labels from another export would be trained on silently: start empty.
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir} exists and is not an empty folder: a YOLO export needs a new or empty "
                         "folder (files left from another export would be trained on)", param="out_dir")


def export_yolo(engine: Engine, out_dir: Path, data_dir: Path, opts: YoloExportOptions | None = None,
                progress: Progress | None = None) -> YoloExportSummary:
    """Write a YOLO-seg dataset of one domain to ``out_dir``; see the module docstring."""
    from corpus.licenses import LicensePolicy

    from ontology.languages import check_languages

    opts = opts or YoloExportOptions()
    # Before the store is read: an unknown language is the mistake to report, not "no
    # annotations", and must not become an English export with every class "untranslated".
    (lang,) = check_languages([opts.lang], param="lang")
    if lang != opts.lang:
        opts = replace(opts, lang=lang)
    names = [n for n, _ in opts.splits]
    if "train" not in names or "val" not in names:
        raise UsageError(f"a YOLO dataset needs a train and a val split (got {', '.join(names) or 'none'}), "
                         "e.g. train=0.8,val=0.2", param="splits")
    out_dir = Path(out_dir)
    policy = LicensePolicy.parse(opts.license_policy)
    _check_out_dir(out_dir)
    placer = FilePlacer(data_dir, opts.files)
    with Session(engine) as session:
        dom = resolve_domain(session, opts.domain)
        all_cats = domain_categories(session, dom)
        cats = select_classes(session, dom, all_cats, opts.classes, opts.statuses)
        if not cats:
            raise UsageError(f"domain {dom.name} has no annotations with status {', '.join(opts.statuses)} to export",
                             param="statuses")
        display, untranslated = _display_names(cats, opts.lang)
        classes = [YoloClass(i, c.class_id, c.id, c.synset, display[c.class_id]) for i, c in enumerate(cats)]
        index = {c.class_id: c.index for c in classes}
        summary = YoloExportSummary(out_dir=out_dir, domain=dom.name, lang=opts.lang, data_yaml=out_dir / "data.yaml",
                                    classes=classes, untranslated=untranslated, policy=policy.describe(),
                                    splits=names)
        prepare_output_dir(out_dir)  # a read-only folder is one clear error before any file
        licenses: list[dict[str, Any]] = []
        read = 0
        for group in _group(_rows(session, list(index), opts.statuses, opts.batch)):
            read += len(group)
            if progress and read >= 1000:
                progress(read)
                read = 0
            img = group[0]
            reason = policy.reason(license_of(img))
            if reason:
                summary.skipped_license[reason] += 1
                continue
            found = placer.locate(img)
            if found is None:
                summary.missing_files += 1
                continue
            src, (w, h) = found
            split = split_of(split_key(img.id, img.sha1), opts.splits, opts.seed)
            lines = []
            for row in group:
                outline, note = instance_outline(_instance(row), w, h)
                if note == "empty":
                    summary.empty += 1
                    continue
                summary.box_only += note == "box"
                summary.merged += note == "merged"
                k = index[row.class_id]
                lines.append(label_line(k, outline, w, h))
                summary.per_class[(k, split)] += 1
                if opts.record:
                    summary.trained_on.append((row.ann_id, row.ann_version, img.id, split))
            if not lines:
                continue
            name = file_name(img.id, img.sha1, img.local_path, img.mime)
            if src is not None:
                placer.place(src, out_dir / "images" / split / name)
            label = out_dir / "labels" / split / (Path(name).stem + ".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("\n".join(lines) + "\n", encoding="utf-8")
            summary.images[split] += 1
            summary.instances[split] += len(lines)
            licenses.append({"file": f"images/{split}/{name}", "split": split, "image_id": img.id,
                             **license_entry(img, license_id=img.id)})
        if progress and read:
            progress(read)
    for split in names:  # ultralytics wants every folder data.yaml names to exist
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
    _write_data_yaml(summary, dom, opts)
    _write_licenses(summary, licenses)
    return summary


def _write_data_yaml(summary: YoloExportSummary, dom: Domain, opts: YoloExportOptions) -> None:
    # No `path:` key: ultralytics then takes the folder of data.yaml, so the export can move.
    data: dict[str, Any] = {split: f"images/{split}" for split, _ in opts.splits if split in ("train", "val", "test")}
    data["nc"] = len(summary.classes)
    data["names"] = {c.index: c.name for c in summary.classes}
    data["mic_corpus"] = {
        "domain": dom.name,
        "ontology_version": dom.ontology_version or "",
        "lang": opts.lang,
        "statuses": list(opts.statuses),
        "splits": dict(opts.splits),
        "seed": opts.seed,
        "license_policy": opts.license_policy,
        "classes": [{"index": c.index, "synset": c.synset, "category_id": c.category_id, "class_id": c.class_id}
                    for c in summary.classes],
        "images": dict(summary.images),
        "instances": dict(summary.instances),
    }
    head = (f"# MIC Corpus, domain {dom.name}: a YOLO-seg dataset (Ultralytics layout).\n"
            f"# Class names in '{opts.lang}'; every image's license and attribution: ATTRIBUTION.md, licenses.json.\n")
    summary.data_yaml.write_text(head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _write_licenses(summary: YoloExportSummary, entries: list[dict[str, Any]]) -> None:
    (summary.out_dir / "licenses.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = [f"# Images of this dataset and their licenses ({len(entries)})", "",
             f"License policy of the export: {summary.policy}. Reuse of an image must follow its license: "
             "credit the author as given below, and keep share-alike terms where they apply.", "",
             "| file | license | attribution | source |", "|---|---|---|---|"]

    def cell(v: Any) -> str:
        return " ".join(str(v or "").split()).replace("|", "\\|")

    for e in entries:
        lic = f"[{cell(e['name'])}]({cell(e['url'])})" if e.get("url") else cell(e["name"])
        lines.append(f"| {cell(e['file'])} | {lic} | {cell(e['attribution'])} | {cell(e['source_url'])} |")
    (summary.out_dir / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
