"""The one instance type, from the model to the file.

An :class:`Instance` is one object in one image: what a detector proposes, what the store holds
as a proposal or an annotation, what a reviewer decides on, what preview draws and what the COCO
files, the COCO Annotator export and evaluate write. As with ``supervision.Detections``, there is
one type and converters around it:

* model backends build it (``annotators.base.instances_from_arrays`` and each backend);
* :meth:`Instance.from_proposal` and :meth:`Instance.from_annotation` read it from a store row
  (an ORM object or a ``select`` row with the same column names);
  ``corpus.store.annotations.proposal_row`` writes it;
* :meth:`Instance.to_coco` and :meth:`Instance.coco` are the one conversion to COCO (through
  :func:`corpus.shapes.coco_shape`: checked, RLE or polygons, area from the mask, box = the
  written mask's bounds).

Conventions (shared with COCO):

* ``box`` is ``(x0, y0, x1, y1)`` (xyxy) in image pixels, float; ``box_xywh`` gives COCO's
  ``[x, y, w, h]``.
* ``mask`` is a boolean ``H x W`` numpy array over the whole image, a COCO RLE dict
  ``{"size": [h, w], "counts": str}``, COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` (what a
  reviewer draws), or ``None`` (box only). :meth:`rle` and :meth:`mask_array` convert on demand,
  so every producer keeps whichever it has.
* ``score`` is the model's confidence; ``None`` for an instance a person drew.
* ``label`` is what the detector called it (``person``); ``class_id`` / ``class_name`` the
  ontology class it was mapped to, once it has one.
* ``extra`` holds whatever else a producer knows (a backend's raw outputs; the store's review
  state: ``status``, ``version``, ``origin``, ``reviewed_by``, ``model``, ``file``, ``synset``);
  its keys read as attributes too (``inst.status``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from operator import attrgetter, itemgetter
from typing import Any, Callable, Mapping

import numpy as np
from sqlalchemy.engine import Row

from corpus import masks
from corpus.shapes import CocoShape, ShapeError, coco_shape

__all__ = ["Instance", "Box"]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels


# Not frozen: an export builds one per stored annotation (a million in a big corpus), and a
# frozen dataclass pays object.__setattr__ per field. Treat instances as values all the same:
# ``with_class`` and ``dataclasses.replace`` make changed copies.
@dataclass(eq=False, slots=True)
class Instance:
    """One object instance in one image (see the module doc for the conventions)."""

    label: str
    score: float | None
    box: Box
    mask: np.ndarray | dict[str, Any] | list[list[float]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # --- where the store keeps it (None until stored) -----------------------------------------
    id: int | None = field(default=None, kw_only=True)  # proposal or annotation id
    image_id: int | None = field(default=None, kw_only=True)
    class_id: int | None = field(default=None, kw_only=True)
    class_name: str | None = field(default=None, kw_only=True)
    iscrowd: bool = field(default=False, kw_only=True)
    # The mask area the store recorded with the shape: exports trust it instead of rasterising.
    stored_area: float | None = field(default=None, kw_only=True, repr=False)
    # The box as the store holds it (COCO x, y, w, h): xyxy and back could change the stored
    # numbers in their last bit, and a listed or exported box should be the stored one.
    stored_xywh: Box | None = field(default=None, kw_only=True, repr=False)

    def __getattr__(self, name: str) -> Any:
        # The store's review state travels in ``extra`` (status, version, origin, ...): readable
        # as attributes too, as a listed annotation's ``inst.status``. Only reached for names
        # that are not fields; a missing key is an AttributeError like any other.
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        try:
            return self.extra[name]
        except (KeyError, AttributeError):
            raise AttributeError(f"{type(self).__name__!r} has no attribute or extra {name!r}") from None

    # --- geometry --------------------------------------------------------------------------

    @property
    def box_xywh(self) -> Box:
        if self.stored_xywh is not None:
            return self.stored_xywh
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1 - x0, y1 - y0)

    def _canvas(self, height: int | None, width: int | None) -> tuple[int, int]:
        """The (height, width) to rasterise polygons on: the image's, else one that holds them."""
        if height and width:
            return int(height), int(width)
        xs = [v for p in self.mask for v in p[0::2]]  # type: ignore[union-attr]
        ys = [v for p in self.mask for v in p[1::2]]  # type: ignore[union-attr]
        return max(1, math.ceil(max(ys)) + 1), max(1, math.ceil(max(xs)) + 1)

    def rle(self, height: int | None = None, width: int | None = None) -> dict[str, Any] | None:
        """The mask as JSON-ready COCO RLE (None for box-only). Polygons are rasterised on the
        ``height`` x ``width`` image (without a size, on a canvas just big enough)."""
        m = self.mask
        if m is None:
            return None
        if isinstance(m, np.ndarray):
            return masks.mask_to_rle(m)
        if masks.is_rle(m):
            return m if isinstance(m["counts"], str) else masks.to_rle(m, 0, 0)
        return masks.polygons_to_rle(m, *self._canvas(height, width))

    def mask_array(self, height: int | None = None, width: int | None = None) -> np.ndarray | None:
        """The mask as a boolean ``H x W`` array (None for box-only)."""
        if self.mask is None or isinstance(self.mask, np.ndarray):
            return self.mask
        return masks.rle_to_mask(self.rle(height, width))

    @property
    def area(self) -> float:
        """Mask area in pixels (as stored, when the store recorded it); box area for box-only."""
        if self.stored_area is not None:
            return float(self.stored_area)
        m = self.mask
        if m is None:
            _, _, w, h = self.box_xywh
            return float(w * h)
        if isinstance(m, np.ndarray):
            return float(np.count_nonzero(m))
        if masks.is_rle(m):
            return masks.rle_area(m)
        return masks.area(m, *self._canvas(None, None))

    def with_rle(self) -> "Instance":
        """A copy whose mask is RLE: compact to send between processes (a bool array is not)."""
        return self if self.mask is None or masks.is_rle(self.mask) else replace(self, mask=self.rle())

    def with_class(self, class_id: int | None, class_name: str | None) -> "Instance":
        return replace(self, class_id=class_id, class_name=class_name)

    # --- COCO --------------------------------------------------------------------------------

    def to_coco(self, width: int, height: int, mode: str = "polygon") -> CocoShape | None:
        """The shape COCO gets (see :func:`corpus.shapes.coco_shape`): ``mode`` "polygon", "rle"
        or "any" (as stored). None when nothing covers a pixel; :class:`ShapeError` for a shape
        unsafe to rasterise."""
        seg = self.mask
        if isinstance(seg, np.ndarray):
            seg = masks.mask_to_rle(seg)
        elif not seg:
            seg = None  # no mask ([] or {} in a store written by hand too): the box stands in
        return coco_shape(seg, self.box_xywh, width, height, mode, area_hint=self.stored_area)

    def coco(self, width: int, height: int, mode: str = "polygon", *, category_id: int,
             prediction: bool = False) -> tuple[dict[str, Any] | None, str]:
        """The COCO ``annotations`` entry, and a note on what was done to the mask: "" (written as
        stored), "converted" (polygons <-> RLE), "box" (no usable mask: its box), or, with no
        entry, "empty" (nothing covers a pixel) or "invalid" (unsafe to rasterise).

        A ``prediction`` (a detection result for COCOeval) keeps the box the model predicted, as
        box AP scores that, and carries its score; ground truth gets the mask's bounds."""
        try:
            shape = self.to_coco(width, height, mode)
        except ShapeError:
            return None, "invalid"
        if shape is None:
            return None, "empty"
        entry: dict[str, Any] = {
            "id": self.id,
            "image_id": self.image_id,
            "category_id": category_id,
            "bbox": list(self.box_xywh) if prediction else shape.bbox,
            "area": shape.area,
            "iscrowd": 1 if self.iscrowd else 0,
            "segmentation": shape.segmentation,
        }
        if prediction:
            entry["score"] = self.score
        return entry, shape.note

    # --- from the store ------------------------------------------------------------------------

    @classmethod
    def from_proposal(cls, row: Any, class_name: str | None = None, **extra: Any) -> "Instance":
        """A stored proposal (a ``Proposal`` or a row with its column names) as an instance."""
        id_, image_id, class_id, label, score, x, y, w, h, mask, area = _columns(row, _PROPOSAL, _PROPOSAL_PICKERS)
        xywh = (x, y, w, h) = (float(x), float(y), float(w), float(h))
        return cls(label, float(score), (x, y, x + w, y + h), mask, extra, id=id_, image_id=image_id,
                   class_id=class_id, class_name=class_name, stored_area=area, stored_xywh=xywh)

    @classmethod
    def from_annotation(cls, row: Any, class_name: str | None = None, *, label: str | None = None,
                        score: float | None = None, **extra: Any) -> "Instance":
        """A stored annotation (an ``Annotation`` or a row with its column names) as an instance.

        ``label`` is the detector's label when the annotation came from a proposal (defaults to
        the class name); ``score`` that proposal's score (None: drawn by a person)."""
        id_, image_id, class_id, x, y, w, h, seg, iscrowd, area = _columns(row, _ANNOTATION, _ANNOTATION_PICKERS)
        xywh = (x, y, w, h) = (float(x), float(y), float(w), float(h))
        return cls(label if label is not None else (class_name or ""), score, (x, y, x + w, y + h), seg, extra,
                   id=id_, image_id=image_id, class_id=class_id, class_name=class_name, iscrowd=bool(iscrowd),
                   stored_area=area, stored_xywh=xywh)


