"""The Python API: one :class:`Corpus` object for the whole round.

    from corpus import Corpus

    c = Corpus.open(db_url="sqlite:///corpus.db", data_dir="data")
    c.ontology.load(domains=["sport"])
    c.harvest(domain="sport", per_class=50)
    c.annotate(domain="sport", model="onnx:models/yolov8n-seg.onnx")
    c.export_coco(out_dir="out", domain="sport", statuses="accepted")

Every method takes keyword arguments, reports progress through one callback protocol
(:mod:`corpus.progress`) and raises only :class:`corpus.errors.CorpusError` subclasses for
anything a caller can get wrong. The methods delegate to the library modules (``corpus.harvest``,
``corpus.annotate``, ``corpus.review``, ``corpus.coco``, ``ontology``); the CLI is a thin layer over
this class. docs/python-api.md shows every call with an example that the test suite runs.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from corpus.config import Settings, load_settings
from corpus.errors import CorpusError, ResourceMissing, StoreError, UsageError, check_range, one_line
from corpus.progress import Progress, ProgressEvent, counting, done_total, emit

if TYPE_CHECKING:  # the heavy modules load when a call needs them, not on `import corpus`
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from annotators.base import Annotator
    from corpus.annotate import AnnotateSummary
    from corpus.coco.coco_annotator import AnnotatorExportSummary
    from corpus.coco.evaluate import ModelEvaluation
    from corpus.coco.export import CocoExportSummary
    from corpus.coco.import_ import ImportReport
    from corpus.coco.yolo import YoloExportSummary
    from corpus.train import TrainResult
    from corpus.trained_models import ModelInfo
    from corpus.harvest.run import HarvestReport
    from corpus.ontology_load import LoadResult
    from corpus.preview import PreviewSummary
    from corpus.instances import Instance
    from corpus.store.models import ReviewEvent
    from corpus.store.queries import DomainStatus
    from ontology.model import DomainOntology
    from ontology.pipeline import BuildResult, NewDomain

__all__ = ["Corpus", "Ontology", "Review", "FILE_MODES"]

#: How exports place image files next to the JSON: copies, hard links, symbolic links, or none.
FILE_MODES = ("copy", "link", "symlink", "none")


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A tuple of names from a sequence or a comma-separated string (``"en,bg"``)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    return tuple(x.strip() for x in items if x.strip())


class Corpus:
    """A corpus: its settings, its store (opened on first use) and its data folder.

    Open one with :meth:`Corpus.open`; use it as a context manager (or call :meth:`close`) to
    release the database connections.
    """

    def __init__(self, settings: Settings, *, ontology_dir: Path | str | None = None, auto_upgrade: bool = True) -> None:
        self.settings = settings
        self.auto_upgrade = auto_upgrade
        self._engine: Engine | None = None
        self.ontology = Ontology(ontology_dir=ontology_dir, corpus=self)
        self.review = Review(self)

    @classmethod
    def open(
        cls,
        *,
        db_url: str | None = None,
        data_dir: Path | str | None = None,
        config_file: Path | str | None = None,
        ontology_dir: Path | str | None = None,
        auto_upgrade: bool = True,
    ) -> "Corpus":
        """A corpus from the settings (defaults < ``config_file`` or ``CORPUS_CONFIG`` or ./corpus.toml
        < environment < these arguments). ``db_url`` defaults to ``sqlite:///corpus.db``, ``data_dir``
        to ``./data``. A new SQLite store is created and migrated on first use; with
        ``auto_upgrade=False`` a store at an older schema raises :class:`~corpus.errors.StoreError`."""
        settings = load_settings(config_file=config_file)
        return cls(settings.with_overrides(db_url=db_url, data_dir=data_dir), ontology_dir=ontology_dir,
                   auto_upgrade=auto_upgrade)

    # -- the store ---------------------------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.settings.db_url

    @property
    def data_dir(self) -> Path | str:
        """The data folder: a path, or an fsspec URL (``s3://bucket/prefix``) kept as a string."""
        from corpus.storage import as_data_dir

        return as_data_dir(self.settings.data_dir)

    @property
    def engine(self) -> "Engine":
        """The SQLAlchemy engine of the store, at the latest schema."""
        if self._engine is None:
            from corpus.store.db import ensure_ready, safe_url

            try:
                self._engine = ensure_ready(self.db_url, auto_upgrade=self.auto_upgrade)
            except StoreError:
                raise
            except Exception as exc:  # a bad URL, an unreachable server, a read-only file
                raise StoreError(f"cannot open the store {safe_url(self.db_url)}: {exc}") from exc
        return self._engine

    @contextmanager
    def session(self) -> Iterator["Session"]:
        """A session that commits when the block ends and rolls back on any error."""
        from corpus.store.db import session_scope

        with session_scope(self.engine) as s:
            yield s

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> "Corpus":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        from corpus.store.db import safe_url

        return f"Corpus(db_url={safe_url(self.db_url)!r}, data_dir={str(self.data_dir)!r})"

    def upgrade(self, *, revision: str = "head") -> str | None:
        """Migrate the store up to ``revision`` (creating it when missing); returns the new revision."""
        from corpus.store.db import upgrade

        return self._migrate(upgrade, "upgrade", revision)

    def downgrade(self, *, revision: str) -> str | None:
        """Migrate the store down to ``revision`` (``"base"`` drops every table: all data is lost)."""
        from corpus.store.db import downgrade

        self.close()
        return self._migrate(downgrade, "downgrade", revision)

    def _migrate(self, step, what: str, revision: str) -> str | None:
        from corpus.store.db import current_revision, safe_url

        try:
            step(self.db_url, revision)
        except CorpusError:
            raise  # already one clear line (an unreachable store, a bad URL)
        except Exception as exc:  # a failed migration: the cause, on one line
            raise StoreError(f"{what} of {safe_url(self.db_url)} failed: {one_line(exc)}") from exc
        return current_revision(self.db_url)

    def revision(self) -> tuple[str | None, str | None]:
        """(the store's current revision, the latest this version knows)."""
        from corpus.store.db import current_revision, head_revision, safe_url

        try:
            return current_revision(self.db_url), head_revision(self.db_url)
        except CorpusError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot read {safe_url(self.db_url)}: {one_line(exc)}") from exc

    # -- what the store holds ----------------------------------------------------------------------

    def status(self) -> list["DomainStatus"]:
        """Per domain: classes, stored images, proposals, annotations per review status, and
        stored images per language (``languages``) and per source (``sources``)."""
        from corpus.store.queries import domain_status

        with self.session() as s:
            return domain_status(s)

    def charts(self, *, out_dir: Path | str, domains: Sequence[str] | None = None) -> list[Path]:
        """PNG bar charts into ``out_dir``: stored images per class, language and source for each
        domain, images per license."""
        from corpus.charts import bar_chart
        from corpus.store.queries import images_per_class, images_per_language, images_per_license, images_per_source

        out = Path(out_dir)
        names = list(domains) if domains is not None else [r.domain for r in self.status()]
        paths = []
        with self.session() as s:
            for dom in names:
                paths.append(bar_chart(images_per_class(s, dom), f"Stored images per class: {dom}", "images",
                                       out / f"classes-{dom}.png"))
                paths.append(bar_chart(images_per_language(s, dom), f"Stored images per language: {dom}", "images",
                                       out / f"languages-{dom}.png"))
                paths.append(bar_chart(images_per_source(s, dom), f"Stored images per source: {dom}", "images",
                                       out / f"sources-{dom}.png"))
            paths.append(bar_chart(images_per_license(s), "Stored images per license", "images", out / "licenses.png"))
        return paths

    # -- harvest -----------------------------------------------------------------------------------

    def harvest(
        self,
        *,
        domain: str,
        classes: str | Sequence[str] | None = None,
        languages: str | Sequence[str] | None = None,
        sources: str | Sequence[str] | None = None,
        per_class: int = 100,
        per_page: int = 50,
        license_policy: str = "default",
        min_size: int | None = None,
        near_dup_bits: int | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        **options: Any,
    ) -> "HarvestReport":
        """Find, download and store openly licensed images for the domain's classes.

        ``sources`` defaults to those enabled in the settings (commons and openverse unless
        configured otherwise). A rerun continues where the last one stopped; setting ``stop``
        ends the run early but cleanly (the report's status is then ``interrupted``).
        ``dry_run`` plans the queries (``report.planned``) and searches nothing. Further
        :class:`~corpus.harvest.options.HarvestOptions` fields may be given as keywords."""
        from corpus.harvest.run import HarvestOptions, harvest
        from corpus.licenses import LicensePolicy
        from corpus.sources import make_sources

        policy = LicensePolicy.parse(license_policy)
        extra = {k: v for k, v in (("min_size", min_size), ("near_dup_bits", near_dup_bits)) if v is not None}
        try:
            opts = HarvestOptions(domain=domain, classes=_names(classes), languages=_names(languages),
                                  per_class=per_class, per_page=per_page, license_policy=license_policy,
                                  dry_run=dry_run, **extra, **options)
        except TypeError as exc:
            raise UsageError(f"harvest: {exc}") from None
        clients = make_sources(_names(sources), self.settings, policy=policy)
        try:
            return harvest(self.engine, self.settings, clients, opts, progress=_HarvestProgress(progress), stop=stop)
        finally:
            for c in clients.values():
                c.close()

    # -- annotate and preview ----------------------------------------------------------------------

    def annotate(
        self,
        *,
        domain: str,
        model: "str | Annotator" = "yolo11n-seg.pt",
        score_threshold: float | None = None,
        iou_threshold: float | None = None,
        device: str = "cpu",
        batch_size: int = 8,
        limit: int | None = None,
        unmapped: str = "keep",
        engine: str = "local",
        address: str | None = None,
        workers: int = 2,
        gpus_per_worker: float = 0.0,
        progress: Progress | None = None,
    ) -> "AnnotateSummary":
        """Run a segmentation model over the domain's stored images and store its proposals.

        ``model`` is a model spec (``"yolo11n-seg.pt"``, ``"onnx:/path/model.onnx"``,
        ``"torchvision"``, ``"detectron2"``; see docs/annotate.md), ``"trained:NAME"`` or
        ``"trained-onnx:NAME"`` (a model from :meth:`train`, proposing the domain's own classes), or a
        loaded annotator.
        Detections that fit no class of the domain are kept under their nearest ontology
        parent (``unmapped="keep"``) or dropped (``"drop"``). Images this model already saw are
        skipped. Progress: stage ``"images"``.

        ``engine="ray"`` runs ``workers`` model workers on a Ray cluster (``address``: ``"auto"``,
        ``"ray://head:10001"``; default: start a local one) and stores their batches here; the
        workers must reach the data folder (a shared folder or an ``s3://`` URL). ``model`` must
        then be a spec, which every worker loads (docs/scale.md)."""
        import functools

        from annotators.registry import load_annotator
        from corpus.annotate import AnnotateOptions, annotate_domain

        if unmapped not in ("keep", "drop"):
            raise UsageError(f"unmapped must be 'keep' or 'drop', not {unmapped!r}", param="unmapped")
        check_range("score_threshold", score_threshold, 0.0, 1.0)
        check_range("iou_threshold", iou_threshold, 0.0, 1.0)
        check_range("batch_size", batch_size, 1)
        check_range("limit", limit, 1)
        check_range("workers", workers, 1)
        check_range("gpus_per_worker", gpus_per_worker, 0.0)
        if engine not in ("local", "ray"):
            raise UsageError(f"engine must be 'local' or 'ray', not {engine!r}", param="engine")
        opts = AnnotateOptions(batch_size=batch_size, limit=limit, unmapped=unmapped)  # type: ignore[arg-type]
        model_kw = dict(score_threshold=score_threshold, iou_threshold=iou_threshold, device=device)
        trained = isinstance(model, str) and model.startswith(("trained:", "trained-onnx:"))
        if engine == "ray":
            from corpus.annotate_ray import RayOptions, annotate_domain_ray

            if not isinstance(model, str):
                raise UsageError("the Ray engine needs the model as a spec string (each worker loads it)",
                                 param="model")
            mapper = None
            if trained:
                # The store is read here; each worker loads the weights from the data folder.
                from corpus.trained_models import trained_factory

                factory, mapper = trained_factory(self.engine, model, self.data_dir, domain, unmapped=unmapped,
                                                  **model_kw)
            else:
                factory = functools.partial(load_annotator, model, **model_kw)  # called in every worker
            return annotate_domain_ray(self.engine, factory, domain, self.data_dir, opts,
                                       RayOptions(address=address, workers=workers, gpus_per_worker=gpus_per_worker),
                                       done_total(progress, "images"), mapper=mapper)
        mapper = None
        if trained:
            # A model from train() proposes the domain's own classes: no COCO label mapping.
            from corpus.trained_models import load_trained

            annotator, mapper = load_trained(self.engine, model, self.data_dir, domain, unmapped=unmapped, **model_kw)
        else:
            annotator = load_annotator(model, **model_kw) if isinstance(model, str) else model
        return annotate_domain(self.engine, annotator, domain, self.data_dir, opts, done_total(progress, "images"),
                               mapper=mapper)

    def preview(
        self,
        *,
        domain: str,
        out_dir: Path | str,
        model: str | None = None,
        min_score: float = 0.0,
        limit: int | None = None,
        per_class: int = 48,
        progress: Progress | None = None,
    ) -> "PreviewSummary":
        """Draw the domain's proposals over their images: ``out_dir/images/<id>.png`` and a contact
        sheet per class in ``out_dir/classes/``. Progress: stage ``"images"``."""
        from corpus.preview import write_previews

        check_range("min_score", min_score, 0.0, 1.0)
        check_range("limit", limit, 1)
        check_range("per_class", per_class, 1)
        return write_previews(self.engine, domain, Path(out_dir), self.data_dir, model=model, min_score=min_score,
                              limit=limit, per_class=per_class, progress=done_total(progress, "images"))

    # -- export, import, evaluate ------------------------------------------------------------------

    def export_coco(
        self,
        *,
        out_dir: Path | str,
        domain: str | None = None,
        statuses: str | Sequence[str] = "accepted",
        splits: str | dict[str, float] | None = None,
        seed: int = 0,
        segmentation: str = "polygon",
        license_policy: str = "default",
        files: str = "copy",
        progress: Progress | None = None,
        done_only: bool = False,
    ) -> "CocoExportSummary":
        """Write a COCO instances export of the domain for training (``done_only``: only images
        whose review is done).

        ``statuses``: ``"accepted"`` (accepted as is or edited, the default), ``"edited"``,
        ``"pending"``, ``"rejected"``, ``"all"``, or several. ``splits``: ``"train=0.8,val=0.2"`` or
        ``{"train": 0.8, "val": 0.2}`` (images assigned by a hash of their content and ``seed``).
        ``segmentation``: ``"polygon"`` or ``"rle"``. ``files``: one of :data:`FILE_MODES`.
        Progress: stages ``"images"`` and ``"annotations"``, with totals."""
        from corpus.coco.export import CocoExportOptions, count_rows, export_coco, parse_statuses
        from corpus.licenses import LicensePolicy

        _check_files(files)
        if segmentation not in ("polygon", "rle"):
            raise UsageError(f"segmentation must be polygon or rle, not {segmentation!r}", param="segmentation")
        LicensePolicy.parse(license_policy)
        opts = CocoExportOptions(domain=domain, statuses=parse_statuses(statuses), splits=_splits(splits), seed=seed,
                                 segmentation=segmentation, files=files, license_policy=license_policy,
                                 done_only=done_only)
        totals = None
        if progress is not None:
            n_img, n_ann = count_rows(self.engine, opts)
            totals = {"images": n_img, "annotations": n_ann}
        return export_coco(self.engine, Path(out_dir), self.data_dir, opts, progress=counting(progress, totals))

    def export_coco_annotator(
        self,
        *,
        out_dir: Path | str,
        domain: str | None = None,
        statuses: str | Sequence[str] = "pending",
        chunk: int = 250,
        open_proposals: bool = False,
        min_score: float = 0.0,
        license_policy: str = "default",
        files: str = "copy",
        progress: Progress | None = None,
    ) -> "AnnotatorExportSummary":
        """Write images and annotations for review in COCO Annotator (``out_dir/images/``,
        ``out_dir/annotations/part-NNNN.json``, ``chunk`` images per part). With
        ``open_proposals``, proposals on images without annotations first become pending
        annotations (those scoring at least ``min_score``). Progress: stage ``"images"``."""
        from corpus.coco.coco_annotator import AnnotatorExportOptions, export_coco_annotator
        from corpus.coco.export import parse_statuses

        check_range("chunk", chunk, 1)
        check_range("min_score", min_score, 0.0, 1.0)
        _check_files(files)
        opts = AnnotatorExportOptions(domain=domain, statuses=parse_statuses(statuses), chunk_images=chunk, files=files,
                                      open_proposals=open_proposals, min_score=min_score,
                                      license_policy=license_policy)
        return export_coco_annotator(self.engine, Path(out_dir), self.data_dir, opts, progress=counting(progress))

    def export_yolo(
        self,
        *,
        out_dir: Path | str,
        domain: str | None = None,
        statuses: str | Sequence[str] = "accepted",
        splits: str | dict[str, float] | None = "train=0.8,val=0.1,test=0.1",
        seed: int = 0,
        lang: str = "en",
        classes: str | Sequence[str] | None = None,
        license_policy: str = "default",
        files: str = "copy",
        progress: Progress | None = None,
    ) -> "YoloExportSummary":
        """Write the domain's reviewed instances as an Ultralytics YOLO-seg dataset (``data.yaml``,
        ``images/<split>/``, ``labels/<split>/``, ``ATTRIBUTION.md``) into a new or empty ``out_dir``.

        The same ``splits`` and ``seed`` put each image in the same split as :meth:`export_coco`;
        ``splits`` needs ``train`` and ``val``. Class names are in ``lang`` (English where a class has
        no lemma in it); ``classes`` (synsets, English names or category ids) limits the classes.
        Progress: stage ``"annotations"``, with its total."""
        from corpus.coco.export import parse_statuses
        from corpus.coco.yolo import YoloExportOptions, count_annotations, export_yolo
        from ontology.languages import check_languages

        (lang,) = check_languages([lang], param="lang")  # before counting (export_yolo checks it too)
        _check_files(files)
        opts = YoloExportOptions(domain=domain, statuses=parse_statuses(statuses), splits=_splits(splits) or [],
                                 seed=seed, lang=lang, classes=list(_names(classes)) or None, files=files,
                                 license_policy=license_policy)
        step = None
        if progress is not None:
            step = counting(progress, {"annotations": count_annotations(self.engine, opts)})
        return export_yolo(self.engine, Path(out_dir), self.data_dir, opts,
                           progress=(lambda n: step("annotations", n)) if step else None)

    def import_coco_annotator(
        self,
        *,
        files: Sequence[Path | str],
        domain: str | None = None,
        who: str | None = None,
        as_of: dt.datetime | None = None,
        dry_run: bool = False,
        done: str | Sequence[int] | None = None,
    ) -> "ImportReport":
        """Record the decisions in COCO Annotator export files (edited, deleted, added; untouched
        proposals accepted only on images whose review is done: ``done="all"`` or our image ids
        declare them, and marks them done; images already done in the store count too).

        Idempotent; a file never overrides a review made after it was exported (reported as a
        conflict); a bad file changes nothing and raises :class:`~corpus.errors.InputError`.
        ``as_of`` is when the files were exported (UTC) if their names do not say."""
        from corpus.coco.import_ import import_coco_annotator

        if isinstance(files, (str, Path)):
            files = [files]
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.timezone.utc)
        return import_coco_annotator(self.engine, [Path(f) for f in files], domain=domain, who=who, as_of=as_of,
                                     dry_run=dry_run, done=done)

    def evaluate(
        self,
        *,
        domain: str | None = None,
        models: str | Sequence[str] | None = None,
        plot: Path | str | None = None,
        held_out: str | None = None,
        done_only: bool = False,
    ) -> list["ModelEvaluation"]:
        """Each model's proposals against what reviewers kept, with COCOeval (AP, AP50, AP75, AR@100;
        boxes and masks; class-aware and agnostic; AP per class). ``models``: names or
        ``name@version`` (default: all). With ``plot``, also save a PNG there. With ``held_out``
        (a trained model's name), only on the reviewed images it held out from training (its val
        split), so the models compare on images the trained one never saw."""
        from corpus.coco.evaluate import evaluate, plot as make_plot

        images = None
        if held_out is not None:
            from corpus.trained_models import UnknownModel, held_out_images

            try:
                images = held_out_images(self.engine, held_out)
            except UnknownModel as exc:
                raise UnknownModel(str(exc), param="held_out") from None
            if not images:
                raise UsageError(f"trained model {held_out!r} held out no reviewed image (its val split is empty)",
                                 param="held_out")
        results = evaluate(self.engine, domain, models=list(_names(models)) or None, images=images,
                           done_only=done_only)
        if plot is not None and results:
            make_plot(results, Path(plot))
        return results


    # -- train and trained models ------------------------------------------------------------------

    def train(
        self,
        *,
        domain: str | None = None,
        base: str = "yolo11n-seg.pt",
        name: str | None = None,
        epochs: int = 50,
        imgsz: int = 640,
        batch: int = 16,
        device: str = "cpu",
        lang: str = "en",
        classes: str | Sequence[str] | None = None,
        statuses: str | Sequence[str] = "accepted",
        splits: str | dict[str, float] | None = "train=0.8,val=0.1,test=0.1",
        seed: int = 0,
        license_policy: str = "default",
        min_annotations: int = 10,
        patience: int = 50,
        amp: bool = False,
        onnx: bool = False,
        progress: Progress | None = None,
    ) -> "TrainResult":
        """Fine-tune a YOLO-seg model (``base``: a -seg .pt, a release name or ``"trained:NAME"``) on
        the domain's reviewed instances and record it in the store as ``name``; then
        ``annotate(model="trained:NAME")`` proposes the ontology's own classes. Artifacts go to
        ``data_dir/models/NAME/``. Needs the ``yolo`` extra. Each class needs ``min_annotations``
        instances in the train split. ``onnx`` also exports it for ``"trained-onnx:NAME"``.
        Progress: stages ``"export"``, ``"epochs"`` (with the total) and ``"onnx"``. docs/train.md."""
        from corpus.coco.export import parse_statuses
        from corpus.train import TrainOptions, train_model

        opts = TrainOptions(domain=domain, name=name, base=base, epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                            patience=patience, amp=amp, seed=seed, lang=lang, classes=list(_names(classes)) or None,
                            statuses=parse_statuses(statuses), splits=_splits(splits) or [],
                            license_policy=license_policy, min_annotations=min_annotations, onnx=onnx)
        return train_model(self.engine, self.data_dir, opts,
                           (lambda stage, done, total: emit(progress, stage, done, total)) if progress else None)

    def models(self, *, domain: str | None = None) -> list["ModelInfo"]:
        """The models trained with :meth:`train` (of one domain), oldest first."""
        from corpus.trained_models import list_models

        return list_models(self.engine, domain)

    def model(self, *, name: str) -> "ModelInfo":
        """One trained model: base and its hash, classes and their ontology ids, settings, metrics,
        and how many annotations per split it was trained on (ids and versions: :meth:`trained_on`)."""
        from corpus.trained_models import get_model

        return get_model(self.engine, name)

    def trained_on(self, *, name: str) -> list[tuple[int, int, int, str]]:
        """(annotation id, version, image id, split) of every instance model ``name`` was trained or validated on."""
        from corpus.trained_models import trained_annotations

        return trained_annotations(self.engine, name)


