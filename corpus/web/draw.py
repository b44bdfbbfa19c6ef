"""Outlines to draw: an RLE mask traced into polygons, quickly enough for a page of 100 masks.

Decoding each mask at full image size costs milliseconds (most of it zeros); here only the
columns the mask touches are filled from its runs (COCO RLE is column-major), then OpenCV traces
that strip. The outline is simplified to within ``EPSILON`` pixels: what a reviewer sees and
drags, while the stored mask stays as it is until they edit it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotators import masks as amasks
from corpus.shapes import rle_runs as _string_runs

EPSILON = 0.75  # pixels


def rle_outline(seg: dict[str, Any]) -> list[list[float]]:
    """Polygons around an RLE mask ``{"size": [h, w], "counts": ...}``; [] when empty or unreadable."""
    try:
        h, w = int(seg["size"][0]), int(seg["size"][1])
        counts = seg["counts"]
        runs = _string_runs(counts) if isinstance(counts, str) else [int(v) for v in counts]
    except (KeyError, TypeError, ValueError, IndexError):
        return []
    if not runs or h <= 0 or w <= 0 or any(r < 0 for r in runs) or sum(runs) != h * w:
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
    polys = amasks.mask_to_polygons(crop, min_area=0.0, epsilon=EPSILON)
    out = []
    for p in polys:
        arr = np.asarray(p, dtype=np.float64).reshape(-1, 2) + (x0 - 1, y0 - 1)
        out.append(arr.reshape(-1).tolist())
    return out
