"""Draw proposals over their images so a person can look at them.

``write_previews`` writes, under ``OUT``:

* ``images/<image_id>.png``: the image with every proposal's mask (translucent), box and
  ``class (detector label) score``;
* ``classes/<class>.png``: a contact sheet per class, one tile per proposal (its box with some
  margin, its mask drawn, score and image id underneath), best scores first.
"""

from __future__ import annotations

import colorsys
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from annotators.base import load_rgb
from corpus.instances import Instance
from corpus.annotate import UNCLASSIFIED  # the name proposals of no class are counted under
from corpus.errors import UsageError
from corpus.storage import open_storage
from corpus.store.db import session_scope
from corpus.store.queries import resolve_domain
from corpus.store.models import HarvestQuery, Image, ImageHit, OntologyClass, Proposal

__all__ = ["PreviewSummary", "caption", "draw_items", "contact_sheet", "write_previews"]

def caption(inst: Instance) -> str:
    """``class (detector label) score``: the class alone when the detector used its name, and
    "(no class)" for a proposal mapped to no class."""
    cname = inst.class_name or UNCLASSIFIED
    if cname == UNCLASSIFIED:
        name = f"{inst.label} (no class)"
    elif cname == inst.label:
        name = cname
    else:
        name = f"{cname} ({inst.label})"
    return f"{name} {inst.score or 0.0:.2f}"


@dataclass
class PreviewSummary:
    images: int = 0
    proposals: int = 0
    sheets: dict[str, int] = field(default_factory=dict)  # class -> tiles
    missing: list[tuple[int, str]] = field(default_factory=list)
    out_dir: Path | None = None


def color_for(name: str) -> tuple[int, int, int]:
    """A stable, saturated RGB colour per class name."""
    hue = (sum(ord(c) * 31 ** i for i, c in enumerate(name)) % 360) / 360.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _overlay(img: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], alpha: float = 0.45) -> None:
    if mask.any():
        img[mask] = (img[mask] * (1 - alpha) + np.array(color) * alpha).astype(np.uint8)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, color, 2)