def _check_files(files: str) -> None:
    if files not in FILE_MODES:
        raise UsageError(f"files must be one of {', '.join(FILE_MODES)}, not {files!r}", param="files")


def _splits(splits: str | dict[str, float] | None):
    from corpus.coco.splits import parse_splits

    if isinstance(splits, dict):
        splits = ",".join(f"{k}={v}" for k, v in splits.items())
    return parse_splits(splits)


class _HarvestProgress:
    """The harvest's own progress hooks, told as :class:`ProgressEvent` values (one stage per class)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.names: dict[str, str] = {}
        self.per_class: int | None = None

    def start(self, classes: Any, per_class: int, kept: Any) -> None:
        self.per_class = per_class
        self.names = {c.synset: c.name for c in classes}

    def kept(self, synset: str, kept: int) -> None:
        emit(self.progress, self.names.get(synset, synset), kept, self.per_class)

    def note(self, message: str) -> None:
        emit(self.progress, "harvest", message=message)


class Ontology:
    """The multilingual WordNet ontology: built domain data, and loading it into the store.

    ``ontology_dir`` holds ``domains/`` (specs), ``data/`` (built JSON) and ``overrides/``; the
    default is the ``ontology`` package's own. Only :meth:`build` and :meth:`add_domain` need
    WordNet (NLTK data)."""

    def __init__(self, *, ontology_dir: Path | str | None = None, corpus: Corpus | None = None) -> None:
        from ontology.pipeline import PKG_DIR

        base = Path(ontology_dir) if ontology_dir else PKG_DIR
        self.domains_dir, self.data_dir, self.overrides_dir = base / "domains", base / "data", base / "overrides"
        self._corpus = corpus

    def domains(self) -> list[str]:
        """Names of the built domains."""
        from ontology import list_domains

        return list_domains(self.data_dir)

    def get(self, *, domain: str) -> "DomainOntology":
        """A built domain: its classes (dominant, parent, attribute) with names in 25 languages."""
        from ontology import load_domain

        return load_domain(domain, self.data_dir)

    def _all(self, domains: str | Sequence[str] | None) -> list["DomainOntology"]:
        return [self.get(domain=n) for n in (_names(domains) or self.domains())]

    def get_all(self, *, domains: str | Sequence[str] | None = None) -> list["DomainOntology"]:
        """Several built domains (default: all)."""
        return self._all(domains)

    def build(self, *, domains: str | Sequence[str] | None = None, lexicons: Path | str | None = None,
              freedict: Path | str | None = None, progress: Progress | None = None) -> list["BuildResult"]:
        """Build domains from WordNet 3.0 + OMW (and, when given, Galnet through CILI in ``lexicons``,
        FreeDict dictionaries in ``freedict``, and the Wikidata names :meth:`enrich` stored) and write
        ``data/<domain>.json`` (byte-identical files for the same inputs). Progress: a message per domain."""
        from ontology.pipeline import build_all

        return build_all(data_dir=self.data_dir, **self._build_inputs(domains, lexicons, freedict, progress))

    def check(self, *, domains: str | Sequence[str] | None = None, lexicons: Path | str | None = None,
              freedict: Path | str | None = None, progress: Progress | None = None) -> list[str]:
        """What a build would change, touching nothing: stale domain names (and
        ``category_ids.json`` when the id registry would change). Empty when up to date."""
        from ontology.pipeline import check_built

        return check_built(data_dir=self.data_dir, **self._build_inputs(domains, lexicons, freedict, progress))

    def _build_inputs(self, domains, lexicons, freedict, progress) -> dict[str, Any]:
        """build_all's arguments other than the data folder: the same for a build and its check."""
        return dict(domains_dir=self.domains_dir, overrides_dir=self.overrides_dir, only=list(_names(domains)) or None,
                    progress=_named(progress), lexicons=_path(lexicons), freedict=_path(freedict))

    def add_domain(self, *, name: str, roots: str | Sequence[str], description: str = "", force: bool = False,
                   progress: Progress | None = None) -> "NewDomain":
        """Write a spec for a new domain from WordNet root synset(s) and build it."""
        from ontology.pipeline import add_domain

        return add_domain(name, list(_names(roots)), description=description, force=force,
                          domains_dir=self.domains_dir, data_dir=self.data_dir, overrides_dir=self.overrides_dir,
                          progress=_named(progress))

    def coverage(self, *, domains: str | Sequence[str] | None = None,
                 dominant: bool = False) -> list[tuple[str, list[float], float]]:
        """Per language: (code, share of classes with a name per domain, share over all domains);
        ``dominant`` counts dominant classes only."""
        from ontology.render import coverage_rows

        return coverage_rows(self._all(domains), dominant)

    def coverage_by_source(self, *, domains: str | Sequence[str] | None = None,
                           dominant: bool = False) -> list[tuple[str, dict[str, float], float]]:
        """Per language: the share of classes whose best name comes from each source (wordnet,
        human, wikidata, wiktionary, cldr, dictionary, activity fallback), and the total."""
        from ontology.render import source_rows

        return source_rows(self._all(domains), dominant)

    def lint(self, *, domains: str | Sequence[str] | None = None,
             languages: str | Sequence[str] | None = None) -> list[Any]:
        """Suspicious names per language (shared with another class, qualified to be unique, from a
        dictionary or Wiktionary only, in the wrong script, untranslated English, activity lemmas
        only): findings with ``lang``, ``domain``, ``synset``, ``name`` and ``problem``."""
        from ontology import LANGUAGES
        from ontology.lint import lint

        langs = list(_names(languages))
        bad = [lang for lang in langs if lang not in LANGUAGES]
        if bad:
            raise UsageError(f"unknown language(s) {', '.join(bad)}; use some of: {' '.join(LANGUAGES)}",
                             param="languages")
        return lint(self._all(domains), langs or None)

    def enrich(self, *, contact: str | None, source: str = "wikidata", domains: str | Sequence[str] | None = None,
               api_url: str = "https://www.wikidata.org/w/api.php",
               sparql_url: str = "https://query.wikidata.org/sparql", cache_dir: Path | str | None = None,
               build: bool = True, lexicons: Path | str | None = None, freedict: Path | str | None = None,
               progress: Progress | None = None) -> "Enrichment":
        """Fetch labels and aliases (CC0) for every class from Wikidata into
        ``enrichment/wikidata.json`` (read by every later build) and, with ``build``, rebuild.

        Synsets map to items through the Interlingual Index (P5063) and WordNet 3.1 ids (P8814,
        via CILI in ``lexicons``). ``contact`` (an e-mail address or URL) goes into the
        User-Agent, as Wikimedia's policy asks. Needs internet."""
        from ontology import wikidata as WD
        from ontology.lexicons import ili_to_wn31, lexicons_dir

        if source != "wikidata":
            raise UsageError(f"unknown source {source!r}: only wikidata is supported", param="source")
        if not contact:
            raise UsageError("give a contact: Wikimedia asks every client for an e-mail address or URL",
                             param="contact")
        doms = self._all(domains)
        classes = [c for d in doms for c in d.classes]
        lex_dir = lexicons_dir(_path(lexicons))
        wn31 = ili_to_wn31(str(lex_dir)) if lex_dir and (lex_dir / "cili").is_dir() else {}
        if not any(c.ili for c in classes):
            raise UsageError("the built data has no ILI ids: rebuild with the lexicons (CILI) first", param="lexicons")
        cache = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "mic-corpus" / "wikidata"
        with WD.Client(contact, api_url, sparql_url, cache) as client:
            items = WD.fetch(classes, client, wn31,
                             progress=lambda m: emit(progress, "wikidata", message=m))
        path = self.overrides_dir.parent / "enrichment" / "wikidata.json"
        WD.write_enrichment(path, items)
        results = self.build(domains=[d.name for d in doms], lexicons=lexicons, freedict=freedict,
                             progress=progress) if build else None
        return Enrichment(path=path, classes=len(classes), found=len(items),
                          labels=sum(len(v["labels"]) for v in items.values()), results=results)

    def translations_export(self, *, file: Path | str, lang: str, missing: bool = False,
                            domains: str | Sequence[str] | None = None, progress: Progress | None = None) -> int:
        """A file for translators (``.csv`` or ``.po``): one row per class with English lemmas,
        definition, current names and their source, suggestions, a thumbnail path where the
        attached store has harvested images, and the column to fill in. Returns the row count.
        ``missing``: only classes without a name from a wordnet, a person or Wikidata. When the
        store cannot be read, the rows have no thumbnail and ``progress`` gets a note saying why."""
        from ontology import translations as T

        doms = self._all(domains)
        return T.export(doms, lang, Path(file), missing, self._thumbnails(doms, progress))

    def translations_import(self, *, file: Path | str, translator: str) -> Any:
        """Write ``overrides/translations-<lang>-<translator>.toml`` with the names that changed in a
        filled-in file (who and when); a rebuild puts them into the data."""
        from ontology import translations as T

        known = {c.synset for d in self._all(None) for c in d.classes}
        return T.import_file(Path(file), translator, self.overrides_dir, known)

    def _thumbnails(self, domains: list["DomainOntology"], progress: Progress | None = None) -> dict[str, str]:
        """synset -> the local path of one stored image harvested for it (none without a store)."""
        if self._corpus is None:
            return {}
        try:
            from sqlalchemy import select

            from corpus.store.models import Domain, HarvestQuery, Image, ImageHit, OntologyClass

            out: dict[str, str] = {}
            with self._corpus.session() as s:
                q = (select(OntologyClass.synset, Image.local_path)
                     .join(HarvestQuery, HarvestQuery.class_id == OntologyClass.id)
                     .join(ImageHit, ImageHit.query_id == HarvestQuery.id)
                     .join(Image, Image.id == ImageHit.image_id)
                     .join(Domain, Domain.id == OntologyClass.domain_id)
                     .where(Image.status == "stored", Image.local_path.is_not(None),
                            Domain.name.in_([d.name for d in domains]))
                     .order_by(OntologyClass.synset, Image.id))
                for synset, path in s.execute(q):
                    out.setdefault(synset, path)
            return out
        except Exception as exc:  # no store, or not migrated: the rows simply have no thumbnail
            emit(progress, "translations",
                 message=f"no thumbnails (the store could not be read: {str(exc).splitlines()[0][:160]})")
            return {}

    def export(self, *, format: str = "json", domains: str | Sequence[str] | None = None,
               languages: str | Sequence[str] | None = None, out: Path | str | None = None) -> str:
        """The domains as ``json``, ``csv`` (a row per class and language) or ``skos`` (Turtle).
        With ``out``, the text is also written there (atomically)."""
        from ontology.export import export

        text = export(self._all(domains), format, list(_names(languages)) or None)
        if out is not None:
            path = Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return text

    def load(self, *, domains: str | Sequence[str] | None = None) -> list["LoadResult"]:
        """Put built domains into the corpus's store (idempotent; a reload updates rows in place)."""
        from corpus.ontology_load import load_domain_into_store

        if self._corpus is None:
            raise UsageError("this ontology is not attached to a corpus: use Corpus.open(...).ontology")
        doms = self._all(domains)
        results = []
        for dom in doms:
            with self._corpus.session() as s:
                results.append(load_domain_into_store(s, dom))
        return results


