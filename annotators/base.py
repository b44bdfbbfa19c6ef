"""The one interface every detector backend implements, and the one type that leaves it.

An :class:`Annotator` takes a batch of decoded images (RGB ``uint8`` arrays, ``H x W x 3``) and
returns, per image, a list of :class:`corpus.instances.Instance` (re-exported here): detector
label, score, box and mask, all in the pixel coordinates of the image it was given. The same type
goes on to the store, review, preview and the COCO files (see :mod:`corpus.instances` for its
conventions). Annotators know images and models, nothing of the store or the ontology
(``corpus.annotate`` maps and stores).

Backends return masks as whichever they have: a boolean ``H x W`` array over the whole image or
a COCO RLE dict; :func:`instances_from_arrays` is the conversion from plain detector arrays.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from corpus import masks as _masks
from corpus.errors import ModelError
from corpus.instances import Instance  # the one instance type (re-exported for backends)

__all__ = [
    "Annotator",
    "AnnotatorError",
    "Instance",
    "instances_from_arrays",
    "file_hash",
    "load_rgb",
    "COCO80",
]

# COCO 2017 "thing" classes in the contiguous 0..79 order that YOLO and detectron2 use.
COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


class AnnotatorError(ModelError):
    """A model cannot be loaded or run; the message says what to provide and where."""


@runtime_checkable
class Annotator(Protocol):
    """A loaded detector.

    ``name`` identifies the model (e.g. ``onnx-yolo:yolov5s-seg``), ``version`` the exact weights
    (``sha256:<16 hex>`` of the weights file), ``params`` the thresholds and sizes it runs with;
    all three are stored with every proposal, so a rerun knows what it has already done.
    """

    name: str
    version: str
    labels: Sequence[str]

    @property
    def params(self) -> dict[str, Any]: ...

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        """Detect instances in each RGB ``uint8`` image; one list per image, in input order."""
        ...


def instances_from_arrays(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    masks: np.ndarray | None,
    labels: Sequence[str],
    *,
    score_threshold: float = 0.0,
    mask_threshold: float = 0.5,
    image_size: tuple[int, int] | None = None,
) -> list[Instance]:
    """Turn a detector's plain arrays into :class:`Instance` objects, best score first.

    The one conversion that Mask R-CNN (torchvision and detectron2) and ultralytics outputs go
    through: ``boxes`` ``(N, 4)`` xyxy, ``scores`` ``(N,)``, ``class_ids`` ``(N,)`` indexes into
    ``labels``, ``masks`` ``(N, H, W)`` or ``(N, 1, H, W)`` as bool or probabilities (thresholded
    at ``mask_threshold``). Boxes are clipped to ``image_size`` ``(h, w)`` (from the masks if
    not given); masks are cut to their box, so a mask never spills outside it.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    class_ids = np.asarray(class_ids).reshape(-1).astype(np.int64)
    if not (len(boxes) == len(scores) == len(class_ids)):
        raise ValueError(f"boxes/scores/classes disagree in length: {len(boxes)}/{len(scores)}/{len(class_ids)}")
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim == 4:
            masks = masks[:, 0]
        if len(masks) != len(boxes):
            raise ValueError(f"{len(masks)} masks for {len(boxes)} boxes")
        if image_size is None:
            image_size = (int(masks.shape[1]), int(masks.shape[2]))
    out: list[Instance] = []
    for i in np.argsort(-scores, kind="stable"):
        score = float(scores[i])
        if score < score_threshold:
            continue
        cid = int(class_ids[i])
        if not 0 <= cid < len(labels):
            raise ValueError(f"class index {cid} outside the model's {len(labels)} labels")
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        if image_size is not None:
            h, w = image_size
            x0, x1 = min(max(x0, 0.0), w), min(max(x1, 0.0), w)
            y0, y1 = min(max(y0, 0.0), h), min(max(y1, 0.0), h)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = None
        if masks is not None:
            m = masks[i]
            m = m if m.dtype == bool else m > mask_threshold
            mask = _masks.crop_to_box(m, (x0, y0, x1, y1))
        out.append(Instance(labels[cid], score, (x0, y0, x1, y1), mask))
    return out


def file_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """``sha256:<first 16 hex>`` of a weights file: the model version stored with proposals."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return "sha256:" + h.hexdigest()[:16]


def load_rgb(path: str | Path | bytes) -> np.ndarray:
    """Decode an image file (or its bytes, e.g. read from object storage) to an RGB ``uint8``
    array in its stored pixel order.

    EXIF orientation is ignored on purpose: the store's width/height and every mask refer to the
    pixels as stored, as COCO tools read them.
    """
    import cv2

    if isinstance(path, (bytes, bytearray)):
        data = np.frombuffer(path, dtype=np.uint8)
        blob, path = path, "(bytes)"
    else:
        data = np.fromfile(str(path), dtype=np.uint8)
        blob = None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) if data.size else None
    if img is not None:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    # Formats OpenCV does not read (GIF, some WebP/TIFF variants): Pillow, first frame.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob) if blob is not None else path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot decode image {path}: {exc}") from None
