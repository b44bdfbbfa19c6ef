"""The one mask module: bool arrays <-> COCO RLE <-> polygons, through pycocotools.

COCO RLE as stored: ``{"size": [h, w], "counts": str}`` (the compressed string form, decoded from
pycocotools' bytes so it is JSON). Polygons: ``[[x1, y1, x2, y2, ...], ...]`` in pixels. A COCO
*segmentation* is either; the second half of this module works on segmentations whatever their
kind (pycocotools reads both; COCO Annotator reads polygons only, so conversions go both ways).

Model backends, the store, review, the exports, evaluate and the web app all use this module;
nothing here checks that a shape is safe to rasterise: :mod:`corpus.shapes` does, before these
functions see hostile input.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from pycocotools import mask as _coco

__all__ = [
    "Polygons",
    "is_rle",
    "is_polygons",
    "mask_to_rle",
    "coco_rle",
    "rle_to_mask",
    "rle_area",
    "rle_to_bbox",
    "rle_area_bbox",
    "mask_to_polygons",
    "polygons_to_rle",
    "crop_to_box",
    "box_of_mask",
    "band_to_rle",
    "box_polygon",
    "to_rle",
    "decode",
    "to_polygons",
    "area",
    "bbox",
    "iou",
    "same_polygons",
    "rle_runs",
    "runs_fill",
    "rle_outline",
]

Polygons = list[list[float]]


def is_rle(seg: Any) -> bool:
    return isinstance(seg, dict) and "counts" in seg and "size" in seg


PLAIN_NUMBERS = frozenset((int, float))


def is_polygons(seg: Any) -> bool:
    """A non-empty list of polygons with at least three points each (what pycocotools accepts)."""
    if not isinstance(seg, list) or not seg:
        return False
    for p in seg:
        if not isinstance(p, list) or len(p) < 6 or len(p) % 2:
            return False
        # Plain ints and floats (what JSON gives) are checked at C speed; anything else (numpy
        # scalars, bools, strings) value by value.
        if not PLAIN_NUMBERS.issuperset(map(type, p)) and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
            return False
    return True


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


def rle_area_bbox(rle: dict[str, Any]) -> tuple[float, tuple[float, float, float, float]]:
    """(area, tight ``[x, y, w, h]`` box) of an RLE mask, decoding its string once."""
    c = coco_rle(rle)
    x, y, w, h = _coco.toBbox(c).tolist()
    return float(_coco.area(c)), (float(x), float(y), float(w), float(h))


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


# --- segmentations of either kind ------------------------------------------------------------


def box_polygon(x: float, y: float, w: float, h: float) -> Polygons:
    """An ``[x, y, w, h]`` box as a one-polygon segmentation."""
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def to_rle(seg: Any, height: int, width: int) -> dict[str, Any]:
    """Compressed RLE with ``counts`` as str (JSON-safe), from polygons or any RLE."""
    if is_rle(seg):
        if isinstance(seg["counts"], str):
            return {"size": [int(v) for v in seg["size"]], "counts": seg["counts"]}
        return mask_to_rle(rle_to_mask(seg))
    if is_polygons(seg):
        return polygons_to_rle(seg, height, width)
    raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")


def decode(seg: Any, height: int, width: int) -> np.ndarray:
    """A segmentation of either kind as a ``uint8`` 0/1 mask of the image."""
    return rle_to_mask(to_rle(seg, height, width)).astype(np.uint8)


def to_polygons(seg: Any, height: int, width: int) -> Polygons:
    """Polygons from polygons (returned as is) or RLE (traced with OpenCV); [] if the mask is empty.

    A traced contour can enclose no pixel centre (a one-pixel-wide L, a 2x2 blob traced along its
    centres rasterises to less than it was): pycocotools' annToMask would give an empty mask, so
    such polygons are dropped and the caller falls back to the box."""
    if is_polygons(seg):
        return seg
    if is_rle(seg):
        h, w = seg["size"]
        traced = mask_to_polygons(rle_to_mask(seg), min_area=0.0)
        return [p for p in traced if rle_area(polygons_to_rle([p], h, w)) > 0]
    raise ValueError(f"not a COCO segmentation: {str(seg)[:80]}")


def area(seg: Any, height: int, width: int) -> float:
    """Pixels a segmentation of either kind covers on a ``width`` x ``height`` image."""
    return rle_area(to_rle(seg, height, width))


def bbox(seg: Any, height: int, width: int) -> list[float]:
    """Tight box [x, y, w, h]; for polygons straight from the coordinates (no rasterising)."""
    if is_polygons(seg):
        xs = [v for p in seg for v in p[0::2]]
        ys = [v for p in seg for v in p[1::2]]
        return [float(min(xs)), float(min(ys)), float(max(xs) - min(xs)), float(max(ys) - min(ys))]
    return list(rle_to_bbox(to_rle(seg, height, width)))


def iou(a: Any, b: Any, height: int, width: int) -> float:
    """Mask IoU of two segmentations on an image of the given size."""
    ra, rb = (coco_rle(to_rle(x, height, width)) for x in (a, b))
    return float(_coco.iou([ra], [rb], [0])[0][0])


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


# --- run lengths and outlines to draw ------------------------------------------------------


def rle_runs(counts: str) -> np.ndarray | None:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``) as int64,
    or None if it ends mid-number. pycocotools itself decodes a string whose runs fall short of
    the mask into uninitialised memory, so callers check the runs before it sees them.

    Decoded with numpy, a few hundred times faster than character by character (evaluate and
    the web reviewer read thousands of masks); strings no real mask produces (non-ASCII, numbers
    beyond 2^36, tens of millions of runs) go through the exact character loop instead."""
    if not counts:
        return np.zeros(0, dtype=np.int64)
    if not counts.isascii() or len(counts) > 50_000_000:
        return _rle_runs_exact(counts)
    c = np.frombuffer(counts.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    more = (c & 0x20) != 0
    if more[-1]:
        return None  # ends mid-number
    ends = np.flatnonzero(~more)  # the last character of each number
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    if lengths.max() > 7:  # 35 bits: beyond any mask's size
        return _rle_runs_exact(counts)
    k = np.arange(len(c), dtype=np.int64) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)  # 5 bits per character, low bits first
    negative = (c[ends] & 0x10) != 0
    x[negative] |= np.left_shift(-1, 5 * lengths[negative])
    runs = x.copy()
    # From the fourth number on, each is stored as the difference to the one two places back.
    runs[1::2] = np.cumsum(x[1::2])
    if len(x) > 2:
        runs[2::2] = np.cumsum(x[2::2])
    return runs