@dataclass(frozen=True)
class Enrichment:
    path: Path  # the enrichment file written
    classes: int  # classes asked for
    found: int  # classes found on Wikidata
    labels: int  # labels fetched
    results: list[Any] | None  # the rebuild's results, when rebuilt


def _path(value: Path | str | None) -> Path | None:
    return Path(value) if value is not None else None


def _named(progress: Progress | None):
    if progress is None:
        return None
    return lambda name: progress(ProgressEvent("ontology", message=f"building {name}"))


@dataclass(frozen=True)
class DoneResult:
    images: list[int]  # the images asked for
    changed: int  # how many changed state (the others already were done, or not done with undo)
    pending: dict[int, int]  # pending annotations per image that still has some (they stay pending)
    who: str
    undo: bool = False


class Review:
    """Review decisions, as COCO Annotator imports record them: every decision bumps the
    annotation's version and adds a review event (who, what, before, after). ``who`` defaults to
    ``$CORPUS_REVIEWER`` or the login name; ``expected_version`` refuses (with
    :class:`~corpus.errors.ConflictError`) when someone else decided first."""

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus

    def list(
        self,
        *,
        domain: str | None = None,
        statuses: str | Sequence[str] = "pending",
        image_id: int | None = None,
        class_ref: str | None = None,
        model: str | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        limit: int | None = 50,
    ) -> list["Instance"]:
        """Annotations with these statuses (literal: ``accepted`` is not widened to ``edited``;
        ``"all"`` for every status), the most doubtful (lowest score) first; ``limit`` 0 or None
        for all. ``model`` (name or name@version) and the scores are those of the proposal an
        annotation came from.

        Each is a :class:`corpus.instances.Instance` (the type models return and exports write):
        ``id``, ``image_id``, ``class_name``, ``score``, ``box_xywh``, ``mask``, and the review
        state as attributes (``status``, ``version``, ``origin``, ``reviewed_by``, ``model``,
        ``synset``, ``file``); ``corpus.review.annotation_record`` makes a plain dict of one."""
        from corpus.review import list_annotations, parse_review_statuses
        from corpus.store.queries import resolve_domain

        check_range("min_score", min_score, 0.0, 1.0)
        check_range("max_score", max_score, 0.0, 1.0)
        wanted = parse_review_statuses(statuses)
        with self._corpus.session() as s:
            return list_annotations(s, resolve_domain(s, domain), statuses=wanted, image_id=image_id,
                                    class_ref=class_ref, model=model, min_score=min_score, max_score=max_score,
                                    limit=limit or None)

    def _matching(self, action: str, domain: str | None, who: str | None, dry_run: bool, note: str,
                  **filters: Any) -> list[int]:
        from corpus.review import decide_matching, default_reviewer
        from corpus.store.queries import resolve_domain

        # Scores are 0..1: a percent (min_score=90) would match nothing, max_score=90 everything.
        check_range("min_score", filters.get("min_score"), 0.0, 1.0)
        check_range("max_score", filters.get("max_score"), 0.0, 1.0)
        with self._corpus.session() as s:  # all or nothing
            return decide_matching(s, action, who or default_reviewer(), resolve_domain(s, domain),
                                   dry_run=dry_run, note=note, **filters)

    def accept_matching(self, *, domain: str | None = None, class_ref: str | int | None = None,
                        model: str | None = None, min_score: float | None = None, max_score: float | None = None,
                        image_id: int | None = None, dry_run: bool = False, who: str | None = None,
                        note: str = "") -> list[int]:
        """Accept every pending annotation matching the filters (as MIC21 kept proposals scoring
        0.9 or more), one review event each; ``dry_run`` only finds them. Returns their ids."""
        return self._matching("accept", domain, who, dry_run, note, class_ref=class_ref, model=model,
                              min_score=min_score, max_score=max_score, image_id=image_id)

    def reject_matching(self, *, domain: str | None = None, class_ref: str | int | None = None,
                        model: str | None = None, min_score: float | None = None, max_score: float | None = None,
                        image_id: int | None = None, dry_run: bool = False, who: str | None = None,
                        note: str = "") -> list[int]:
        """Reject every pending annotation matching the filters; see :meth:`accept_matching`."""
        return self._matching("reject", domain, who, dry_run, note, class_ref=class_ref, model=model,
                              min_score=min_score, max_score=max_score, image_id=image_id)

    def _many(self, action: Any, ids: int | Sequence[int], who: str | None, expected_version: int | None,
              note: str) -> list["ReviewEvent"]:
        from corpus.review import default_reviewer

        ids = [ids] if isinstance(ids, int) else list(ids)
        if expected_version is not None and len(ids) > 1:
            raise UsageError("expected_version applies to a single annotation", param="expected_version")
        who = who or default_reviewer()
        with self._corpus.session() as s:  # all or nothing
            return [action(s, i, who, expected_version=expected_version, note=note) for i in ids]

    def accept(self, *, ids: int | Sequence[int], who: str | None = None, expected_version: int | None = None,
               note: str = "") -> list["ReviewEvent"]:
        """Accept annotations as they are (all or none)."""
        from corpus.review import accept

        return self._many(accept, ids, who, expected_version, note)

    def reject(self, *, ids: int | Sequence[int], who: str | None = None, expected_version: int | None = None,
               note: str = "") -> list["ReviewEvent"]:
        """Reject annotations: they stay in the store with their history and leave training exports."""
        from corpus.review import reject

        return self._many(reject, ids, who, expected_version, note)

    def relabel(self, *, annotation_id: int, class_ref: str | int, who: str | None = None,
                expected_version: int | None = None, note: str = "") -> "ReviewEvent":
        """Give an annotation another class of its domain (synset, category id or English name)."""
        from corpus.review import default_reviewer, relabel

        with self._corpus.session() as s:
            return relabel(s, annotation_id, class_ref, who or default_reviewer(), expected_version=expected_version,
                           note=note)

    def edit(self, *, annotation_id: int, segmentation: Any | None = None, bbox: Sequence[float] | None = None,
             class_ref: str | int | None = None, who: str | None = None, expected_version: int | None = None,
             note: str = "") -> "ReviewEvent":
        """Change an annotation's shape (COCO polygons or RLE, and/or a box x,y,w,h) and optionally its class."""
        from corpus.review import default_reviewer, edit

        with self._corpus.session() as s:
            return edit(s, annotation_id, who or default_reviewer(), segmentation=segmentation, bbox=bbox,
                        class_ref=class_ref, expected_version=expected_version, note=note)

    def add(self, *, image_id: int, class_ref: str | int, domain: str | None = None, segmentation: Any | None = None,
            bbox: Sequence[float] | None = None, who: str | None = None, note: str = "") -> int:
        """Add an instance the detectors missed (stored as accepted); returns the new annotation's id."""
        from corpus.review import add, default_reviewer, resolve_class
        from corpus.store.queries import resolve_domain

        with self._corpus.session() as s:
            dom = resolve_domain(s, domain)
            ann, _ = add(s, image_id, resolve_class(s, class_ref, dom.id).id, who or default_reviewer(),
                         segmentation=segmentation, bbox=bbox, note=note)
            return ann.id

    def done(self, *, image_ids: int | Sequence[int] | None = None, all_images: bool = False,
             domain: str | None = None, undo: bool = False, who: str | None = None, note: str = "") -> "DoneResult":
        """Declare images' review done (every instance on them was looked at), or not done any
        more with ``undo``: the given ``image_ids``, or with ``all_images`` every image holding
        annotations of the domain. Annotations keep their status; only done images count as
        reviewed. Each change is a done/undone event in the review log."""
        from corpus.review import default_reviewer, mark_images_done, pending_counts, review_image_ids
        from corpus.store.queries import resolve_domain

        ids = [image_ids] if isinstance(image_ids, int) else list(image_ids or [])
        if not ids and not all_images:
            raise UsageError("give image ids or all_images=True", param="image_ids")
        if ids and all_images:
            raise UsageError("give either image ids or all_images=True, not both", param="all_images")
        who = who or default_reviewer()
        with self._corpus.session() as s:
            targets = sorted(review_image_ids(s, resolve_domain(s, domain))) if all_images else list(dict.fromkeys(ids))
            changed = mark_images_done(s, targets, reviewer=who, done=not undo, note=note)
            pending = pending_counts(s, targets) if not undo else {}
        return DoneResult(images=targets, changed=changed, pending=pending, who=who, undo=undo)

    def web_app(self, *, domain: str | None = None, lang: str = "en", host: str = "127.0.0.1",
                token: str | None = None, public_url: str | None = None) -> Any:
        """The review web app (an ASGI app; the ``web`` extra): a queue of images, most doubtful
        first, with decisions recorded as these methods record them. ``lang`` is the default
        language of class names and pages. Anything but a loopback ``host`` needs a ``token``
        (at least 8 characters) that reviewers give to start. ``public_url``: the address a
        reverse proxy serves the app at (``https://review.example.org``), whose origin may write."""
        try:
            from corpus.web.server import build
        except ImportError as exc:
            raise ResourceMissing(f"the web app needs the 'web' extra ({exc.name} is missing): "
                                  "pip install 'mic-corpus[web]'") from None
        return build(self._corpus.engine, self._corpus.data_dir, domain=domain, lang=lang, host=host, token=token,
                     public_url=public_url)

    def serve(self, *, domain: str | None = None, lang: str = "en", host: str = "127.0.0.1", port: int = 8765,
              token: str | None = None, public_url: str | None = None) -> None:
        """Run :meth:`web_app` on Uvicorn until interrupted (what ``corpus review serve`` does)."""
        app = self.web_app(domain=domain, lang=lang, host=host, token=token, public_url=public_url)
        from corpus.web.server import serve

        serve(app, host, port)

    def open(self, *, domain: str | None = None, model: str | None = None, min_score: float = 0.0) -> int:
        """Turn proposals on images without annotations into pending annotations; returns how many."""
        from corpus.review import open_proposals
        from corpus.store.queries import resolve_domain

        with self._corpus.session() as s:
            return open_proposals(s, resolve_domain(s, domain), model_name=model, min_score=min_score)
