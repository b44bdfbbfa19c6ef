"""What COCO Annotator does to our review export, following its code (backend/workers/tasks/
data.py and database/annotations.py): on import it gives images, categories and annotations its own
ids, keeps segmentation, bbox, area (as an integer) and colour, and replaces each annotation's
metadata by the dataset default (empty); on export it writes what it holds, and stops at the first
image left without annotations."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable


def load_parts(paths: list[Path]) -> dict:
    merged = {"images": [], "annotations": [], "categories": None}
    for p in paths:
        d = json.loads(Path(p).read_text(encoding="utf-8"))
        merged["images"] += d["images"]
        merged["annotations"] += d["annotations"]
        merged["categories"] = d["categories"]
    return merged


def coco_annotator_roundtrip(
    parts: list[Path],
    review: Callable[[dict, dict], None],
    out_dir: Path,
    at: float | None = None,
) -> Path:
    """``review(data, by_image_name)`` edits COCO Annotator's state in place (annotations keyed by
    our image file names) before its export is written as ``coco-<time>.json``."""
    ours = load_parts(parts)
    cat_ids = {c["id"]: 500 + i for i, c in enumerate(ours["categories"])}
    img_ids = {im["id"]: 9000 + i for i, im in enumerate(ours["images"])}
    state = {
        "categories": [{"id": cat_ids[c["id"]], "name": c["name"], "supercategory": "", "color": c["color"],
                        "metadata": {}} for c in ours["categories"]],
        "images": [{"id": img_ids[im["id"]], "file_name": im["file_name"], "width": im["width"],
                    "height": im["height"], "path": f"/datasets/sport/{im['file_name']}", "license": None,
                    "dataset_id": 1} for im in ours["images"]],
        "annotations": [{"id": 70000 + i, "image_id": img_ids[a["image_id"]], "category_id": cat_ids[a["category_id"]],
                         "segmentation": a["segmentation"], "area": int(a["area"]), "bbox": a["bbox"],
                         "iscrowd": False, "isbbox": False, "color": a["color"], "metadata": {}}
                        for i, a in enumerate(ours["annotations"])],
    }
    by_name = {im["file_name"]: im for im in state["images"]}
    review(state, by_name)
    # Its exporter: images in order, each with its annotations; it stops at the first without any.
    out_images, out_anns = [], []
    for im in state["images"]:
        anns = [a for a in state["annotations"] if a["image_id"] == im["id"]]
        if not anns:
            break
        out_images.append(im)
        out_anns += anns
    path = Path(out_dir) / f"coco-{at if at is not None else time.time() + 1:.6f}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": out_images, "categories": state["categories"], "annotations": out_anns}),
                    encoding="utf-8")
    return path
