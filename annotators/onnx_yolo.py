"""YOLO-family instance segmentation exported to ONNX, run with ONNX Runtime (no torch).

Two output layouts exist, told apart by the width of a candidate row (``nm`` mask coefficients,
read from the prototype tensor; ``nc`` classes):

* YOLOv5-seg / YOLOv7-seg: ``output0`` ``[1, N, 4 + 1 + nc + nm]`` = ``cx, cy, w, h``,
  objectness, class scores, mask coefficients; confidence = objectness x class score.
* YOLOv8-seg / YOLO11-seg (ultralytics export): ``output0`` ``[1, 4 + nc + nm, N]`` (channels
  first), no objectness; confidence = class score.

Both have ``protos`` ``[1, nm, H/4, W/4]``; an instance mask is ``sigmoid(coef @ protos)``, cut to
its box. Class names come from the model's metadata (ultralytics writes ``names``), the
``labels`` argument, or COCO's 80 when the widths fit.
"""

from __future__ import annotations

import ast
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annotators.base import COCO80, AnnotatorError, Instance, file_hash
from annotators.ops import letterbox, nms, proto_mask_rle, to_nchw

__all__ = ["OnnxYoloSeg", "decode_yolo_seg", "detect_layout"]


def detect_layout(pred_shape: Sequence[int], nm: int, nc: int | None) -> tuple[str, int, bool]:
    """(``"v5"`` or ``"v8"``, number of classes, channels-first?) for a raw prediction shape."""
    if len(pred_shape) != 3:
        raise AnnotatorError(f"expected a 3-D prediction output, got shape {list(pred_shape)}")
    a, b = int(pred_shape[1]), int(pred_shape[2])
    # Rows are either the last axis (v5: [1, N, C]) or the middle one (v8 export: [1, C, N]).
    for n in ([nc] if nc is not None else [len(COCO80)]):
        for width, channels_first in ((b, False), (a, True)):
            if width == 5 + n + nm:
                return "v5", n, channels_first
            if width == 4 + n + nm:
                return "v8", n, channels_first
    width = min(a, b)
    if nc is None:
        raise AnnotatorError(
            f"prediction rows are {width} wide with {nm} mask coefficients, which fits neither "
            f"4+80+{nm} nor 5+80+{nm}: give the class names (labels=...) for this non-COCO model"
        )
    raise AnnotatorError(f"prediction rows are {width} wide; {nc} labels and {nm} mask coefficients fit neither "
                         f"the v5 (5+nc+nm) nor the v8 (4+nc+nm) layout")


def decode_yolo_seg(
    pred: np.ndarray,
    protos: np.ndarray,
    *,
    layout: str,
    labels: Sequence[str],
    lb,
    input_hw: tuple[int, int],
    score_threshold: float,
    iou_threshold: float,
    max_det: int = 300,
) -> list[Instance]:
    """Decode one image's raw outputs (``pred`` ``(N, C)`` rows, ``protos`` ``(nm, ph, pw)``)."""
    nc, nm = len(labels), protos.shape[0]
    if layout == "v5":
        obj = pred[:, 4]
        cand = np.flatnonzero(obj > score_threshold)  # conf = obj * cls <= obj: a cheap first cut
        rows = pred[cand]
        cls_scores = rows[:, 5:5 + nc] * rows[:, 4:5]
        coef = rows[:, 5 + nc:5 + nc + nm]
    else:
        cls_scores = pred[:, 4:4 + nc]
        cand = np.flatnonzero(cls_scores.max(axis=1) > score_threshold)
        rows = pred[cand]
        cls_scores = cls_scores[cand]
        coef = rows[:, 4 + nc:4 + nc + nm]
    if len(rows) == 0:
        return []
    class_ids = cls_scores.argmax(axis=1)
    scores = cls_scores[np.arange(len(rows)), class_ids]
    ok = scores > score_threshold
    rows, class_ids, scores, coef = rows[ok], class_ids[ok], scores[ok], coef[ok]
    if len(rows) == 0:
        return []
    if len(rows) > 30000:  # NMS cost grows with the square of the candidates
        top = np.argsort(-scores)[:30000]
        rows, class_ids, scores, coef = rows[top], class_ids[top], scores[top], coef[top]
    boxes = np.empty((len(rows), 4), dtype=np.float64)
    boxes[:, :2] = rows[:, :2] - rows[:, 2:4] / 2
    boxes[:, 2:] = rows[:, :2] + rows[:, 2:4] / 2
    keep = nms(boxes, scores, class_ids, iou_threshold, max_det)
    boxes, scores, class_ids, coef = boxes[keep], scores[keep], class_ids[keep], coef[keep]

    ph, pw = protos.shape[1:]
    # einsum rather than @: OpenBLAS threads fight ONNX Runtime's for the same cores (10x slower).
    logits = np.einsum("nk,kp->np", coef.astype(np.float32), protos.reshape(nm, -1), optimize=False).reshape(-1, ph, pw)
    img_boxes = lb.boxes_to_image(boxes)
    stride_x, stride_y = input_hw[1] / pw, input_hw[0] / ph
    affine = (lb.ratio_x / stride_x, lb.ratio_y / stride_y, lb.left / stride_x, lb.top / stride_y)
    out: list[Instance] = []
    for i in range(len(keep)):
        x0, y0, x1, y1 = (float(v) for v in img_boxes[i])
        if x1 <= x0 or y1 <= y0:
            continue
        rle = proto_mask_rle(logits[i], (x0, y0, x1, y1), affine, (lb.height, lb.width))
        out.append(Instance(labels[int(class_ids[i])], float(scores[i]), (x0, y0, x1, y1), rle))
    return out


