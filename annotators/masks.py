"""Mask encodings: bool arrays <-> COCO RLE <-> polygons, through pycocotools.

COCO RLE as stored: ``{"size": [h, w], "counts": str}`` (the compressed string form, decoded from
pycocotools' bytes so it is JSON). Polygons: ``[[x1, y1, x2, y2, ...], ...]`` in pixels.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from pycocotools import mask as _coco

__all__ = [
    "mask_to_rle",
    "coco_rle",
    "rle_to_mask",
    "rle_area",
    "rle_to_bbox",
    "mask_to_polygons",
    "polygons_to_rle",
    "crop_to_box",
    "box_of_mask",
    "band_to_rle",
]


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Encode a bool/0-1 ``H x W`` mask as JSON-ready COCO RLE."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a mask is 2-D (H x W); got shape {m.shape}")
    rle = _coco.encode(np.asfortranarray(m, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def coco_rle(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, list):  # uncompressed RLE (COCO iscrowd files)
        return _coco.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode COCO RLE (compressed string/bytes or uncompressed list counts) to a bool mask."""
    with warnings.catch_warnings():
        # pycocotools' Cython decode trips numpy 2's __array__(copy=) deprecation; harmless.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _coco.decode(coco_rle(rle)).astype(bool)


def rle_area(rle: dict[str, Any]) -> float:
    return float(_coco.area(coco_rle(rle)))


def rle_to_bbox(rle: dict[str, Any]) -> tuple[float, float, float, float]:
    """Tight COCO ``[x, y, w, h]`` box of an RLE mask (zeros for an empty mask)."""
    x, y, w, h = _coco.toBbox(coco_rle(rle)).tolist()
    return (float(x), float(y), float(w), float(h))


def mask_to_polygons(mask: np.ndarray, min_area: float = 1.0, epsilon: float = 0.0,
                     min_points: int = 3) -> list[list[float]]:
    """Outer contours of a mask as COCO polygons (holes are lost: use RLE where they matter).

    ``epsilon`` > 0 simplifies each contour (Douglas-Peucker, in pixels), which review tools
    appreciate on large masks. Contours of fewer than ``min_points`` points (at least 3, what a
    polygon needs) or of less than ``min_area`` are dropped.
    """
    import cv2

    m = np.ascontiguousarray(np.asarray(mask), dtype=np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys: list[list[float]] = []
    for c in contours:
        if epsilon > 0:
            c = cv2.approxPolyDP(c, epsilon, True)
        if len(c) < max(3, min_points) or cv2.contourArea(c) < min_area:
            continue
        polys.append([float(v) for v in c.reshape(-1)])
    return polys


def polygons_to_rle(polygons: Sequence[Sequence[float]], height: int, width: int) -> dict[str, Any]:
    """Rasterise COCO polygons into one merged RLE mask."""
    rles = _coco.frPyObjects([list(map(float, p)) for p in polygons], height, width)
    merged = _coco.merge(rles)
    return {"size": [int(merged["size"][0]), int(merged["size"][1])], "counts": merged["counts"].decode("ascii")}


def crop_to_box(mask: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The mask with everything outside the (pixel-rounded outward) xyxy box cleared."""
    h, w = mask.shape
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    out = np.zeros((h, w), dtype=bool)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    return out


def box_of_mask(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight xyxy box of the set pixels, or ``None`` for an empty mask."""
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    return (float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1))


def band_to_rle(patch: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict[str, Any]:
    """COCO RLE of an image that is empty except for ``patch`` placed at column ``x0``, row ``y0``.

    Same result as ``mask_to_rle`` of the full image, but costs the patch's columns only: run
    lengths are taken over the patch's column band (column-major, as COCO counts) and the empty
    columns before and after are added to the first and last runs.
    """
    ph, pw = patch.shape
    band = np.zeros((height, pw), dtype=bool, order="F")
    band[y0:y0 + ph, :] = patch
    flat = band.ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], change, [flat.size]))).tolist() if flat.size else []
    if flat.size and flat[0]:
        runs.insert(0, 0)  # COCO runs start with zeros
    before, after = x0 * height, (width - x0 - pw) * height
    if not runs:
        runs = [0]
    runs[0] += before
    if len(runs) % 2 == 1:  # ends on a zero run
        runs[-1] += after
    elif after:
        runs.append(after)
    rle = _coco.frPyObjects({"size": [height, width], "counts": runs}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}
