"""A model trained by ``corpus train``: its outputs are ontology classes, not COCO's.

The network is an ordinary YOLO-seg model, run by the ultralytics backend (PyTorch weights) or by
ONNX Runtime (its ONNX export, no torch). What differs is the labels: class index ``i`` is the
ontology class the training export gave index ``i``, so each instance's label is that class's
synset, and :class:`OntologyLabels` (the mapper for ``corpus.annotate``) takes it as it is, with
no COCO label table in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from annotators.base import AnnotatorError, Instance
from annotators.mapping import Mapped

__all__ = ["TrainedYoloSeg", "OntologyLabels"]


class TrainedYoloSeg:
    """A trained model as an :class:`~annotators.base.Annotator` whose labels are synsets."""

    def __init__(
        self,
        name: str,
        weights: str | Path,
        synsets: Sequence[str],
        *,
        onnx: bool = False,
        imgsz: int = 640,
        score_threshold: float = 0.25,
        iou_threshold: float | None = None,
        device: str = "cpu",
    ) -> None:
        weights = Path(weights)
        if not weights.is_file():
            raise AnnotatorError(f"weights of trained model {name} not found: {weights}")
        self.labels = [str(s) for s in synsets]
        opts: dict[str, Any] = {"score_threshold": score_threshold, "device": device}
        if iou_threshold is not None:
            opts["iou_threshold"] = iou_threshold
        if onnx:
            from annotators.onnx_yolo import OnnxYoloSeg

            self._inner = OnnxYoloSeg(weights, labels=self.labels, **opts)
            self.name = f"trained-onnx:{name}"
        else:
            from annotators.ultralytics import UltralyticsYoloSeg

            self._inner = UltralyticsYoloSeg(weights, imgsz=imgsz, **opts)
            if len(self._inner.labels) != len(self.labels):
                raise AnnotatorError(f"{weights} has {len(self._inner.labels)} classes, but trained model {name} "
                                     f"records {len(self.labels)}")
            self._inner.labels = self.labels
            self.name = f"trained:{name}"
        self.version = self._inner.version

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._inner.params)

    def annotate(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        return self._inner.annotate(images)


class OntologyLabels:
    """Mapper for a trained model: a label is the synset of a class of the domain (rule
    ``trained``); anything else (a class since removed from the ontology) stays unclassified, or
    is dropped under the ``drop`` policy."""

    def __init__(self, synsets: Iterable[str], policy: str = "keep") -> None:
        self.synsets = frozenset(synsets)
        self.policy = policy

    def __call__(self, label: str, harvest_synsets: Iterable[str] = ()) -> Mapped | None:
        if label in self.synsets:
            return Mapped(label, "trained")
        return Mapped(None, "unmapped") if self.policy == "keep" else None

    def map_image(self, detections, harvest_synsets: Iterable[str], image_size) -> list[Mapped | None]:
        """One image's (label, box) detections; a trained model names the class itself, so no
        person refinement (``LabelMapper.map_image``) is needed."""
        return [self(label, harvest_synsets) for label, _ in detections]
