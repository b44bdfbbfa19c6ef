"""Trained models in the store: list and show them, run one (``--model trained:NAME``), and the
images each held out from training (what ``corpus evaluate --held-out`` compares models on)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.errors import ModelError, NotFoundError, UsageError
from corpus.store.models import Domain, OntologyClass, TrainedModel, TrainingAnnotation
from corpus.train import TRAINED_PREFIXES, import_ultralytics

__all__ = ["ModelInfo", "list_models", "get_model", "load_trained", "held_out_images", "is_trained_spec",
           "UnknownModel"]


class UnknownModel(NotFoundError):
    """No trained model of that name."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    domain: str
    base: str
    base_version: str
    version: str
    weights: str
    onnx: str | None
    lang: str
    classes: list[dict[str, Any]]
    settings: dict[str, Any]
    metrics: dict[str, Any]
    dataset: dict[str, Any]
    seconds: float
    created_at: Any
    annotations: dict[str, int]  # split -> annotations trained on / held out

    @property
    def box_map(self) -> float | None:
        return (self.metrics.get("overall") or {}).get("metrics/mAP50-95(B)")

    @property
    def mask_map(self) -> float | None:
        return (self.metrics.get("overall") or {}).get("metrics/mAP50-95(M)")


def is_trained_spec(model: str) -> bool:
    return model.startswith(TRAINED_PREFIXES)


def _info(session: Session, rec: TrainedModel) -> ModelInfo:
    counts = dict(session.execute(
        select(TrainingAnnotation.split, func.count()).where(TrainingAnnotation.model_id == rec.id)
        .group_by(TrainingAnnotation.split)).all())
    return ModelInfo(rec.name, rec.domain.name, rec.base, rec.base_version, rec.version, rec.weights, rec.onnx,
                     rec.lang, list(rec.classes or []), dict(rec.settings or {}), dict(rec.metrics or {}),
                     dict(rec.dataset or {}), float(rec.seconds or 0.0), rec.created_at, counts)


def _get(session: Session, name: str) -> TrainedModel:
    rec = session.scalar(select(TrainedModel).where(TrainedModel.name == name))
    if rec is None:
        known = ", ".join(session.scalars(select(TrainedModel.name).order_by(TrainedModel.name))) or "none yet (corpus train)"
        raise UnknownModel(f"no trained model named {name!r}; the store has: {known}", param="name")
    return rec


def list_models(engine: Engine, domain: str | None = None) -> list[ModelInfo]:
    """Every trained model (of one domain), oldest first."""
    with Session(engine) as s:
        q = select(TrainedModel).join(Domain, Domain.id == TrainedModel.domain_id).order_by(TrainedModel.id)
        if domain:
            q = q.where(Domain.name == domain)
        return [_info(s, r) for r in s.scalars(q)]


def get_model(engine: Engine, name: str) -> ModelInfo:
    with Session(engine) as s:
        return _info(s, _get(s, name))


def trained_annotations(engine: Engine, name: str) -> list[tuple[int, int, int, str]]:
    """(annotation id, version, image id, split) of every instance the model was trained or validated on."""
    with Session(engine) as s:
        rec = _get(s, name)
        return [tuple(r) for r in s.execute(
            select(TrainingAnnotation.annotation_id, TrainingAnnotation.version, TrainingAnnotation.image_id,
                   TrainingAnnotation.split).where(TrainingAnnotation.model_id == rec.id)
            .order_by(TrainingAnnotation.annotation_id))]


def held_out_images(engine: Engine, name: str, split: str = "val") -> set[int]:
    """Images in the model's ``split`` (default val): reviewed, and never trained on."""
    with Session(engine) as s:
        rec = _get(s, name)
        imgs = set(s.scalars(select(TrainingAnnotation.image_id).distinct().where(
            TrainingAnnotation.model_id == rec.id, TrainingAnnotation.split == split)))
        trained = set(s.scalars(select(TrainingAnnotation.image_id).distinct().where(
            TrainingAnnotation.model_id == rec.id, TrainingAnnotation.split == "train")))
    return imgs - trained


def trained_factory(engine: Engine, spec: str, data_dir: Path, domain: str | None = None, *,
                    score_threshold: float | None = None, iou_threshold: float | None = None, device: str = "cpu",
                    unmapped: str = "keep"):
    """(factory, mapper) for ``trained:NAME`` / ``trained-onnx:NAME``: the store is read here, once;
    ``factory()`` loads the model (picklable, so each Ray worker can call it: it needs the data
    folder's weights, not the store). See :func:`load_trained`."""
    import functools

    from annotators.trained import OntologyLabels

    from corpus.storage import is_url

    prefix, _, name = spec.partition(":")
    onnx = prefix == "trained-onnx"
    if is_url(data_dir):
        raise UsageError(f"trained models run from a local data folder, not {data_dir}", param="data_dir")
    with Session(engine) as s:
        try:
            rec = _get(s, name)
        except UnknownModel as exc:
            raise UnknownModel(str(exc), param="model") from None
        if domain is not None and rec.domain.name != domain:
            raise UsageError(f"trained model {name!r} proposes classes of domain {rec.domain.name!r}, not {domain!r}",
                             param="model")
        synsets = [c["synset"] for c in sorted(rec.classes, key=lambda c: c["index"])]
        domain_synsets = set(s.scalars(select(OntologyClass.synset).where(OntologyClass.domain_id == rec.domain_id)))
        weights = rec.onnx if onnx else rec.weights
        imgsz = int((rec.settings or {}).get("imgsz") or 640)
    if onnx and not weights:
        raise UsageError(f"trained model {name!r} has no ONNX export: train it with onnx on, or run trained:{name} "
                         "(needs the yolo extra)", param="model")
    kwargs: dict[str, Any] = {"imgsz": imgsz, "device": device, "onnx": onnx, "iou_threshold": iou_threshold}
    if score_threshold is not None:
        kwargs["score_threshold"] = score_threshold
    data_dir = Path(data_dir).resolve()  # Ray workers do not share the driver's working folder
    factory = functools.partial(_load_model, name, str(data_dir), str(data_dir / weights), tuple(synsets), kwargs)
    return factory, OntologyLabels(domain_synsets, policy=unmapped)


def _load_model(name: str, data_dir: str, weights: str, synsets: tuple[str, ...], kwargs: dict[str, Any]):
    """A trained model, loaded where it will run (this process or a Ray worker)."""
    from annotators.trained import TrainedYoloSeg

    if not kwargs.get("onnx"):
        import_ultralytics(Path(data_dir))  # ultralytics' settings under the data folder, offline
    return TrainedYoloSeg(name, weights, synsets, **kwargs)


def load_trained(engine: Engine, spec: str, data_dir: Path, domain: str | None = None, *,
                 score_threshold: float | None = None, iou_threshold: float | None = None, device: str = "cpu",
                 unmapped: str = "keep"):
    """(annotator, mapper) for ``trained:NAME`` (PyTorch weights, the ``yolo`` extra) or
    ``trained-onnx:NAME`` (its ONNX export, ONNX Runtime only). A model of another domain than
    ``domain`` is a :class:`~corpus.errors.UsageError`: its classes are not that domain's."""
    from annotators.base import AnnotatorError

    factory, mapper = trained_factory(engine, spec, data_dir, domain, score_threshold=score_threshold,
                                      iou_threshold=iou_threshold, device=device, unmapped=unmapped)
    try:
        return factory(), mapper
    except AnnotatorError as exc:
        raise ModelError(str(exc), param="model") from None
