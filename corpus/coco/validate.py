"""Strict reading of files we import: every problem is found before anything is written.

Errors name the file and the place (``annotations[3].category_id``), so a reviewer can fix the
file; the store is never touched by a file that fails here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus import masks, shapes
from corpus.instances import Instance
from corpus.shapes import segmentation_problem
from corpus.errors import InputError

MAX_LISTED = 12


class InvalidInput(InputError):
    """A file we refuse to import, with every problem found (the first few listed)."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        shown = problems[:MAX_LISTED]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"{self.path}: nothing was imported:\n  " + "\n  ".join(shown) + more)


def load_json(path: Path | str) -> Any:
    """Parse a JSON file that must be UTF-8; a cut-off file is told apart from a malformed one."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(path, [f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                                  "(COCO files are UTF-8 JSON; re-export the file or convert it)"]) from None
    if not text.strip():
        raise InvalidInput(path, ["the file is empty"])
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInput(path, ["the JSON is nested too deeply to be a COCO file (arrays or objects inside "
                                  "each other thousands of levels down)"]) from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise InvalidInput(path, [f"truncated: the JSON ends early at line {exc.lineno} column {exc.colno} "
                                      "(the file was cut off, e.g. an interrupted download)"]) from None
        raise InvalidInput(path, [f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# One shape validation for the whole project (corpus.shapes); here without the image size,
# which is checked against the store's image when the file is resolved.
_is_num = shapes.is_number


@dataclass(frozen=True)
class CaImage:
    id: int
    file_name: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class CaCategory:
    id: int
    name: str


@dataclass
class CaFile:
    path: Path
    images: list[CaImage]
    categories: dict[int, CaCategory]
    # One Instance per annotation: ``id`` and ``image_id`` are the file's, ``mask`` its
    # segmentation, ``class_name`` its category's name; ``extra`` holds the file's
    # ``category_id``, ``color`` and ``metadata`` (our ids, when we exported it).
    annotations: list[Instance]
    skipped: list[str] = field(default_factory=list)  # annotations without a segmentation


def parse_coco_annotator(data: Any, path: Path | str) -> CaFile:
    """Check a COCO Annotator export fully; raise :class:`InvalidInput` listing every problem."""
    path = Path(path)
    problems: list[str] = []
    if not isinstance(data, dict):
        raise InvalidInput(path, [f"expected a JSON object with images, categories and annotations, got {type(data).__name__}"])
    for key in ("images", "categories", "annotations"):
        if key not in data:
            problems.append(f"missing key {key!r}")
        elif not isinstance(data[key], list):
            problems.append(f"{key!r} must be a list, got {type(data[key]).__name__}")
    if problems:
        raise InvalidInput(path, problems)

    images: list[CaImage] = []
    seen_img: set[int] = set()
    seen_names: set[str] = set()
    for i, im in enumerate(data["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict):
            problems.append(f"{where}: expected an object")
            continue
        if not _is_int(im.get("id")):
            problems.append(f"{where}.id: expected an integer, got {im.get('id')!r}")
            continue
        if not isinstance(im.get("file_name"), str) or not im["file_name"]:
            problems.append(f"{where}.file_name: expected a non-empty string, got {im.get('file_name')!r}")
            continue
        for k in ("width", "height"):
            if k in im and im[k] is not None and not _is_int(im[k]):
                problems.append(f"{where}.{k}: expected an integer, got {im[k]!r}")
        if im["id"] in seen_img:
            problems.append(f"{where}: image id {im['id']} appears twice")
        if im["file_name"] in seen_names:
            problems.append(f"{where}: file name {im['file_name']!r} appears twice")
        seen_img.add(im["id"])
        seen_names.add(im["file_name"])
        images.append(CaImage(im["id"], im["file_name"], im.get("width"), im.get("height")))

    categories: dict[int, CaCategory] = {}
    for i, c in enumerate(data["categories"]):
        where = f"categories[{i}]"
        if not isinstance(c, dict):
            problems.append(f"{where}: expected an object")
            continue
        if not _is_int(c.get("id")):
            problems.append(f"{where}.id: expected an integer, got {c.get('id')!r}")
            continue
        if not isinstance(c.get("name"), str) or not c["name"].strip():
            problems.append(f"{where}.name: expected a non-empty string, got {c.get('name')!r}")
            continue
        if c["id"] in categories:
            problems.append(f"{where}: category id {c['id']} appears twice")
        categories[c["id"]] = CaCategory(c["id"], c["name"])

    annotations: list[Instance] = []
    skipped: list[str] = []
    seen_ann: set[int] = set()
    for i, a in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        if not isinstance(a, dict):
            problems.append(f"{where}: expected an object")
            continue
        bad = [k for k in ("id", "image_id", "category_id") if not _is_int(a.get(k))]
        if bad:
            problems.extend(f"{where}.{k}: expected an integer, got {a.get(k)!r}" for k in bad)
            continue
        where = f"annotation {a['id']} ({where})"
        if a["id"] in seen_ann:
            problems.append(f"{where}: id appears twice")
        seen_ann.add(a["id"])
        if a["image_id"] not in seen_img:
            problems.append(f"{where}: unknown image_id {a['image_id']} (not in this file's images)")
        if a["category_id"] not in categories:
            problems.append(f"{where}: unknown category_id {a['category_id']} (not in this file's categories)")
        seg = a.get("segmentation", [])
        if seg is None or seg == [] or seg == {}:
            skipped.append(f"{where}: no segmentation (COCO Annotator drops those too); skipped")
            continue
        bad_seg = segmentation_problem(seg)
        if bad_seg:
            problems.append(f"{where}.segmentation: {bad_seg}")
            continue
        bbox = a.get("bbox")
        if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_num(v) for v in bbox)):
            problems.append(f"{where}.bbox: expected [x, y, w, h] numbers, got {bbox!r}")
            continue
        if "area" in a and a["area"] is not None and not _is_num(a["area"]):
            problems.append(f"{where}.area: expected a number, got {a['area']!r}")
        color = a.get("color")
        if color is not None and not isinstance(color, str):
            problems.append(f"{where}.color: expected a string, got {color!r}")
            color = None
        meta = a.get("metadata") or {}
        if not isinstance(meta, dict):
            problems.append(f"{where}.metadata: expected an object, got {type(meta).__name__}")
            meta = {}
        if bbox:
            box = (float(bbox[0]), float(bbox[1]), float(bbox[0]) + float(bbox[2]), float(bbox[1]) + float(bbox[3]))
        else:  # the segmentation's bounds (checked above: safe to read)
            x, y, w, h = masks.bbox(seg, *(seg["size"] if masks.is_rle(seg) else (0, 0)))
            box = (x, y, x + w, y + h)
        cat = categories.get(a["category_id"])
        name = cat.name if cat else ""
        annotations.append(Instance(name, None, box, seg, {"category_id": a["category_id"], "color": color,
                                                           "metadata": meta},
                                    id=a["id"], image_id=a["image_id"], class_name=name))
    if problems:
        raise InvalidInput(path, problems)
    return CaFile(path, images, categories, annotations, skipped)