def _names_from_metadata(meta: dict[str, str]) -> list[str] | None:
    raw = meta.get("names")
    if not raw:
        return None
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    return None


class OnnxYoloSeg:
    """A YOLOv5/v7/v8/11-seg ONNX export as an :class:`~annotators.base.Annotator`."""

    def __init__(
        self,
        path: str | Path,
        *,
        labels: Sequence[str] | None = None,
        score_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_det: int = 300,
        device: str = "cpu",
        threads: int | None = None,
        layout: str | None = None,
    ) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise AnnotatorError(f"ONNX model {path} not found: export it (e.g. `yolo export model=yolo11n-seg.pt "
                                 f"format=onnx`) and give its path as the model", param="model")
        self.path = path
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers.insert(0, "CUDAExecutionProvider")
        so = ort.SessionOptions()
        threads = threads or int(os.environ.get("CORPUS_ORT_THREADS", "0") or 0)
        if threads:
            so.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise AnnotatorError(f"cannot load ONNX model {path}: {exc}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.input_hw = tuple(int(s) if isinstance(s, int) and s > 0 else 640 for s in shape[2:4])
        self.batchable = not (isinstance(shape[0], int) and shape[0] > 0)
        outs = self.session.get_outputs()
        proto_out = next((o for o in outs if len(o.shape) == 4), None)
        pred_out = next((o for o in outs if len(o.shape) == 3), None)
        if proto_out is None or pred_out is None:
            raise AnnotatorError(f"{path.name} has no (prediction, protos) output pair: "
                                 f"outputs {[(o.name, o.shape) for o in outs]}; is it a -seg export?")
        self._out_names = [pred_out.name, proto_out.name]
        nm = int(proto_out.shape[1])
        meta_names = _names_from_metadata(self.session.get_modelmeta().custom_metadata_map)
        names = list(labels) if labels is not None else meta_names
        found, nc, self._channels_first = detect_layout(pred_out.shape, nm, len(names) if names else None)
        self.layout = layout or found
        self.labels: list[str] = names or list(COCO80)
        if len(self.labels) != nc:
            raise AnnotatorError(f"{len(self.labels)} labels for a model with {nc} classes")
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.device = device
        self.name = f"onnx-yolo-{self.layout}:{path.stem}"
        self.infer_seconds = 0.0
        self.version = file_hash(path)

    @property
    def params(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "max_det": self.max_det, "imgsz": list(self.input_hw), "layout": self.layout}

    def preprocess(self, image: np.ndarray):
        return letterbox(image, self.input_hw)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        pred, protos = self.session.run(self._out_names, {self.input_name: batch})
        # Time inside onnxruntime, so a caller can tell the model's share from ours (bench/annotate.py).
        self.infer_seconds += time.perf_counter() - t0
        if self._channels_first:
            pred = pred.transpose(0, 2, 1)
        return pred, protos

    def _decode(self, pred: np.ndarray, protos: np.ndarray, lb) -> list[Instance]:
        return decode_yolo_seg(pred, protos, layout=self.layout, labels=self.labels, lb=lb, input_hw=self.input_hw,
                               score_threshold=self.score_threshold, iou_threshold=self.iou_threshold,
                               max_det=self.max_det)

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        if not images:
            return []
        step = len(images) if self.batchable else 1
        chunks = [list(images[i:i + step]) for i in range(0, len(images), step)]

        def prepare(chunk: list[np.ndarray]):
            boxed = [self.preprocess(img) for img in chunk]
            return to_nchw([b[0] for b in boxed]), [b[1] for b in boxed]

        # Letterboxing and mask decoding run in a helper thread, overlapping onnxruntime's work
        # on the next/previous chunk (OpenCV, numpy and onnxruntime all release the GIL).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="yolo-pre-post") as pool:
            prepared = [pool.submit(prepare, c) for c in chunks]
            decoded = []
            for fut in prepared:
                x, lbs = fut.result()
                pred, protos = self.infer(x)
                decoded.extend(pool.submit(self._decode, pred[j], protos[j], lb) for j, lb in enumerate(lbs))
            return [f.result() for f in decoded]