_PROPOSAL = ("id", "image_id", "class_id", "detector_label", "score", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
             "mask_rle", "area")
_ANNOTATION = ("id", "image_id", "class_id", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "segmentation", "iscrowd",
               "area")


def _columns(row: Any, wanted: tuple[str, ...], pickers: dict) -> tuple:
    """The ``wanted`` columns of a store row: by position for a ``select`` row (a SQLAlchemy
    ``Row``'s attribute lookup costs ten times its index, and exports read a million of them),
    by attribute for an ORM object or anything else. The positions are worked out once per
    result, from its metadata (``Row._parent``; without it, attributes still work), and kept in
    ``pickers`` (one dict per ``wanted``, keyed by the result's metadata)."""
    if type(row) is Row:
        meta = getattr(row, "_parent", None)
        try:
            pick = pickers[meta]
        except KeyError:
            fields = list(getattr(meta, "keys", ()) or ())
            pick = (itemgetter(*(fields.index(name) for name in wanted))
                    if all(name in fields for name in wanted) else None)
            if len(pickers) > 64:  # results come and go: keep the recent ones
                pickers.clear()
            pickers[meta] = pick
        if pick is not None:
            return pick(row)
    return attrgetter(*wanted)(row)


_PROPOSAL_PICKERS: dict = {}
_ANNOTATION_PICKERS: dict = {}
