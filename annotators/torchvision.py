"""Mask R-CNN through torchvision (``maskrcnn_resnet50_fpn_v2``): installs with pip alone.

Weights: a state-dict file by path (``--model torchvision:/models/maskrcnn_v2.pth``), or
``DEFAULT`` for torchvision's COCO weights, which torchvision downloads itself into
``$TORCH_HOME/hub/checkpoints`` on a machine with internet. ``random`` builds the network with
random weights (tests only). Its output goes through :func:`annotators.base.instances_from_arrays`,
the conversion detectron2's Mask R-CNN shares. Needs the ``torchvision`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annotators.base import AnnotatorError, Instance, file_hash, instances_from_arrays

__all__ = ["TorchvisionMaskRCNN", "maskrcnn_output_to_instances"]

CHECKPOINT = "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth"


def maskrcnn_output_to_instances(output: dict[str, Any], labels: Sequence[str], score_threshold: float,
                                 mask_threshold: float = 0.5) -> list[Instance]:
    """One torchvision detection dict (``boxes``, ``labels``, ``scores``, ``masks`` N x 1 x H x W)."""
    masks = output.get("masks")
    return instances_from_arrays(
        output["boxes"].detach().cpu().numpy(), output["scores"].detach().cpu().numpy(),
        output["labels"].detach().cpu().numpy(),
        None if masks is None else masks.detach().cpu().numpy(),
        labels, score_threshold=score_threshold, mask_threshold=mask_threshold,
    )


def _torch_home() -> Path:
    return Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))


class TorchvisionMaskRCNN:
    """torchvision's Mask R-CNN v2 as an :class:`~annotators.base.Annotator`."""

    def __init__(
        self,
        weights: str | Path = "DEFAULT",
        *,
        score_threshold: float = 0.5,
        mask_threshold: float = 0.5,
        device: str = "cpu",
        **model_kwargs: Any,
    ) -> None:
        try:
            import torch
            from torchvision.models.detection import MaskRCNN_ResNet50_FPN_V2_Weights, maskrcnn_resnet50_fpn_v2
        except ImportError as exc:
            raise AnnotatorError(f"the torchvision backend needs the `torchvision` extra: "
                                 f"pip install 'mic-corpus[torchvision]' ({exc})") from None
        self.labels = list(MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1.meta["categories"])
        spec = str(weights)
        # Low score floor inside the model; our own threshold applies after conversion.
        model_kwargs.setdefault("box_score_thresh", min(0.05, score_threshold))
        if spec == "DEFAULT":
            try:
                model = maskrcnn_resnet50_fpn_v2(weights=MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1, **model_kwargs)
            except (OSError, RuntimeError) as exc:  # URLError is an OSError
                target = _torch_home() / "hub" / "checkpoints" / CHECKPOINT
                raise AnnotatorError(
                    f"torchvision could not load its COCO weights ({exc}). Offline? Copy {CHECKPOINT} to {target} "
                    f"or give the model as torchvision:/path/to/{CHECKPOINT}", param="model"
                ) from None
            self.version = "torchvision:" + CHECKPOINT
        elif spec == "random":
            model = maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=len(self.labels),
                                             **model_kwargs)
            self.version = "random"
        else:
            path = Path(spec)
            if not path.is_file():
                raise AnnotatorError(f"weights file {path} not found: provide a maskrcnn_resnet50_fpn_v2 state dict "
                                     f"(e.g. {CHECKPOINT}) and pass its path")
            model = maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=len(self.labels),
                                             **model_kwargs)
            state = torch.load(path, map_location="cpu", weights_only=True)
            try:
                model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
            except RuntimeError as exc:
                raise AnnotatorError(f"{path} is not a maskrcnn_resnet50_fpn_v2 COCO state dict: {exc}") from None
            self.version = file_hash(path)
        self.torch = torch
        self.model = model.eval().to(device)
        self.device = device
        self.score_threshold, self.mask_threshold = score_threshold, mask_threshold
        self.name = "torchvision:maskrcnn_resnet50_fpn_v2"

    @property
    def params(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "mask_threshold": self.mask_threshold}

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        torch = self.torch
        tensors = [torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div_(255).to(self.device)
                   for img in images]
        with torch.inference_mode():
            outputs = self.model(tensors) if tensors else []
        return [maskrcnn_output_to_instances(o, self.labels, self.score_threshold, self.mask_threshold) for o in outputs]
