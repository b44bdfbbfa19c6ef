"""YOLACT exported to ONNX, run with ONNX Runtime (no torch), as MIC21 used it.

YOLACT's network ends before its ``Detect`` post-processing, so an export has five outputs (names
as in dbolya/yolact's ``Yolact.forward``; shapes for the 550 px COCO model):

* ``loc``    ``[1, N, 4]``   box offsets from the priors (SSD encoding, variances 0.1 / 0.2);
* ``conf``   ``[1, N, C+1]`` class probabilities after softmax, column 0 = background;
* ``mask``   ``[1, N, K]``   mask coefficients (after tanh);
* ``priors`` ``[N, 4]``      prior boxes ``cx, cy, w, h`` in 0..1 of the input;
* ``proto``  ``[1, P, P, K]`` prototype masks (``[1, K, P, P]`` also accepted).

Outputs are matched by name, else by shape. The input is the image resized (aspect ratio *not*
kept) to the model size, RGB, normalised with YOLACT's ImageNet means and deviations, NCHW.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from annotators.base import COCO80, AnnotatorError, Instance, file_hash
from annotators.ops import nms, proto_mask_rle

__all__ = ["OnnxYolact", "decode_yolact", "identify_outputs"]

# YOLACT's data/config.py MEANS / STD, listed there in BGR order; here in RGB.
MEAN_RGB = np.array([123.68, 116.78, 103.94], dtype=np.float32)
STD_RGB = np.array([58.40, 57.12, 57.38], dtype=np.float32)
VARIANCES = (0.1, 0.2)


def identify_outputs(outputs: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, str]:
    """Map the roles ``loc, conf, mask, priors, proto`` to output names, by name then by shape."""
    roles = {"loc", "conf", "mask", "priors", "proto"}
    aliases = {"prior": "priors", "protos": "proto", "proto_out": "proto", "masks": "mask"}
    found: dict[str, str] = {}
    for name, _ in outputs:
        role = aliases.get(name.lower(), name.lower())
        if role in roles:
            found[role] = name
    if len(found) == 5:
        return found
    rest = [(n, list(s)) for n, s in outputs if n not in found.values()]
    k = None
    for n, s in rest:
        if len(s) == 4 and "proto" not in found:
            found["proto"] = n
    proto_shape = next(list(s) for n, s in outputs if n == found.get("proto"))
    k = int(proto_shape[-1]) if isinstance(proto_shape[-1], int) and proto_shape[-1] < proto_shape[1] else int(proto_shape[1])
    for n, s in rest:
        if n == found.get("proto"):
            continue
        if len(s) == 2 and s[-1] == 4 and "priors" not in found:
            found["priors"] = n
        elif len(s) == 3 and s[-1] == 4 and "loc" not in found:
            found["loc"] = n
        elif len(s) == 3 and s[-1] == k and "mask" not in found:
            found["mask"] = n
        elif len(s) == 3 and "conf" not in found:
            found["conf"] = n
    missing = roles - set(found)
    if missing:
        raise AnnotatorError(
            f"cannot find YOLACT outputs {sorted(missing)} among {[(n, list(s)) for n, s in outputs]}; "
            "export with output names loc, conf, mask, priors, proto"
        )
    return found


def decode_boxes(loc: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """SSD box decoding: offsets + priors (cx, cy, w, h) -> xyxy in 0..1."""
    cxcy = priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:]
    wh = priors[:, 2:] * np.exp(loc[:, 2:] * VARIANCES[1])
    return np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)


def decode_yolact(
    loc: np.ndarray,
    conf: np.ndarray,
    coef: np.ndarray,
    priors: np.ndarray,
    proto: np.ndarray,
    *,
    labels: Sequence[str],
    image_hw: tuple[int, int],
    score_threshold: float,
    iou_threshold: float = 0.5,
    max_det: int = 100,
) -> list[Instance]:
    """Decode one image: ``loc (N,4)``, ``conf (N,C+1)``, ``coef (N,K)``, ``priors (N,4)``,
    ``proto (P,P,K)`` -> instances in the pixel coordinates of an image of ``image_hw``."""
    if conf.shape[1] != len(labels) + 1:
        raise AnnotatorError(f"conf has {conf.shape[1]} columns; expected {len(labels)} classes + background")
    scores_all = conf[:, 1:]
    class_ids = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(len(conf)), class_ids]
    cand = np.flatnonzero(scores > score_threshold)
    if cand.size == 0:
        return []
    boxes = decode_boxes(loc[cand].astype(np.float64), priors[cand].astype(np.float64))
    scores, class_ids, coef = scores[cand], class_ids[cand], coef[cand]
    keep = nms(boxes, scores, class_ids, iou_threshold, max_det)
    boxes, scores, class_ids, coef = boxes[keep], scores[keep], class_ids[keep], coef[keep]
    p_h, p_w, k = proto.shape
    # einsum rather than @: OpenBLAS threads fight ONNX Runtime's for the same cores.
    logits = np.einsum("nk,pk->np", coef.astype(np.float32), proto.reshape(-1, k), optimize=False).reshape(-1, p_h, p_w)
    h, w = image_hw
    out: list[Instance] = []
    for i in range(len(keep)):
        x0, x1 = (float(np.clip(v * w, 0, w)) for v in boxes[i, [0, 2]])
        y0, y1 = (float(np.clip(v * h, 0, h)) for v in boxes[i, [1, 3]])
        if x1 <= x0 or y1 <= y0:
            continue
        rle = proto_mask_rle(np.ascontiguousarray(logits[i]), (x0, y0, x1, y1), (p_w / w, p_h / h, 0.0, 0.0), (h, w))
        out.append(Instance(labels[int(class_ids[i])], float(scores[i]), (x0, y0, x1, y1), rle))
    return out


class OnnxYolact:
    """A YOLACT ONNX export as an :class:`~annotators.base.Annotator`."""

    def __init__(
        self,
        path: str | Path,
        *,
        labels: Sequence[str] | None = None,
        score_threshold: float = 0.3,
        iou_threshold: float = 0.5,
        max_det: int = 100,
        device: str = "cpu",
    ) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise AnnotatorError(f"YOLACT ONNX model {path} not found: export yolact_base_54_800000.pth to ONNX "
                                 "(see docs/annotate.md) and give its path as the model", param="model")
        providers = (["CUDAExecutionProvider"] if device.startswith("cuda") else []) + ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(path), providers=providers)
        except Exception as exc:
            raise AnnotatorError(f"cannot load ONNX model {path}: {exc}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_hw = tuple(int(s) if isinstance(s, int) and s > 0 else 550 for s in inp.shape[2:4])
        outs = [(o.name, o.shape) for o in self.session.get_outputs()]
        self.roles = identify_outputs(outs)
        self._order = [self.roles[r] for r in ("loc", "conf", "mask", "priors", "proto")]
        conf_shape = dict(outs)[self.roles["conf"]]
        n_classes = int(conf_shape[-1]) - 1
        self.labels = list(labels) if labels is not None else list(COCO80)
        if len(self.labels) != n_classes:
            raise AnnotatorError(f"{len(self.labels)} labels for a YOLACT model with {n_classes} classes; pass labels=")
        self.score_threshold, self.iou_threshold, self.max_det = score_threshold, iou_threshold, max_det
        self.device = device
        self.name = f"onnx-yolact:{path.stem}"
        self.version = file_hash(path)

    @property
    def params(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "max_det": self.max_det, "imgsz": list(self.input_hw)}

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        h, w = self.input_hw
        x = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = (x - MEAN_RGB) / STD_RGB
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        results = []
        for img in images:
            loc, conf, coef, priors, proto = self.session.run(self._order, {self.input_name: self.preprocess(img)})
            priors = priors.reshape(-1, 4)
            proto = proto[0]
            if proto.shape[0] == coef.shape[-1] and proto.shape[-1] != coef.shape[-1]:
                proto = proto.transpose(1, 2, 0)  # [K, P, P] -> [P, P, K]
            results.append(decode_yolact(
                loc[0], conf[0], coef[0], priors, np.ascontiguousarray(proto), labels=self.labels,
                image_hw=img.shape[:2], score_threshold=self.score_threshold,
                iou_threshold=self.iou_threshold, max_det=self.max_det,
            ))
        return results
