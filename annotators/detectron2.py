"""Mask R-CNN through detectron2, as MIC21 ran it (X101-32x8d-FPN, score threshold 0.9).

detectron2 has no wheel on PyPI; install it from its source repository (see docs/annotate.md).
This module is imported only when the detectron2 backend is chosen. Config: a model-zoo name
(``COCO-InstanceSegmentation/mask_rcnn_X_101_32x8d_FPN_3x.yaml``) or a yaml path; weights: a
path or a URL (detectron2 downloads URLs itself). Its outputs go through
:func:`annotators.base.instances_from_arrays`, shared with the torchvision Mask R-CNN backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annotators.base import COCO80, AnnotatorError, Instance, file_hash, instances_from_arrays

__all__ = ["Detectron2MaskRCNN", "detectron2_instances_to_instances", "MIC21_CONFIG"]

MIC21_CONFIG = "COCO-InstanceSegmentation/mask_rcnn_X_101_32x8d_FPN_3x.yaml"
INSTALL = "pip install 'git+https://github.com/facebookresearch/detectron2.git' (needs torch and a C++ compiler)"


def detectron2_instances_to_instances(inst, labels: Sequence[str], score_threshold: float = 0.0) -> list[Instance]:
    """A detectron2 ``Instances`` (``pred_boxes``, ``scores``, ``pred_classes``, ``pred_masks``)."""
    inst = inst.to("cpu")
    masks = inst.pred_masks.numpy() if inst.has("pred_masks") else None
    return instances_from_arrays(
        inst.pred_boxes.tensor.numpy(), inst.scores.numpy(), inst.pred_classes.numpy(), masks, labels,
        score_threshold=score_threshold, image_size=tuple(inst.image_size),
    )


class Detectron2MaskRCNN:
    """A detectron2 model-zoo Mask R-CNN as an :class:`~annotators.base.Annotator`."""

    def __init__(
        self,
        config: str = MIC21_CONFIG,
        weights: str | None = None,
        *,
        score_threshold: float = 0.9,
        device: str = "cpu",
    ) -> None:
        try:
            from detectron2 import model_zoo
            from detectron2.config import get_cfg
            from detectron2.data import MetadataCatalog
            from detectron2.engine import DefaultPredictor
        except ImportError as exc:
            raise AnnotatorError(f"detectron2 is not installed ({exc}); install it from source: {INSTALL}") from None
        cfg = get_cfg()
        cfg_path = Path(config)
        cfg.merge_from_file(str(cfg_path) if cfg_path.is_file() else model_zoo.get_config_file(config))
        if weights and not weights.startswith(("http://", "https://", "detectron2://")):
            if not Path(weights).is_file():
                raise AnnotatorError(f"weights file {weights} not found: provide the .pkl/.pth of {config}")
            self.version = file_hash(weights)
        else:
            weights = weights or model_zoo.get_checkpoint_url(config)
            self.version = "url:" + weights.rsplit("/", 2)[-2] + "/" + weights.rsplit("/", 1)[-1]
        cfg.MODEL.WEIGHTS = weights
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = score_threshold
        cfg.MODEL.DEVICE = device
        try:
            self.predictor = DefaultPredictor(cfg)
        except (OSError, RuntimeError) as exc:
            raise AnnotatorError(f"detectron2 could not load weights {weights} ({exc}). Offline? Download that file "
                                 "elsewhere and pass its local path as the weights") from None
        names = MetadataCatalog.get(cfg.DATASETS.TEST[0]).get("thing_classes", None) if cfg.DATASETS.TEST else None
        self.labels = list(names) if names else list(COCO80)
        self.score_threshold, self.device = score_threshold, device
        self.name = "detectron2:" + Path(config).stem

    @property
    def params(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold}

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        out = []
        for img in images:
            pred = self.predictor(np.ascontiguousarray(img[..., ::-1]))  # DefaultPredictor takes BGR
            out.append(detectron2_instances_to_instances(pred["instances"], self.labels, self.score_threshold))
        return out
