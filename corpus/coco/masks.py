"""COCO segmentation conversions: polygons <-> RLE, boxes and areas.

Segmentation in COCO is either a list of polygons ``[[x1, y1, x2, y2, ...], ...]`` or an RLE
``{"size": [h, w], "counts": str | list[int]}``. pycocotools reads both; COCO Annotator reads
polygons only, so conversions go both ways.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

# One codec for the whole project: the annotators' mask module; this one adds the COCO-file view
# (polygons or RLE, validation, boxes from polygons, IoU, tolerant comparison).
from annotators import masks as amasks
from corpus.shapes import is_polygons, is_rle  # one definition of each shape kind (re-exported)

Polygons = list[list[float]]


def box_polygon(x: float, y: float, w: float, h: float) -> Polygons:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def to_rle(seg: Any, height: int, width: int) -> dict[str, Any]:
    """Compressed RLE with ``counts`` as str (JSON-safe), from polygons or any RLE."""
    if is_rle(seg):
        if isinstance(seg["counts"], str):
            return {"size": [int(v) for v in seg["size"]], "counts": seg["counts"]}
        return amasks.mask_to_rle(amasks.rle_to_mask(seg))
    if is_polygons(seg):
        return amasks.polygons_to_rle(seg, height, width)
    raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")


def decode(seg: Any, height: int, width: int) -> np.ndarray:
    return amasks.rle_to_mask(to_rle(seg, height, width)).astype(np.uint8)


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> Polygons:
    """Outer contours of a binary mask as COCO polygons (holes are lost, as in COCO Annotator)."""
    return amasks.mask_to_polygons(mask, min_area=0.0, min_points=min_points)


def to_polygons(seg: Any, height: int, width: int) -> Polygons:
    """Polygons from polygons (returned as is) or RLE (traced with OpenCV); [] if the mask is empty."""
    if is_polygons(seg):
        return seg
    if is_rle(seg):
        h, w = seg["size"]
        # A traced contour can enclose no pixel centre (a one-pixel-wide L, a 2x2 blob traced
        # along its centres rasterises to less than it was): pycocotools' annToMask would give an
        # empty mask, so such polygons are dropped and the caller falls back to the box.
        return [p for p in mask_to_polygons(decode(seg, h, w)) if area([p], h, w) > 0]
    raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")


def area(seg: Any, height: int, width: int) -> float:
    return amasks.rle_area(to_rle(seg, height, width))


def bbox(seg: Any, height: int, width: int) -> list[float]:
    """Tight box [x, y, w, h]; for polygons straight from the coordinates (no rasterising)."""
    if is_polygons(seg):
        xs = [v for p in seg for v in p[0::2]]
        ys = [v for p in seg for v in p[1::2]]
        return [float(min(xs)), float(min(ys)), float(max(xs) - min(xs)), float(max(ys) - min(ys))]
    return list(amasks.rle_to_bbox(to_rle(seg, height, width)))


def iou(a: Any, b: Any, height: int, width: int) -> float:
    """Mask IoU of two segmentations on an image of the given size."""
    ra, rb = (amasks.coco_rle(to_rle(x, height, width)) for x in (a, b))
    return float(mask_utils.iou([ra], [rb], [0])[0][0])


def same_polygons(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], tol: float = 0.5) -> bool:
    """Equal up to ``tol`` pixels per coordinate (tools re-serialise floats)."""
    if len(a) != len(b):
        return False
    for pa, pb in zip(a, b):
        if len(pa) != len(pb):
            return False
        if any(abs(float(x) - float(y)) > tol for x, y in zip(pa, pb)):
            return False
    return True
