"""Fine-tune a YOLO-seg model on what reviewers accepted, and record it in the store.

``train_model`` exports the domain's reviewed instances as a YOLO dataset (``corpus.coco.yolo``,
the COCO export's splits and license policy) under ``DATA/models/NAME/dataset``, fine-tunes the
base weights with ``ultralytics`` (the ``yolo`` extra) into ``DATA/models/NAME/run``, optionally
exports the result to ONNX (so the torch-free ONNX Runtime backend can run it), and records a
:class:`~corpus.store.models.TrainedModel`: base weights and their hash, class index -> ontology
class, every annotation id and version it was trained on (and its split), the settings and the
metrics ultralytics reports. ``corpus annotate --model trained:NAME`` then proposes ontology
classes directly.

Ultralytics is kept from writing or fetching anything outside the data folder: its settings live
in ``DATA/models/.ultralytics`` unless ``YOLO_CONFIG_DIR`` says otherwise (and there its
integrations and analytics are off), plots are off (they would fetch a font), and mixed precision
is off unless asked for (its check downloads a model).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.coco.splits import Splits
from corpus.coco.yolo import DEFAULT_SPLITS, YoloExportOptions, YoloExportSummary, export_yolo
from corpus.errors import CorpusError, ModelError, UsageError, check_range
from corpus.store.db import session_scope
from corpus.store.models import TrainedModel, TrainingAnnotation
from corpus.store.queries import resolve_domain

__all__ = ["TrainOptions", "TrainError", "TrainResult", "train_model", "import_ultralytics", "NAME_RE",
           "TRAINED_PREFIXES"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TRAINED_PREFIXES = ("trained:", "trained-onnx:")
# Integrations ultralytics would load for a trainer (some write into the working directory, some
# send data away); off in the settings file corpus owns.
_QUIET_SETTINGS = {"sync": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                   "raytune": False, "tensorboard": False, "wandb": False}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class TrainError(UsageError):
    """A training request that cannot be carried out as asked (too few reviewed instances, a name
    in use, a base model of another domain); ``param`` names the argument to change. Problems of
    the model itself (not segmentation, cannot load, training failed) are :class:`ModelError`."""


@dataclass
class TrainOptions:
    domain: str | None = None
    name: str | None = None  # default: <domain>-<UTC time>
    base: str = "yolo11n-seg.pt"  # a -seg .pt path, a release name, or trained:NAME
    epochs: int = 50
    imgsz: int = 640
    batch: int = 16
    device: str = "cpu"  # cpu, 0, cuda:0, ...
    workers: int = 0
    patience: int = 50
    amp: bool = False  # ultralytics' AMP check downloads a model: opt in
    seed: int = 0
    lang: str = "en"
    classes: Sequence[str] | None = None
    statuses: tuple[str, ...] = ("accepted", "edited")
    splits: Splits = field(default_factory=lambda: list(DEFAULT_SPLITS))
    license_policy: str = "default"
    min_annotations: int = 10  # per class, in the train split
    onnx: bool = False

    def settings(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "imgsz": self.imgsz, "batch": self.batch, "device": self.device,
                "workers": self.workers, "patience": self.patience, "amp": self.amp, "seed": self.seed,
                "lang": self.lang, "classes": list(self.classes) if self.classes else None,
                "statuses": list(self.statuses), "splits": dict(self.splits), "license_policy": self.license_policy,
                "min_annotations": self.min_annotations, "onnx": self.onnx}

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """The numbers in range, in the library's words ("epochs must be at least 1, got -1"),
        before any file is written: ultralytics would fail late or in its own terms."""
        for param, low in (("epochs", 1), ("imgsz", 32), ("batch", 1), ("workers", 0), ("patience", 1),
                           ("min_annotations", 1)):
            check_range(param, getattr(self, param), low)


@dataclass
class TrainResult:
    name: str
    domain: str
    run_dir: Path
    weights: Path
    onnx: Path | None
    version: str
    base_version: str
    dataset: YoloExportSummary
    metrics: dict[str, Any]
    epoch_seconds: list[float]
    seconds: float


def import_ultralytics(data_dir: Path):
    """The ``YOLO`` class, with ultralytics' settings under the data folder unless the user chose a
    place (``YOLO_CONFIG_DIR``); a clear :class:`TrainError` without the ``yolo`` extra."""
    ours = None
    if "ultralytics" not in sys.modules and not os.environ.get("YOLO_CONFIG_DIR"):
        ours = Path(data_dir).resolve() / "models" / ".ultralytics"
        ours.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(ours)
    try:
        from ultralytics import YOLO
        from ultralytics.utils import SETTINGS
    except ImportError as exc:
        raise ModelError(f"training needs the `yolo` extra: pip install 'mic-corpus[yolo]' ({exc})") from None
    if ours is not None:
        SETTINGS.update(_QUIET_SETTINGS)  # the settings file under DATA/models/.ultralytics is ours
    return YOLO


def _quiet_trainer(base_cls):
    """The task's trainer without ultralytics' integration callbacks (MLflow, Ray Tune, Comet, ...,
    analytics): a class whose name lacks "Trainer" gets none (ultralytics.utils.callbacks.base)."""
    return type("SegmentationFineTune", (base_cls,), {"__doc__": "Segmentation training, integrations off."})


def _file_hash(path: Path) -> str:
    from annotators.base import file_hash

    return file_hash(path)


def _resolve_base(session: Session, domain_name: str, base: str, data_dir: Path) -> tuple[str, Path | None]:
    """(what to load, the weights file if there is one); ``trained:NAME`` continues a trained model
    of the same domain."""
    if base.startswith(TRAINED_PREFIXES):
        name = base.split(":", 1)[1]
        rec = session.scalar(select(TrainedModel).where(TrainedModel.name == name))
        if rec is None:
            raise TrainError(f"no trained model named {name!r} to start from", param="base")
        if rec.domain.name != domain_name:
            raise TrainError(f"base model {base} proposes classes of domain {rec.domain.name!r}, not {domain_name!r}: "
                             "start from a model of this domain or from COCO weights", param="base")
        path = Path(data_dir) / rec.weights
        if not path.is_file():
            raise ModelError(f"the weights of {base} are missing: {path}", param="base")
        return str(path), path
    path = Path(base)
    if path.suffix in (".yaml", ".yml"):
        return base, None  # architecture only (random weights): for experiments and tests
    if path.is_file():
        return str(path), path
    if path.parent != Path(".") or path.suffix != ".pt":
        raise ModelError(f"base weights {base} not found: give the path of a YOLO -seg .pt file", param="base")
    return base, None  # a release name: ultralytics fetches it where there is internet


def _load_base(YOLO, spec: str, base: str, path: Path | None):
    try:
        model = YOLO(spec)
    except Exception as exc:  # torch and ultralytics raise many kinds for a bad file or a failed download
        if path is None and not spec.endswith((".yaml", ".yml")):
            raise ModelError(f"could not load base weights {base} ({type(exc).__name__}: {exc}). Offline? Download "
                             f"{base} on a machine with internet, copy it here and give its path",
                             param="base") from None
        raise ModelError(f"{base} is not a YOLO model ({type(exc).__name__}: {exc})", param="base") from None
    if model.task != "segment":
        raise ModelError(f"base model {base} is a {model.task!r} model: training fine-tunes instance "
                         "segmentation models (a -seg model such as yolo11n-seg.pt)", param="base")
    return model


def _check_counts(ds: YoloExportSummary, minimum: int) -> None:
    short = [(c, ds.count(c.index, "train")) for c in ds.classes if ds.count(c.index, "train") < minimum]
    if short:
        listed = "; ".join(f"{c.name} ({c.synset}) has {n}" for c, n in short)
        raise TrainError(f"too few accepted annotations to train on: {listed} in the train split; each class needs "
                         f"at least {minimum}. Review more of them, or name the classes to train (classes)",
                         param="min_annotations")
    if not ds.images.get("val"):
        raise TrainError(f"the val split has no image ({sum(ds.images.values())} image(s) in all): review more images "
                         "or give val a larger share", param="splits")


def _metrics(results: Any, ds: YoloExportSummary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if results is None:
        return out
    out["overall"] = {str(k): float(v) for k, v in (getattr(results, "results_dict", {}) or {}).items()}
    per: dict[str, dict[str, float]] = {}
    for kind, attr in (("box", "box"), ("mask", "seg")):
        m = getattr(results, attr, None)
        maps = getattr(m, "maps", None) if m is not None else None
        if maps is None:
            continue
        for c in ds.classes:
            if c.index < len(maps):
                per.setdefault(c.synset, {})[f"{kind}_map50_95"] = float(maps[c.index])
    out["per_class"] = per
    return out


def train_model(engine: Engine, data_dir: Path, opts: TrainOptions, progress: Progress | None = None) -> TrainResult:
    """Export, fine-tune, (export to ONNX,) record; see the module docstring."""
    from corpus.storage import is_url

    if is_url(data_dir):
        # ultralytics reads and writes plain files: the dataset and the run need a local folder.
        raise TrainError(f"training needs a local data folder, not {data_dir}: run it where the images are on disk "
                         "(or mounted)", param="data_dir")
    data_dir = Path(data_dir)
    opts.check()  # again: the options may have been changed since they were made
    YOLO = import_ultralytics(data_dir)
    if opts.onnx:
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise ModelError("the ONNX export needs the onnx package: pip install 'mic-corpus[yolo]'",
                             param="onnx") from None
    with Session(engine) as s:
        dom = resolve_domain(s, opts.domain)
        name = opts.name or f"{dom.name}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}"
        if not NAME_RE.match(name):
            raise TrainError(f"model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)", param="name")
        old = s.scalar(select(TrainedModel).where(TrainedModel.name == name))
        if old is not None:
            raise TrainError(f"a model named {name!r} exists (trained {old.created_at:%Y-%m-%d %H:%M}): choose another name",
                             param="name")
        spec, base_path = _resolve_base(s, dom.name, opts.base, data_dir)
        domain_name = dom.name
    run_root = data_dir / "models" / name
    if run_root.exists() and any(run_root.iterdir()):
        raise TrainError(f"{run_root} exists and is not empty (left by an interrupted run?): remove it or choose "
                         "another name", param="name")
    model = _load_base(YOLO, spec, opts.base, base_path)
    if base_path is not None:
        base_version = _file_hash(base_path)
    else:
        ckpt = getattr(model, "ckpt_path", None)
        base_version = _file_hash(Path(ckpt)) if ckpt and Path(ckpt).is_file() else "name:" + opts.base

    t0 = time.perf_counter()
    if progress:
        progress("export", 0, 1)
    try:
        ds = export_yolo(engine, run_root / "dataset", data_dir, YoloExportOptions(
            domain=domain_name, statuses=opts.statuses, splits=opts.splits, seed=opts.seed, lang=opts.lang,
            classes=opts.classes, files="link", license_policy=opts.license_policy, record=True))
        _check_counts(ds, opts.min_annotations)
    except (CorpusError, ValueError):
        shutil.rmtree(run_root, ignore_errors=True)  # only what this call wrote: nothing to keep
        raise
    if progress:
        progress("export", 1, 1)

    epoch_seconds: list[float] = []
    clock = {"t": time.perf_counter()}

    def epoch_start(trainer) -> None:
        clock["t"] = time.perf_counter()

    def epoch_end(trainer) -> None:
        epoch_seconds.append(time.perf_counter() - clock["t"])
        if progress:
            progress("epochs", trainer.epoch + 1, trainer.epochs)

    model.add_callback("on_train_epoch_start", epoch_start)
    model.add_callback("on_train_epoch_end", epoch_end)
    from ultralytics.models.yolo.segment import SegmentationTrainer

    try:
        results = model.train(
            data=str(ds.data_yaml), epochs=opts.epochs, imgsz=opts.imgsz, batch=opts.batch, device=opts.device,
            workers=opts.workers, patience=opts.patience, amp=opts.amp, seed=opts.seed, deterministic=True,
            project=str(run_root.resolve()), name="run", exist_ok=True, plots=False, verbose=False, val=True,
            trainer=_quiet_trainer(SegmentationTrainer),
        )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise ModelError(f"training failed ({type(exc).__name__}: {exc}); what it wrote is in {run_root}: remove it "
                         "before training again under this name") from None
    trainer = model.trainer
    best = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
    onnx_path = None
    if opts.onnx:
        if progress:
            progress("onnx", 0, 1)
        try:
            onnx_path = Path(YOLO(str(best)).export(format="onnx", imgsz=opts.imgsz, simplify=False, dynamic=False,
                                                    verbose=False))
        except Exception as exc:
            raise ModelError(f"the ONNX export failed ({type(exc).__name__}: {exc}); the trained weights are in "
                             f"{best}") from None
        if progress:
            progress("onnx", 1, 1)
    seconds = time.perf_counter() - t0
    metrics = _metrics(results, ds)
    metrics["epoch_seconds"] = epoch_seconds
    version = _file_hash(best)
    rel = lambda p: os.path.relpath(Path(p).resolve(), data_dir.resolve())  # noqa: E731
    import ultralytics

    with session_scope(engine) as s:
        dom = resolve_domain(s, domain_name)
        rec = TrainedModel(
            name=name, domain_id=dom.id, base=opts.base, base_version=base_version, version=version,
            weights=rel(best), onnx=rel(onnx_path) if onnx_path else None, lang=opts.lang,
            classes=[{"index": c.index, "class_id": c.class_id, "synset": c.synset, "category_id": c.category_id,
                      "name": c.name} for c in ds.classes],
            settings={**opts.settings(), "base": opts.base, "ultralytics": ultralytics.__version__,
                      "run_dir": rel(trainer.save_dir)},
            metrics=metrics,
            dataset={"images": dict(ds.images), "instances": dict(ds.instances),
                     "per_class": {c.synset: {sp: ds.count(c.index, sp) for sp, _ in opts.splits} for c in ds.classes},
                     "skipped_license": dict(ds.skipped_license), "missing_files": ds.missing_files},
            seconds=seconds,
        )
        s.add(rec)
        s.flush()
        rows = [{"model_id": rec.id, "annotation_id": a, "version": v, "image_id": i, "split": sp}
                for a, v, i, sp in ds.trained_on]
        for k in range(0, len(rows), 5000):
            s.execute(insert(TrainingAnnotation), rows[k:k + 5000])
    return TrainResult(name=name, domain=domain_name, run_dir=run_root, weights=best, onnx=onnx_path, version=version,
                       base_version=base_version, dataset=ds, metrics=metrics, epoch_seconds=epoch_seconds,
                       seconds=seconds)
