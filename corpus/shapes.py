"""One shape validation for every way a box or mask enters or leaves the store.

pycocotools is C: it trusts its input. NaN or infinite coordinates, a box of 1e300, a polygon of
a thousand vertices at 1e6 px or an RLE whose runs do not add up make it allocate gigabytes,
read uninitialised memory or crash the process. So every shape is checked here, in plain Python,
before pycocotools sees it: by review add/edit, by the COCO Annotator import, by both exports,
by evaluate, and by the web reviewer. The checks:

* numbers are finite ints or floats (not bools, not strings);
* a box has positive width and height and lies inside the image, within a tolerance
  (:func:`tolerance`: detectors and editors overshoot the border by a pixel or two);
* polygons have at least three points each, at most :data:`MAX_POINTS` points in all and at most
  :data:`MAX_POLYGONS` polygons, every point inside the image within the tolerance, and an
  outline no longer than :data:`MAX_OUTLINE` times the image's width + height (pycocotools'
  rasteriser allocates memory in proportion to the outline);
* an RLE has the image's size and runs that add up to it;
* the mask covers at least one pixel (checked last, by rasterising what passed the rest).

:func:`shape_problem` says what is wrong (or None); :func:`check_shape` raises :class:`ShapeError`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from corpus import masks as amasks
from corpus.errors import UsageError
from corpus.masks import PLAIN_NUMBERS, is_polygons, is_rle, rle_runs, runs_fill  # what a segmentation is: defined with the codec

MAX_POINTS = 20_000  # vertices per annotation, all polygons together (a traced 4K mask has ~3,000)
MAX_POLYGONS = 1_000
MAX_OUTLINE = 100  # total outline (max(|dx|, |dy|) per edge) at most this x (width + height)
MAX_SIDE = 100_000  # image sides we rasterise at all
MAX_COORD = 1e6  # without an image size: beyond any image


class ShapeError(UsageError):
    """A box or segmentation that cannot be stored or exported safely; the message says why."""


def tolerance(width: int, height: int) -> float:
    """How far (px) a point or box edge may lie outside the image: 2 px or 1 % of the longer side."""
    return max(2.0, 0.01 * max(width, height))


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(v: float) -> str:
    return f"{v:g}"


def box_problem(bbox: Any, width: int | None = None, height: int | None = None) -> str | None:
    """Why ``bbox`` ([x, y, w, h]) is not a usable box on a ``width`` x ``height`` image, or None."""
    if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(is_number(v) for v in bbox)):
        return f"box must be x,y,w,h with w, h > 0 as 4 finite numbers, not {list(bbox) if isinstance(bbox, (list, tuple)) else bbox!r:.60}"
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        return f"box must be x,y,w,h with w, h > 0, not {[_fmt(v) for v in (x, y, w, h)]} (a box of zero size covers nothing)"
    if width and height:
        t = tolerance(width, height)
        if x < -t or y < -t or x + w > width + t or y + h > height + t:
            return (f"box {[_fmt(v) for v in (x, y, w, h)]} does not fit the {width}x{height} image "
                    f"(it may overshoot the border by {_fmt(t)} px at most)")
    elif max(abs(x), abs(y), x + w, y + h) > MAX_COORD:
        return f"box {[_fmt(v) for v in (x, y, w, h)]} lies beyond any image"
    return None


def _rle_problem(seg: dict[str, Any], width: int | None, height: int | None) -> str | None:
    size, counts = seg["size"], seg["counts"]
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIDE for v in size)):
        return f"RLE size must be [height, width], got {size!r:.60}"
    if width and height and [int(v) for v in size] != [height, width]:
        return f"RLE size {size} is not the image's [height, width] [{height}, {width}]"
    n = size[0] * size[1]
    if isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts) or sum(counts) != n:
            return "RLE counts must be non-negative run lengths adding up to height x width"
    elif not isinstance(counts, str) or not counts.isascii() or not counts:
        return f"RLE counts must be a string or a list of run lengths, got {counts!r:.40}"
    else:
        if not runs_fill(rle_runs(counts), n):
            return "RLE counts do not decode to a mask of its size"
    return None


def _polygons_problem(seg: list[list[float]], width: int | None, height: int | None) -> str | None:
    # Built-ins (sum, min, max) do the per-value work: this runs once per annotation per export.
    if len(seg) > MAX_POLYGONS:
        return f"{len(seg)} polygons: at most {MAX_POLYGONS} per annotation"
    n_points = sum(len(p) for p in seg) // 2
    if n_points > MAX_POINTS:
        return f"{n_points} points: at most {MAX_POINTS} per annotation (simplify the outline)"
    lo = hi = 0.0
    for p in seg:
        total = sum(p)  # NaN or infinite if any value is (values are numbers: is_polygons)
        if total != total or total in (math.inf, -math.inf):
            return "polygon coordinates must be finite numbers within the image"
        lo, hi = min(lo, min(p)), max(hi, max(p))
    if lo < -MAX_COORD or hi > MAX_COORD:
        return "polygon coordinates must be finite numbers within the image"
    if not (width and height):
        return None
    t = tolerance(width, height)
    xs = [v for p in seg for v in p[0::2]]
    ys = [v for p in seg for v in p[1::2]]
    if min(xs) < -t or max(xs) > width + t or min(ys) < -t or max(ys) > height + t:
        outside = [(x, y) for x, y in zip(xs, ys) if not (-t <= x <= width + t and -t <= y <= height + t)]
        if len(outside) == n_points:
            return f"the shape covers no pixel of the {width}x{height} image (all its points lie outside it)"
        x, y = outside[0]
        return (f"{len(outside)} point(s) lie outside the {width}x{height} image by more than {_fmt(t)} px, "
                f"e.g. ({_fmt(x)}, {_fmt(y)})")
    # Every edge is at most max(width, height) + 2t long: only many points can make the outline
    # long enough to matter, so it is summed only then.
    limit = MAX_OUTLINE * (width + height)
    if n_points * (max(width, height) + 2 * t) > limit:
        outline = sum(max(abs(p[i] - p[i - 2]), abs(p[i + 1] - p[i - 1])) for p in seg for i in range(0, len(p), 2))
        if outline > limit:
            return f"the outline is {outline:.0f} px long: at most {MAX_OUTLINE} x (width + height) on this image"
    return None


def _safe_polygon_extent(seg: Any, width: int | None, height: int | None) -> tuple[float, float, float, float] | None:
    """The extent ``(x0, y0, x1, y1)`` of polygons that are plainly safe on this image, or None
    when the full check must decide (and word the problem).

    The common case, checked in one pass at C speed (built-ins over each polygon): plain ints
    and floats, finite, within the limits, every point inside the image within the tolerance,
    and too few points for the outline limit to matter. It runs for every annotation of every
    export, so it must cost little more than reading the numbers."""
    if type(seg) is not list or not seg or len(seg) > MAX_POLYGONS or not (width and height):
        return None
    n = 0
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for p in seg:
        if type(p) is not list:
            return None
        k = len(p)
        if k < 6 or k % 2 or not PLAIN_NUMBERS.issuperset(map(type, p)):
            return None
        total = sum(p)
        if total != total or total in (math.inf, -math.inf):
            return None
        xs, ys = p[0::2], p[1::2]
        x0, x1 = min(x0, min(xs)), max(x1, max(xs))
        y0, y1 = min(y0, min(ys)), max(y1, max(ys))
        n += k
    n //= 2
    t = tolerance(width, height)
    if n > MAX_POINTS or x0 < -t or y0 < -t or x1 > width + t or y1 > height + t:
        return None
    if n * (max(width, height) + 2 * t) > MAX_OUTLINE * (width + height):
        return None  # enough points for the outline limit to matter: the full check measures it
    return x0, y0, x1, y1


def segmentation_problem(seg: Any, width: int | None = None, height: int | None = None) -> str | None:
    """Why a segmentation cannot be rasterised safely on a ``width`` x ``height`` image (or, with
    no size, at all), or None. Does not rasterise: see :func:`shape_problem` for "covers a pixel"."""
    if _safe_polygon_extent(seg, width, height) is not None:
        return None
    if is_polygons(seg):
        return _polygons_problem(seg, width, height)
    if is_rle(seg):
        return _rle_problem(seg, width, height)
    return ("expected polygons [[x1, y1, x2, y2, x3, y3, ...], ...] with at least three points each, "
            "or an RLE")


def shape_problem(segmentation: Any | None, bbox: Sequence[float] | None, width: int | None,
                  height: int | None, *, covers_pixel: bool = True) -> str | None:
    """Why a shape (a segmentation, a box, or both) is not usable on the image, or None.

    With ``covers_pixel`` (default) a segmentation that passed every other check is rasterised
    to check that it covers at least one pixel (a line or a sliver would be an empty mask)."""
    if width is not None and height is not None and (
            not (isinstance(width, int) and isinstance(height, int)) or not (0 <= width <= MAX_SIDE and 0 <= height <= MAX_SIDE)):
        return f"the image size {width}x{height} is not usable"
    if segmentation is None and bbox is None:
        return "give a box or a segmentation"
    if bbox is not None and (problem := box_problem(bbox, width, height)):
        return problem
    if segmentation is None:
        return None
    if problem := segmentation_problem(segmentation, width, height):
        return f"segmentation: {problem}"
    if covers_pixel and width and height and amasks.area(segmentation, height, width) <= 0:
        return f"the segmentation covers no pixel of the {width}x{height} image"
    return None


def check_shape(segmentation: Any | None, bbox: Sequence[float] | None, width: int | None,
                height: int | None, **kw: Any) -> None:
    """Raise :class:`ShapeError` if :func:`shape_problem` finds one."""
    if problem := shape_problem(segmentation, bbox, width, height, **kw):
        raise ShapeError(problem)


# --- the one conversion to COCO ------------------------------------------------------------


class CocoShape:
    """An instance as COCO writes it: ``segmentation`` (polygons or RLE), ``bbox`` = the bounds of
    the mask that segmentation rasterises to, ``area`` = its pixel count, and ``note``: "" (the
    stored mask as is), "converted" (polygons <-> RLE) or "box" (no usable mask: its box)."""

    __slots__ = ("segmentation", "bbox", "area", "note")

    def __init__(self, segmentation: Any, bbox: list[float], area: float, note: str) -> None:
        self.segmentation, self.bbox, self.area, self.note = segmentation, bbox, area, note

    def __repr__(self) -> str:
        return f"CocoShape(bbox={self.bbox}, area={self.area}, note={self.note!r})"


def coco_shape(segmentation: Any | None, bbox: Sequence[float] | None, width: int, height: int,
               mode: str = "polygon", area_hint: float | None = None) -> CocoShape | None:
    """The one place an instance becomes COCO (training export, COCO Annotator export, evaluate).

    ``mode``: "polygon" (RLE traced into polygons), "rle" (polygons rasterised) or "any" (as
    stored). Without a mask, or with one covering no pixel, the box stands in (note "box").
    The box written is always the bounds of the written mask, so a reader that crops the mask to
    its box (FiftyOne) loses nothing, and the area is the mask's. Returns None when nothing
    covers a pixel. Raises :class:`ShapeError` for a shape that is unsafe to rasterise.

    ``area_hint``: the mask area the store holds (computed from the mask when the shape was
    recorded). With polygons written as they are stored, a positive hint is taken as the area
    and the box is the polygons' extent widened to whole pixels (it holds every pixel they
    rasterise to), so the common case costs no rasterising at all."""
    if not (width and height):
        raise ShapeError(f"the image size {width}x{height} is unknown")
    extent = _safe_polygon_extent(segmentation, width, height)
    if extent is None and segmentation is not None and (problem := segmentation_problem(segmentation, width, height)):
        raise ShapeError(f"segmentation: {problem}")
    if area_hint is not None and area_hint > 0 and mode in ("polygon", "any") and (
            extent is not None or is_polygons(segmentation)):
        if extent is None:  # safe, but too many points for the quick check: measure it here
            xs = [v for p in segmentation for v in p[0::2]]
            ys = [v for p in segmentation for v in p[1::2]]
            extent = (min(xs), min(ys), max(xs), max(ys))
        x0, y0 = max(0, math.floor(extent[0])), max(0, math.floor(extent[1]))
        x1, y1 = min(width, math.ceil(extent[2])), min(height, math.ceil(extent[3]))
        if x1 > x0 and y1 > y0:
            return CocoShape(segmentation, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], float(area_hint), "")
    box = [float(v) for v in bbox] if bbox is not None else None

    def box_ok() -> bool:  # only asked when the box is needed: no mask, or one covering no pixel
        return box is not None and box_problem(box, width, height) is None

    if segmentation is None and not box_ok():
        if box is not None and all(is_number(v) for v in box) and (box[2] <= 0 or box[3] <= 0):
            return None  # a box of zero size: empty, not unsafe
        raise ShapeError(box_problem(box, width, height) if box is not None else "no segmentation and no box")

    seg, note = segmentation, ""
    source = amasks.to_rle(seg, height, width) if seg is not None else None  # the stored mask: its bounds are the box
    if seg is not None:
        if mode == "rle" and not (is_rle(seg) and isinstance(seg["counts"], str)):
            seg, note = source, "converted"
        elif mode == "polygon" and is_rle(seg):
            # Traced polygons that enclose no pixel centre are dropped (masks.to_polygons).
            seg, note = amasks.to_polygons(seg, height, width) or None, "converted"
    if seg is None:
        rle = None
    elif seg is segmentation or seg is source:
        rle = source  # what is written is the stored mask: rasterised once
    else:
        rle = amasks.to_rle(seg, height, width)
    area, bounds = amasks.rle_area_bbox(rle) if rle is not None else (0.0, None)
    if area <= 0:
        if not box_ok():
            return None
        seg, note, source = amasks.box_polygon(*box), "box", None
        rle = amasks.polygons_to_rle(seg, height, width)
        if mode == "rle":
            seg = rle
        area, bounds = amasks.rle_area_bbox(rle)
        if area <= 0:
            return None
    if source is not None and source is not rle:  # traced polygons: the box is the mask's too
        bounds = _union(bounds, amasks.rle_to_bbox(source))
    return CocoShape(seg, [float(v) for v in bounds], area, note)


def _union(a: Sequence[float], b: Sequence[float] | None) -> list[float]:
    """The box holding both (a traced polygon covers a little less than the mask it came from:
    the box is the mask's, which holds the polygon's too)."""
    if b is None or b[2] <= 0 or b[3] <= 0:
        return [float(v) for v in a]
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


__all__ = ["CocoShape", "coco_shape", "rle_runs", "ShapeError", "tolerance", "is_number", "is_rle", "is_polygons", "box_problem", "segmentation_problem",
           "shape_problem", "check_shape", "MAX_POINTS", "MAX_POLYGONS", "MAX_OUTLINE"]
