"""COCO segmentation conversions: polygons <-> RLE, boxes and areas (pycocotools + OpenCV).

Segmentation in COCO is either a list of polygons ``[[x1, y1, x2, y2, ...], ...]`` or an RLE
``{"size": [h, w], "counts": str | list[int]}``. pycocotools reads both; COCO Annotator reads
polygons only, so conversions go both ways.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

Polygons = list[list[float]]


def is_rle(seg: Any) -> bool:
    return isinstance(seg, dict) and "counts" in seg and "size" in seg


def is_polygons(seg: Any) -> bool:
    """A non-empty list of polygons with at least three points each (what pycocotools accepts)."""
    return (
        isinstance(seg, list)
        and len(seg) > 0
        and all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
            for p in seg
        )
    )


def box_polygon(x: float, y: float, w: float, h: float) -> Polygons:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def to_rle(seg: Any, height: int, width: int) -> dict[str, Any]:
    """Compressed RLE with ``counts`` as str (JSON-safe), from polygons or any RLE."""
    if is_rle(seg):
        counts = seg["counts"]
        if isinstance(counts, list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, *seg["size"])
        else:
            rle = {"size": list(seg["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
    elif is_polygons(seg):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    else:
        raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")
    counts = rle["counts"]
    return {"size": [int(v) for v in rle["size"]], "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _rle_for_pycoco(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def decode(seg: Any, height: int, width: int) -> np.ndarray:
    return mask_utils.decode(_rle_for_pycoco(to_rle(seg, height, width)))


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> Polygons:
    """Outer contours of a binary mask as COCO polygons (holes are lost, as in COCO Annotator)."""
    import cv2

    contours, _ = cv2.findContours(np.ascontiguousarray(mask, dtype=np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys: Polygons = []
    for c in contours:
        if len(c) < min_points:
            continue
        polys.append([float(v) for v in c.reshape(-1)])
    return polys


def to_polygons(seg: Any, height: int, width: int) -> Polygons:
    """Polygons from polygons (returned as is) or RLE (traced with OpenCV); [] if the mask is empty."""
    if is_polygons(seg):
        return seg
    if is_rle(seg):
        h, w = seg["size"]
        return mask_to_polygons(decode(seg, h, w))
    raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")


def area(seg: Any, height: int, width: int) -> float:
    return float(mask_utils.area(_rle_for_pycoco(to_rle(seg, height, width))))


def bbox(seg: Any, height: int, width: int) -> list[float]:
    """Tight box [x, y, w, h]; for polygons straight from the coordinates (no rasterising)."""
    if is_polygons(seg):
        xs = [v for p in seg for v in p[0::2]]
        ys = [v for p in seg for v in p[1::2]]
        return [float(min(xs)), float(min(ys)), float(max(xs) - min(xs)), float(max(ys) - min(ys))]
    return [float(v) for v in mask_utils.toBbox(_rle_for_pycoco(to_rle(seg, height, width)))]


def iou(a: Any, b: Any, height: int, width: int) -> float:
    """Mask IoU of two segmentations on an image of the given size."""
    ra, rb = _rle_for_pycoco(to_rle(a, height, width)), _rle_for_pycoco(to_rle(b, height, width))
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
