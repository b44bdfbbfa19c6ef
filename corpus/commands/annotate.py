"""`corpus annotate`: detector proposals for a domain's stored images."""

from __future__ import annotations

from typing import Optional

import typer

from corpus.commands.common import RichBars, console, fail, handled, state, styled

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
            None, "--score-threshold",
            help="Keep instances scoring at least this, 0 to 1 (default per model: YOLO 0.25, YOLACT 0.3, "
            "torchvision 0.5, detectron2 0.9 as in MIC21)."),
        iou_threshold: Optional[float] = typer.Option(None, "--iou-threshold",
                                                      help="NMS IoU for YOLO/YOLACT models, 0 to 1 (default per model)."),
        batch_size: int = typer.Option(8, "--batch-size", help="Images per model call and per transaction (at least 1)."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:0, mps (what the backend supports)."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Annotate at most this many new images (at least 1)."),
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
        workers: int = typer.Option(2, "--workers", help="Ray engine: model workers (one per GPU, or CPU workers; at least 1)."),
        gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker",
                                              help="Ray engine: GPUs each worker takes (0: CPU workers)."),
    ) -> None:
        label = f"annotate {domain}" + (f" on Ray ({workers} workers)" if engine == "ray" else "")
        with handled(), RichBars(labels={"images": label}) as bars:
            summary = state.corpus().annotate(
                domain=domain, model=model, score_threshold=score_threshold, iou_threshold=iou_threshold,
                device=device, batch_size=batch_size, limit=limit, unmapped=unmapped, engine=engine,
                address=address, workers=workers, gpus_per_worker=gpus_per_worker, progress=bars)
        # Unreadable files are listed, not fatal: they are retried on the next run.
        render_summary(summary)
        if getattr(summary, "workers_lost", 0):
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
