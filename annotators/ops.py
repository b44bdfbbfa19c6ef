"""Numeric helpers the torch-free backends share: letterbox, NMS, proto masks -> image masks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from corpus import masks as _masks


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: ``input = resize(image) * ratio + pad``."""

    ratio_x: float
    ratio_y: float
    left: int
    top: int
    height: int  # original image
    width: int

    def boxes_to_image(self, boxes: np.ndarray) -> np.ndarray:
        out = boxes.astype(np.float64, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.left) / self.ratio_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.top) / self.ratio_y
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, self.width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, self.height)
        return out


def letterbox(image: np.ndarray, size: tuple[int, int], pad_value: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad to ``size`` (h, w), centred, as YOLO trains."""
    h, w = image.shape[:2]
    th, tw = size
    r = min(th / h, tw / w)
    nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    left, top = int(round((tw - nw) / 2 - 0.1)), int(round((th - nh) / 2 - 0.1))
    out = cv2.copyMakeBorder(resized, top, th - nh - top, left, tw - nw - left, cv2.BORDER_CONSTANT,
                             value=(pad_value, pad_value, pad_value))
    return out, Letterbox(nw / w, nh / h, left, top, h, w)


def to_nchw(images: list[np.ndarray], scale: float = 1 / 255.0) -> np.ndarray:
    """HWC uint8 RGB images of one size -> float32 NCHW batch in 0..1."""
    # blobFromImages does the cast, scale and transpose in one pass (3x faster than numpy here).
    return cv2.dnn.blobFromImages(images, scalefactor=scale, swapRB=False, crop=False, ddepth=cv2.CV_32F)


def nms(boxes_xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou: float, max_det: int) -> np.ndarray:
    """Class-aware NMS; indexes of the kept boxes, best first."""
    if len(boxes_xyxy) == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = boxes_xyxy.astype(np.float32, copy=True)
    xywh[:, 2:] -= xywh[:, :2]
    keep = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.astype(np.float32).tolist(),
                                   class_ids.astype(np.int32).tolist(), 0.0, float(iou))
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return keep[:max_det]


def proto_mask_rle(
    logits: np.ndarray,
    box: tuple[float, float, float, float],
    affine: tuple[float, float, float, float],
    image_hw: tuple[int, int],
) -> dict[str, Any]:
    """One instance mask from a low-resolution logit map, as COCO RLE of the whole image.

    ``affine`` = ``(sx, sy, ox, oy)`` maps an image pixel *centre* ``(x + .5, y + .5)`` to logit-map
    coordinates ``(x + .5) * sx + ox``, ``(y + .5) * sy + oy`` (pixel-centre convention of the map).
    Only the box region is resampled (bilinear on logits, then > 0, i.e. sigmoid > 0.5), so a
    large photo costs no more than its boxes; the mask is inside the box by construction.
    """
    h, w = image_hw
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x1 <= x0 or y1 <= y0:
        return _masks.band_to_rle(np.zeros((0, 0), dtype=bool), 0, 0, h, w)
    sx, sy, ox, oy = affine
    m = np.array([[sx, 0.0, (x0 + 0.5) * sx + ox - 0.5], [0.0, sy, (y0 + 0.5) * sy + oy - 0.5]], dtype=np.float64)
    patch = cv2.warpAffine(logits, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    return _masks.band_to_rle(patch > 0, x0, y0, h, w)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
