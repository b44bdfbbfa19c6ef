"""Ultralytics YOLO-seg (YOLO11 / YOLOv8 ``-seg``): the default backend on user machines.

Weights by path (``/models/yolo11m-seg.pt``) or by release name (``yolo11n-seg.pt``), which the
ultralytics package downloads itself on a machine with internet (our code never does). A model
yaml (``yolo11n-seg.yaml``) builds the network with random weights: for tests only.
Needs the ``yolo`` extra (``pip install 'mic-corpus[yolo]'``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annotators.base import COCO80, AnnotatorError, Instance, file_hash, instances_from_arrays

__all__ = ["UltralyticsYoloSeg", "results_to_instances"]

RELEASES = "https://github.com/ultralytics/assets/releases"


def _import_yolo():
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise AnnotatorError(f"the ultralytics backend needs the `yolo` extra: pip install 'mic-corpus[yolo]' ({exc})") from None
    return YOLO


def results_to_instances(result, labels: Sequence[str], score_threshold: float = 0.0) -> list[Instance]:
    """One ultralytics ``Results`` (predicted with ``retina_masks=True``) -> instances."""
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return []
    masks = None
    if result.masks is not None:
        masks = result.masks.data.cpu().numpy()
        h, w = result.orig_shape
        if masks.shape[1:] != (h, w):
            raise AnnotatorError(f"masks are {masks.shape[1:]} for a {h}x{w} image: predict with retina_masks=True")
    return instances_from_arrays(
        boxes.xyxy.cpu().numpy(), boxes.conf.cpu().numpy(), boxes.cls.cpu().numpy(), masks, labels,
        score_threshold=score_threshold, image_size=tuple(result.orig_shape),
    )


class UltralyticsYoloSeg:
    """An ultralytics segmentation model as an :class:`~annotators.base.Annotator`."""

    def __init__(
        self,
        weights: str | Path = "yolo11n-seg.pt",
        *,
        score_threshold: float = 0.25,
        iou_threshold: float = 0.7,
        imgsz: int = 640,
        max_det: int = 300,
        device: str = "cpu",
    ) -> None:
        YOLO = _import_yolo()
        spec = str(weights)
        path = Path(spec)
        if path.suffix in (".yaml", ".yml"):
            # Architecture only, random weights: the version says so, so nobody mistakes it for a model.
            text = path.read_bytes() if path.is_file() else spec.encode()
            self.version = "random:" + hashlib.sha256(text).hexdigest()[:16]
        elif path.is_file():
            self.version = file_hash(path)
        elif path.parent != Path(".") or path.suffix != ".pt":
            raise AnnotatorError(f"weights file {path} not found: give the path of a YOLO -seg .pt file as the model",
                                 param="model")
        else:
            self.version = ""
        try:
            self.model = YOLO(spec, task="segment")
        except (ConnectionError, OSError) as exc:
            raise AnnotatorError(
                f"could not load {spec} ({exc}). Offline? Download {RELEASES} -> {path.name} on a machine with "
                f"internet, copy it here and pass model=/path/to/{path.name} (or put it in the working directory)",
                param="model"
            ) from None
        if not self.version:  # downloaded by ultralytics into the working directory or its weights dir
            ckpt = getattr(self.model, "ckpt_path", None)
            self.version = file_hash(ckpt) if ckpt and Path(ckpt).is_file() else "name:" + spec
        if self.model.task != "segment":
            raise AnnotatorError(f"{spec} is a {self.model.task!r} model; use a -seg model (e.g. yolo11n-seg.pt)")
        names = self.model.names
        labels = [str(names[k]) for k in sorted(names)]
        # A yaml-built model has numbers for names; its 80 outputs are COCO's when trained on COCO.
        if all(n.isdigit() for n in labels) and len(labels) == len(COCO80):
            labels = list(COCO80)
        self.labels = labels
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold
        self.imgsz, self.max_det, self.device = imgsz, max_det, device
        self.name = f"ultralytics:{path.stem}"

    @property
    def params(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "imgsz": self.imgsz, "max_det": self.max_det}

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        if not images:
            return []
        # ultralytics reads numpy images as OpenCV BGR.
        bgr = [np.ascontiguousarray(img[..., ::-1]) for img in images]
        results = self.model.predict(
            bgr, conf=self.score_threshold, iou=self.iou_threshold, imgsz=self.imgsz, max_det=self.max_det,
            device=self.device, retina_masks=True, verbose=False,
        )
        return [results_to_instances(r, self.labels, self.score_threshold) for r in results]