def _label(img: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], scale: float = 0.5) -> None:
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y = max(y, th + base)
    cv2.rectangle(img, (x, y - th - base), (x + tw, y), color, -1)
    cv2.putText(img, text, (x, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)


def _mask_on(it: Instance, height: int, width: int) -> np.ndarray | None:
    """The instance's mask on an image of this size; None (draw the box alone) when it has none
    or one of another size (an image file replaced after annotation would index out of bounds)."""
    m = it.mask
    if m is None or (isinstance(m, np.ndarray) and m.shape != (height, width)) or (
            isinstance(m, dict) and tuple(m.get("size", ())) != (height, width)):
        return None
    try:
        return it.mask_array(height, width)
    except (ValueError, TypeError):  # not a readable mask: the box will do
        return None


def draw_items(image: np.ndarray, items: Sequence[Instance]) -> np.ndarray:
    """A copy of the RGB image with the instances' masks, boxes and captions drawn (lowest score
    first)."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(h, w) / 1000)
    for it in sorted(items, key=lambda i: i.score or 0.0):
        color = color_for(it.class_name or UNCLASSIFIED)
        if (mask := _mask_on(it, h, w)) is not None:
            _overlay(out, mask, color)
        x, y, bw, bh = (int(round(v)) for v in it.box_xywh)
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, 2)
        _label(out, caption(it), x, y, color, scale)
    return out


def _tile(image: np.ndarray, it: Instance, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    x, y, bw, bh = it.box_xywh
    m = 0.1 * max(bw, bh)
    x0, y0 = max(int(x - m), 0), max(int(y - m), 0)
    x1, y1 = min(int(np.ceil(x + bw + m)), w), min(int(np.ceil(y + bh + m)), h)
    crop = image[y0:y1, x0:x1].copy()
    color = color_for(it.class_name or UNCLASSIFIED)
    if (mask := _mask_on(it, h, w)) is not None:
        _overlay(crop, mask[y0:y1, x0:x1], color)
    tile = np.full((size + 18, size, 3), 255, dtype=np.uint8)
    if crop.size:
        r = size / max(crop.shape[:2])
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * r)), max(1, int(crop.shape[0] * r))),
                          interpolation=cv2.INTER_AREA)
        oy, ox = (size - crop.shape[0]) // 2, (size - crop.shape[1]) // 2
        tile[oy:oy + crop.shape[0], ox:ox + crop.shape[1]] = crop
    cv2.putText(tile, f"{it.score or 0.0:.2f} #{it.image_id}", (3, size + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)
    return tile


def contact_sheet(tiles: Sequence[np.ndarray], title: str, cols: int = 8) -> np.ndarray:
    """Tiles of one size in a grid under a title bar."""
    th, tw = tiles[0].shape[:2]
    rows = (len(tiles) + cols - 1) // cols
    ncols = min(cols, len(tiles))
    sheet = np.full((30 + rows * (th + 4), ncols * (tw + 4) + 4, 3), 240, dtype=np.uint8)
    cv2.putText(sheet, title, (6, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = 30 + r * (th + 4), 4 + c * (tw + 4)
        sheet[y:y + th, x:x + tw] = t
    return sheet


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "class"


def _load(storage, rel: str) -> np.ndarray:
    path = storage.local_path(rel)
    return load_rgb(path if path is not None else storage.read_bytes(rel))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def write_previews(
    engine: Engine,
    domain: str,
    out_dir: Path,
    data_dir: Path,
    *,
    model: str | None = None,
    min_score: float = 0.0,
    limit: int | None = None,
    per_class: int = 48,
    tile: int = 160,
    progress: Callable[[int, int], None] | None = None,
) -> PreviewSummary:
    """PNG per image and a contact sheet per class for the domain's proposals (see module doc).

    ``model`` keeps only proposals of that model name; ``limit`` caps the number of images.
    """
    if per_class < 1:
        raise UsageError(f"per_class must be at least 1, got {per_class}")
    out_dir = Path(out_dir)
    summary = PreviewSummary(out_dir=out_dir)
    with session_scope(engine) as s:
        dom = resolve_domain(s, domain)
        image_ids = (select(ImageHit.image_id).join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
                     .join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
                     .where(OntologyClass.domain_id == dom.id).distinct())
        q = (select(Proposal, OntologyClass.name, Image.local_path)
             .join(Image, Image.id == Proposal.image_id)
             .outerjoin(OntologyClass, OntologyClass.id == Proposal.class_id)
             .where(Proposal.image_id.in_(image_ids), Proposal.score >= min_score)
             .order_by(Proposal.image_id, Proposal.id))
        if model:
            q = q.where(Proposal.model_name == model)
        by_image: dict[int, list[Instance]] = defaultdict(list)
        paths: dict[int, str] = {}
        for p, cname, local_path in s.execute(q):
            if limit is not None and p.image_id not in by_image and len(by_image) >= limit:
                continue
            by_image[p.image_id].append(Instance.from_proposal(p, cname or UNCLASSIFIED))
            paths[p.image_id] = local_path
    tiles: dict[str, list[tuple[float, np.ndarray]]] = defaultdict(list)
    total = len(by_image)
    storage = open_storage(data_dir)
    for n, (image_id, items) in enumerate(by_image.items(), 1):
        try:
            img = _load(storage, paths[image_id])
        except (OSError, ValueError) as exc:
            summary.missing.append((image_id, str(exc)))
            continue
        _write_png(out_dir / "images" / f"{image_id}.png", draw_items(img, items))
        summary.images += 1
        summary.proposals += len(items)
        for it in items:
            bucket = tiles[it.class_name or UNCLASSIFIED]
            # Keep the best per_class tiles only; a big domain would otherwise hold every crop in memory.
            if len(bucket) < per_class or it.score > min(b[0] for b in bucket):
                bucket.append((it.score, _tile(img, it, tile)))
                if len(bucket) > per_class:
                    bucket.remove(min(bucket, key=lambda b: b[0]))
        if progress:
            progress(n, total)
    for name, items in tiles.items():
        ordered = [t for _, t in sorted(items, key=lambda b: -b[0])]
        _write_png(out_dir / "classes" / f"{_safe(name)}.png", contact_sheet(ordered, f"{name}: {len(ordered)} shown"))
        summary.sheets[name] = len(ordered)
    return summary