def runs_fill(runs: np.ndarray | None, n: int) -> bool:
    """Whether decoded runs are a mask of ``n`` pixels: none negative, adding up to ``n``
    (bounded first, so the sum cannot wrap around)."""
    return (runs is not None and len(runs) > 0 and int(runs.min()) >= 0 and int(runs.max()) <= n
            and int(runs.sum()) == n)


def _rle_runs_exact(counts: str) -> np.ndarray | None:
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts):
                return None
            c = ord(counts[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    # Beyond int64 only for hostile strings: any run that large is refused by the callers anyway.
    return np.array([max(min(r, 2**62), -(2**62)) for r in runs], dtype=np.int64)


OUTLINE_EPSILON = 0.75  # pixels: what a reviewer sees and drags


def rle_outline(seg: dict[str, Any]) -> list[list[float]]:
    """Polygons around an RLE mask ``{"size": [h, w], "counts": ...}``, to draw (the web reviewer);
    [] when empty or unreadable.

    Decoding each mask at full image size costs milliseconds (most of it zeros); here only the
    columns the mask touches are filled from its runs (COCO RLE is column-major), then OpenCV
    traces that strip, simplified to within ``OUTLINE_EPSILON`` pixels. The stored mask stays as
    it is until a reviewer edits it."""
    try:
        h, w = int(seg["size"][0]), int(seg["size"][1])
        counts = seg["counts"]
        runs = rle_runs(counts) if isinstance(counts, str) else np.asarray([int(v) for v in counts], dtype=np.int64)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return []
    if h <= 0 or w <= 0 or not runs_fill(runs, h * w):
        return []
    ends = np.cumsum(np.asarray(runs, dtype=np.int64))
    starts = ends - np.asarray(runs, dtype=np.int64)
    s, e = starts[1::2], ends[1::2]  # runs of ones (runs alternate 0, 1, 0, ...)
    keep = e > s
    s, e = s[keep], e[keep]
    if not len(s):
        return []
    x0, x1 = int(s.min() // h), int((e.max() - 1) // h) + 1
    flat = np.zeros((x1 - x0) * h, dtype=np.uint8)
    base = x0 * h
    for a, b in zip((s - base).tolist(), (e - base).tolist()):
        flat[a:b] = 1
    strip = flat.reshape(x1 - x0, h).T  # rows = image rows, columns x0..x1
    rows = np.flatnonzero(strip.any(axis=1))
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    # one pixel of margin so contours of masks touching the strip's edge close properly
    crop = np.zeros((y1 - y0 + 2, x1 - x0 + 2), dtype=np.uint8)
    crop[1:-1, 1:-1] = strip[y0:y1]
    polys = mask_to_polygons(crop, min_area=0.0, epsilon=OUTLINE_EPSILON)
    out = []
    for p in polys:
        arr = np.asarray(p, dtype=np.float64).reshape(-1, 2) + (x0 - 1, y0 - 1)
        out.append(arr.reshape(-1).tolist())
    return out
