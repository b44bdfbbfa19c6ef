"""Pick and load a backend from one ``--model`` string.

Forms (``backend:rest`` is always accepted; without a prefix the backend is guessed):

=========================================================  ==========================================
``yolo11n-seg.pt``, ``/m/yolov8x-seg.pt``, ``x.yaml``        ultralytics (default: ``yolo11n-seg.pt``)
``/m/yolov5s-seg.onnx``, ``onnx:/m/yolo11n-seg.onnx``       ONNX Runtime, YOLO-seg (layout detected)
``/m/yolact_base.onnx``, ``onnx-yolact:/m/yolact.onnx``     ONNX Runtime, YOLACT (sniffed by outputs)
``torchvision``, ``torchvision:/m/maskrcnn_v2.pth``         torchvision Mask R-CNN v2 (DEFAULT weights)
``detectron2``, ``detectron2:CONFIG[@WEIGHTS]``             detectron2 Mask R-CNN (MIC21's X101 by default)
=========================================================  ==========================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotators.base import Annotator, AnnotatorError

__all__ = ["load_annotator", "resolve", "BACKENDS", "DEFAULT_MODEL"]

DEFAULT_MODEL = "yolo11n-seg.pt"
BACKENDS = ("ultralytics", "onnx", "onnx-yolo", "onnx-yolact", "torchvision", "detectron2")


def _is_yolact_onnx(path: Path) -> bool:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise AnnotatorError(f"cannot load ONNX model {path}: {exc}") from None
    # YOLO-seg has (prediction, protos); YOLACT has loc/conf/mask/priors/proto.
    return len(sess.get_outputs()) >= 4


def resolve(model: str) -> tuple[str, str]:
    """(backend, rest of the spec) for a ``--model`` string."""
    head, sep, rest = model.partition(":")
    if sep and head in ("trained", "trained-onnx"):
        raise AnnotatorError(f"{model}: models from training live in the store; load them with "
                             "corpus.trained_models.load_trained (Corpus.annotate(model='trained:NAME') does)",
                             param="model")
    if sep and head in BACKENDS:
        return head, rest
    if model in ("torchvision", "maskrcnn_resnet50_fpn_v2"):
        return "torchvision", ""
    if model == "detectron2":
        return "detectron2", ""
    suffix = Path(model).suffix.lower()
    if suffix == ".onnx":
        return "onnx", model
    if suffix in (".pt", ".yaml", ".yml"):
        return "ultralytics", model
    if suffix == ".pth":
        return "torchvision", model
    if suffix == ".pkl":
        return "detectron2", "@" + model
    raise AnnotatorError(
        f"cannot tell which backend runs {model!r}: use one of {', '.join(BACKENDS)} as a prefix, "
        "e.g. onnx:/models/yolov5s-seg.onnx or ultralytics:yolo11n-seg.pt"
    )


def load_annotator(
    model: str = DEFAULT_MODEL,
    *,
    score_threshold: float | None = None,
    iou_threshold: float | None = None,
    device: str = "cpu",
    **kwargs: Any,
) -> Annotator:
    """Load the annotator ``model`` names (see the module doc); thresholds default per backend."""
    backend, rest = resolve(model)
    opts: dict[str, Any] = dict(kwargs, device=device)
    if score_threshold is not None:
        opts["score_threshold"] = score_threshold
    if backend in ("onnx", "onnx-yolo", "onnx-yolact"):
        path = Path(rest)
        if not path.is_file():
            raise AnnotatorError(f"ONNX model {path} not found: provide the exported file and give its path as the model",
                                 param="model")
        if iou_threshold is not None:
            opts["iou_threshold"] = iou_threshold
        if backend == "onnx-yolact" or (backend == "onnx" and _is_yolact_onnx(path)):
            from annotators.onnx_yolact import OnnxYolact

            return OnnxYolact(path, **opts)
        from annotators.onnx_yolo import OnnxYoloSeg

        return OnnxYoloSeg(path, **opts)
    if backend == "ultralytics":
        from annotators.ultralytics import UltralyticsYoloSeg

        if iou_threshold is not None:
            opts["iou_threshold"] = iou_threshold
        return UltralyticsYoloSeg(rest or DEFAULT_MODEL, **opts)
    if backend == "torchvision":
        from annotators.torchvision import TorchvisionMaskRCNN

        return TorchvisionMaskRCNN(rest or "DEFAULT", **opts)
    # detectron2: imported only here, when chosen.
    from annotators.detectron2 import MIC21_CONFIG, Detectron2MaskRCNN

    config, _, weights = rest.partition("@")
    return Detectron2MaskRCNN(config or MIC21_CONFIG, weights or None, **opts)
