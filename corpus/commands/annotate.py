"""`corpus annotate`: detector proposals for a domain's stored images."""

from __future__ import annotations

from typing import Optional

import typer

from corpus.commands.common import console, fail, state, styled

HELP = """Run a segmentation model over a domain's stored images and store its proposals.

Each instance becomes a proposal (mask as COCO RLE, box, score, detector label), mapped onto the domain's ontology (a person in an image harvested for tennis players becomes a tennis player if they hold a racket or are clearly the photo's subject, else stays a person; a tennis racket goes to the racket attribute class). Images nobody has annotated yet also get pending annotations to review. Images this model (same weights) already saw are skipped, so a rerun continues where the last one stopped; a new model only adds proposals.

--model takes: yolo11n-seg.pt (default; ultralytics downloads it where there is internet), a path to a -seg .pt, an ONNX export (YOLOv5/v7/v8/11-seg or YOLACT: onnx:/path/model.onnx), torchvision[:/path/weights.pth] (Mask R-CNN v2), detectron2[:CONFIG[@WEIGHTS]] (MIC21's X101), trained:NAME (a model from `corpus train`, proposing the domain's own classes; trained-onnx:NAME runs its ONNX export without torch).

Example: corpus annotate --domain sport --model onnx:models/yolov5s-seg.onnx --score-threshold 0.5
"""


def register(app: typer.Typer) -> None:
    @app.command("annotate", help=HELP)
    def annotate_cmd(
        domain: str = typer.Option(..., "--domain", "-d", help="Domain whose images to annotate, e.g. sport."),
        model: str = typer.Option("yolo11n-seg.pt", "--model", "-m", help="Model to run (see above)."),
        score_threshold: Optional[float] = typer.Option(
            None, "--score-threshold", min=0.0, max=1.0,
            help="Keep instances scoring at least this (default per model: YOLO 0.25, YOLACT 0.3, "
            "torchvision 0.5, detectron2 0.9 as in MIC21)."),
        iou_threshold: Optional[float] = typer.Option(None, "--iou-threshold", min=0.0, max=1.0,
                                                      help="NMS IoU for YOLO/YOLACT models (default per model)."),
        batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per model call and per transaction."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:0, mps (what the backend supports)."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Annotate at most this many new images."),
        unmapped: str = typer.Option(
            "keep", "--unmapped",
            help="Detections that fit no harvest or attribute class: 'keep' them under their most specific "
            "ontology parent (or unclassified), or 'drop' them."),
        engine: str = typer.Option(
            "local", "--engine",
            help="'local': this process. 'ray': a pool of model workers on a Ray cluster (pip install "
            "'mic-corpus[ray]'); the same proposals, written back here batch by batch. See docs/scale.md."),
        address: Optional[str] = typer.Option(
            None, "--address", help="Ray cluster to join: 'auto', 'ray://head:10001' or a GCS address "
            "(default: start a local one). Workers must reach --data-dir (a shared folder or s3://...)."),
        workers: int = typer.Option(2, "--workers", min=1, help="Ray engine: model workers (one per GPU, or CPU workers)."),
        gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", min=0.0,
                                              help="Ray engine: GPUs each worker takes (0: CPU workers)."),
    ) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from annotators.base import AnnotatorError
        from annotators.registry import load_annotator
        from corpus.annotate import AnnotateOptions, UnknownDomain, annotate_domain

        if unmapped not in ("keep", "drop"):
            raise fail(f"--unmapped must be 'keep' or 'drop', not {unmapped!r}")
        if engine not in ("local", "ray"):
            raise fail(f"--engine must be 'local' or 'ray', not {engine!r}")
        options = AnnotateOptions(batch_size=batch_size, limit=limit, unmapped=unmapped)  # type: ignore[arg-type]
        if engine == "ray":
            if model.startswith(("trained:", "trained-onnx:")):
                raise fail("models from `corpus train` run with --engine local for now")
            return _annotate_on_ray(domain, model, dict(score_threshold=score_threshold, iou_threshold=iou_threshold,
                                                        device=device), options, address, workers, gpus_per_worker)
        mapper = None
        try:
            if model.startswith(("trained:", "trained-onnx:")):
                # A model from `corpus train` proposes the domain's own classes: no COCO label mapping.
                from corpus.errors import CorpusError
                from corpus.trained_models import load_trained

                try:
                    annotator, mapper = load_trained(state.engine(), model, state.settings.data_dir, domain,
                                                     score_threshold=score_threshold, iou_threshold=iou_threshold,
                                                     device=device, unmapped=unmapped)
                except CorpusError as exc:
                    raise fail(str(exc)) from None
            else:
                annotator = load_annotator(model, score_threshold=score_threshold, iou_threshold=iou_threshold,
                                           device=device)
        except AnnotatorError as exc:
            raise fail(str(exc))
        with Progress(TextColumn("annotate {task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=False) as bar:
            task = bar.add_task(f"{domain} with {annotator.name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                summary = annotate_domain(state.engine(), annotator, domain, state.settings.data_dir, options, progress,
                                          mapper=mapper)
            except UnknownDomain as exc:
                raise fail(str(exc))
        # Unreadable files are listed, not fatal: they are retried on the next run.
        render_summary(summary)


def _annotate_on_ray(domain, model, model_kw, options, address, workers, gpus_per_worker) -> None:
    import functools

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from annotators.base import AnnotatorError
    from annotators.registry import load_annotator
    from corpus.annotate import UnknownDomain
    from corpus.annotate_ray import RayOptions, RayUnavailable, annotate_domain_ray

    factory = functools.partial(load_annotator, model, **model_kw)  # called in every worker
    ray_opts = RayOptions(address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    with Progress(TextColumn("annotate {task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task(f"{domain} with {model} on Ray ({workers} workers)", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = annotate_domain_ray(state.engine(), factory, domain, state.settings.data_dir, options,
                                          ray_opts, progress)
        except (UnknownDomain, AnnotatorError, RayUnavailable) as exc:
            raise fail(str(exc))
    render_summary(summary)
    if summary.workers_lost:
        console.print(styled(f"{summary.workers_lost} worker(s) died and were replaced; "
                             f"{summary.batches_retried} batch(es) ran again, none stored twice"))


def render_summary(summary) -> None:
    from rich.table import Table

    t = Table(title=f"{summary.domain}: {summary.model_name} ({summary.model_version})", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    t.add_row("images annotated", str(summary.annotated))
    t.add_row("skipped (done before)", str(summary.already_done))
    t.add_row("failed", str(len(summary.failed)))
    t.add_row("proposals", str(summary.proposals))
    t.add_row("  unclassified", str(summary.unclassified))
    t.add_row("dropped (--unmapped drop)", str(summary.dropped))
    t.add_row("annotations to review", str(summary.annotations))
    t.add_row("images/s", f"{summary.images_per_second:.2f}")
    console.print(t)
    if summary.per_class:
        c = Table(title="proposals per class")
        c.add_column("class")
        c.add_column("proposals", justify="right")
        for name, n in summary.per_class.most_common():
            c.add_row(name, str(n))
        console.print(c)
    for image_id, reason in summary.failed[:10]:
        console.print(styled(f"image {image_id}:", rest=f" {reason}"))
    if len(summary.failed) > 10:
        console.print(styled(f"... and {len(summary.failed) - 10} more failures"))
