"""Do the exports load completely in the tools people feed them to? (a check script, not a test)

Builds a small real store (tests/coco/builder.py, plus two classes both named "swimmer" and a
proposal whose detector box is smaller than its mask), writes the training export (polygons and
RLE) and the COCO Annotator export, and reads every file with:

* pycocotools: every annotation's mask is non-empty and its area is the mask's;
* Datumaro (CVAT's COCO importer): the whole file imports, every instance arrives, category names
  are unique; as a control, the same file with two categories renamed alike is refused;
* FiftyOne's COCO reader (fiftyone.utils.coco.COCOObject.to_detection, the code its importer
  runs per annotation; no database needed): each mask FiftyOne keeps has every pixel of the mask
  pycocotools draws (FiftyOne crops masks to the box);
* COCO Annotator's import rules, reproduced from its source (backend/workers/tasks/data.py,
  import_annotations, and database/annotations.py): categories matched by name ignoring case,
  images by bare file name (unique), annotations need a non-empty polygon list, area is an
  integer field, and an annotation identical to one already held (same image, category and
  segmentation) is merged into it.

Datumaro and FiftyOne are heavy (minutes to install, FiftyOne downgrades starlette), so they are
not test dependencies: install them in a separate environment and run

    python -m venv --system-site-packages /tmp/clients && /tmp/clients/bin/pip install datumaro fiftyone
    PYTHONPATH=$PWD /tmp/clients/bin/python bench/check_clients.py

A client that is not installed is reported as skipped. Exit status 1 if any check fails.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")

FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def build_store(tmp: Path):
    """The COCO test store plus the traps the integrity tests use: two classes named "swimmer",
    and a proposal whose detector box is smaller than its mask (tests/coco/builder.py)."""
    from corpus.store.db import make_engine, upgrade
    from tests.coco.builder import add_mask_beyond_box, add_name_clash, build

    url = f"sqlite:///{tmp / 'store.db'}"
    upgrade(url)
    store = build(make_engine(url), tmp / "data")
    add_name_clash(store)
    add_mask_beyond_box(store, image=1)
    return store


def pycocotools_check(path: Path) -> dict:
    from pycocotools.coco import COCO

    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    anns = coco.dataset["annotations"]
    empty = [a["id"] for a in anns if coco.annToMask(a).sum() == 0]
    off = [a["id"] for a in anns if abs(coco.annToMask(a).sum() - a["area"]) > 0.5]
    check(not empty, f"pycocotools: {path.name}: {len(anns)} annotations, every mask non-empty")
    check(not off, f"pycocotools: {path.name}: every area is its mask's pixel count")
    return coco.dataset


def datumaro_check(path: Path, data: dict) -> None:
    try:
        import datumaro as dm
    except ImportError:
        print("  skip  Datumaro is not installed")
        return
    try:
        ds = dm.Dataset.import_from(str(path), "coco_instances")
    except Exception as exc:  # noqa: BLE001  (the refusal is the finding)
        cause = exc.__cause__ or exc
        check(False, f"Datumaro: {path.name}: refused ({type(cause).__name__}: {str(cause)[:120]})")
        return
    n_items = len(ds)
    kinds = Counter(a.type.name for it in ds for a in it.annotations)
    n_shapes = kinds["polygon"] + kinds["mask"]
    labels = [c.name for c in ds.categories()[dm.AnnotationType.label]]
    check(n_items == len(data["images"]), f"Datumaro: {path.name}: {n_items} of {len(data['images'])} images")
    check(n_shapes == len(data["annotations"]),
          f"Datumaro: {path.name}: {n_shapes} of {len(data['annotations'])} instances ({dict(kinds)})")
    check(len(set(labels)) == len(labels) == len(data["categories"]), f"Datumaro: {path.name}: {len(labels)} unique labels")
    # Control: the same file with two category names alike must be refused, else this check
    # would prove nothing.
    dup = json.loads(json.dumps(data))
    dup["categories"][1]["name"] = dup["categories"][0]["name"]
    with tempfile.TemporaryDirectory() as t:
        p = Path(t) / "instances.json"
        p.write_text(json.dumps(dup), encoding="utf-8")
        try:
            dm.Dataset.import_from(str(p), "coco_instances")
            refused = False
        except Exception as exc:  # noqa: BLE001  (any refusal will do; we print which)
            refused = True
            print(f"        (control: a duplicate name is refused: {type(exc).__name__})")
    check(refused, "Datumaro refuses a file whose category names repeat (control)")


def fiftyone_check(path: Path, data: dict) -> None:
    try:
        import fiftyone.utils.coco as fouc
    except ImportError:
        print("  skip  FiftyOne is not installed")
        return
    from pycocotools.coco import COCO

    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    images = {im["id"]: im for im in data["images"]}
    lost = []
    for a in data["annotations"]:
        im = images[a["image_id"]]
        det = fouc.COCOObject.from_anno_dict(a).to_detection((im["width"], im["height"]), load_segmentation=True)
        kept = int(det.mask.sum()) if det.mask is not None else 0
        full = int(coco.annToMask(a).sum())
        if kept != full:
            lost.append((a["id"], full - kept))
    check(not lost, f"FiftyOne reader: {path.name}: {len(data['annotations'])} masks intact"
          + (f"; lost pixels {lost[:5]}" if lost else ""))


def coco_annotator_check(parts: list[Path], categories_file: Path) -> None:
    cats = json.loads(categories_file.read_text(encoding="utf-8"))["categories"]
    names = [c["name"].casefold() for c in cats]
    check(len(set(names)) == len(names), "COCO Annotator: category names unique ignoring case (name__iexact)")
    seen_files: set[str] = set()
    problems: list[str] = []
    merged = 0
    n = 0
    for part in parts:
        d = json.loads(part.read_text(encoding="utf-8"))
        if [c["name"] for c in d["categories"]] != [c["name"] for c in cats]:
            problems.append(f"{part.name}: categories differ from categories.json")
        for im in d["images"]:
            fn = im["file_name"]
            if "/" in fn or fn in seen_files:
                problems.append(f"{part.name}: file name {fn!r} not bare or not unique")
            seen_files.add(fn)
        held: set[tuple] = set()
        for a in d["annotations"]:
            n += 1
            seg = a.get("segmentation", [])
            if not (isinstance(seg, list) and seg and all(isinstance(p, list) and len(p) >= 6 for p in seg)):
                problems.append(f"annotation {a['id']}: segmentation is not a non-empty polygon list")
            if not isinstance(a.get("area"), int) or not (isinstance(a.get("bbox"), list) and len(a["bbox"]) == 4):
                problems.append(f"annotation {a['id']}: area must be an int and bbox 4 numbers")
            key = (a["image_id"], a["category_id"], json.dumps(seg))
            merged += key in held
            held.add(key)
    check(not problems, f"COCO Annotator: {n} annotations in {len(parts)} part(s) pass its import rules"
          + (f": {problems[:5]}" if problems else ""))
    check(merged == 0, f"COCO Annotator: no annotation it would merge into an identical one ({merged})")


def main() -> int:
    from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
    from corpus.coco.export import CocoExportOptions, export_coco

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        store = build_store(tmp)
        for seg in ("polygon", "rle"):
            out = export_coco(store.engine, tmp / f"train-{seg}", store.data_dir,
                              CocoExportOptions(segmentation=seg, license_policy="research", statuses=(
                                  "accepted", "edited", "pending")))
            path = out.files["all"]
            print(f"training export ({seg}): {path}")
            data = pycocotools_check(path)
            datumaro_check(path, data)
            fiftyone_check(path, data)
        ca = export_coco_annotator(store.engine, tmp / "ca", store.data_dir,
                                   AnnotatorExportOptions(license_policy="research", statuses=("accepted", "pending")))
        print(f"COCO Annotator export: {len(ca.parts)} part(s)")
        for part in ca.parts:
            data = pycocotools_check(part)
            datumaro_check(part, data)
            fiftyone_check(part, data)
        coco_annotator_check(ca.parts, ca.categories_file)
    print(f"\n{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
