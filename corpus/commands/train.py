"""`corpus train` (fine-tune YOLO-seg on reviewed data) and `corpus models list/show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from corpus.commands.common import console, fail, state

# Library arguments whose flag is not simply --name-with-dashes.
FLAGS = {"domain": "--domain/-d", "statuses": "--status", "splits": "--split", "classes": "--class"}

TRAIN_HELP = """Fine-tune a YOLO-seg model on a domain's reviewed instances, so it proposes the ontology's own classes.

Exports the accepted instances as a YOLO dataset (the COCO export's splits and license policy) under DATA/models/NAME/dataset, trains with ultralytics (the `yolo` extra) into DATA/models/NAME/run, and records the model in the store: base weights and their hash, class -> ontology class, the exact annotations (ids and versions) it was trained on, the settings and the metrics. Then: corpus annotate --model trained:NAME, and corpus evaluate --held-out NAME.

Every class needs --min-annotations accepted instances in the train split. See docs/train.md (how much data, and the license of the base weights: Ultralytics weights are AGPL-3.0).

Example: corpus train --domain sport --base yolo11n-seg.pt --name sport-v1 --epochs 50 --device 0 --onnx
"""


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def register(app: typer.Typer) -> None:
    @app.command("train", help=TRAIN_HELP)
    def train_cmd(
        domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain to train on (default: the only one)."),
        base: str = typer.Option("yolo11n-seg.pt", "--base", help="Base weights: a YOLO -seg .pt path, a release name "
                                 "(ultralytics fetches it where there is internet), or trained:NAME to continue one."),
        name: Optional[str] = typer.Option(None, "--name", help="Name of the new model (letters, digits, . _ -; "
                                           "default: DOMAIN-UTCTIME)."),
        epochs: int = typer.Option(50, "--epochs", help="Training epochs (at least 1)."),
        imgsz: int = typer.Option(640, "--imgsz", help="Training image size (pixels, longest side; at least 32)."),
        batch: int = typer.Option(16, "--batch", help="Images per batch (at least 1)."),
        device: str = typer.Option("cpu", "--device", help="cpu, 0 (first GPU), 0,1, mps."),
        lang: str = typer.Option("en", "--lang", help="Language of the class names written into the weights."),
        classes: Optional[List[str]] = typer.Option(None, "--class", help="Train on this class only (synset, English "
                                                    "name or category id); repeatable. Default: every reviewed class."),
        status: str = typer.Option("accepted", "--status", help="Review statuses to train on (as for export)."),
        split: str = typer.Option("train=0.8,val=0.1,test=0.1", "--split",
                                  help="Splits as for `export coco`/`export yolo`; val is what evaluate --held-out uses."),
        seed: int = typer.Option(0, "--seed", help="Seed of the split assignment (and of training)."),
        license_policy: str = typer.Option("default", "--license-policy",
                                           help="Only images whose license passes (as for export)."),
        min_annotations: int = typer.Option(10, "--min-annotations",
                                            help="Accepted instances each class needs in the train split (at least 1)."),
        patience: int = typer.Option(50, "--patience", help="Stop after this many epochs without improvement (at least 1)."),
        amp: bool = typer.Option(False, "--amp/--no-amp", help="Mixed precision on a GPU (ultralytics first checks it "
                                 "with a model it downloads, so it is off by default)."),
        onnx: bool = typer.Option(False, "--onnx", help="Also export the trained model to ONNX (run it without torch: "
                                  "--model trained-onnx:NAME)."),
    ) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from corpus.commands.common import handled

        with handled(FLAGS), Progress(TextColumn("train {task.description}", markup=False), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                      transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(event) -> None:
                if event.stage not in tasks:
                    tasks[event.stage] = bar.add_task(event.stage, total=event.total)
                bar.update(tasks[event.stage], completed=event.done, total=event.total)

            result = state.corpus().train(
                domain=domain, base=base, name=name, epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                lang=lang, classes=classes or None, statuses=status, splits=split, seed=seed,
                license_policy=license_policy, min_annotations=min_annotations, patience=patience, amp=amp,
                onnx=onnx, progress=progress)
        overall = result.metrics.get("overall", {})
        t = Table(title=f"trained {result.name} ({result.domain})", show_header=False)
        t.add_column("", style="bold")
        t.add_column("")
        ds = result.dataset
        t.add_row("classes", str(len(ds.classes)))
        t.add_row("images train / val", f"{ds.images.get('train', 0)} / {ds.images.get('val', 0)}")
        t.add_row("instances train / val", f"{ds.instances.get('train', 0)} / {ds.instances.get('val', 0)}")
        t.add_row("box mAP50-95 (val)", _f(overall.get("metrics/mAP50-95(B)")))
        t.add_row("mask mAP50-95 (val)", _f(overall.get("metrics/mAP50-95(M)")))
        if result.epoch_seconds:
            t.add_row("seconds per epoch", f"{sum(result.epoch_seconds) / len(result.epoch_seconds):.1f}")
        t.add_row("weights", str(result.weights))
        if result.onnx:
            t.add_row("onnx", str(result.onnx))
        console.print(t)
        console.print(f"Next: corpus annotate --domain {result.domain} --model trained:{result.name}; "
                      f"corpus evaluate --domain {result.domain} --held-out {result.name}")

    models_app = typer.Typer(help="Models trained with `corpus train`: what each was trained from and on, and how well.",
                             no_args_is_help=True, rich_markup_mode=None)

    @models_app.command("list")
    def list_cmd(domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Only models of this domain.")) -> None:
        """List trained models: domain, base, classes, annotations trained on, mAP on the val split."""
        rows = state.corpus().models(domain=domain)
        if not rows:
            console.print("no trained models yet: corpus train --domain DOMAIN --base yolo11n-seg.pt")
            return
        t = Table(title="trained models")
        for col in ("name", "domain", "base", "classes", "train ann.", "val ann.", "epochs", "box mAP", "mask mAP",
                    "onnx", "created"):
            t.add_column(col, justify="right" if col in ("classes", "train ann.", "val ann.", "epochs", "box mAP",
                                                         "mask mAP") else "left")
        for m in rows:
            t.add_row(m.name, m.domain, Path(m.base).name, str(len(m.classes)), str(m.annotations.get("train", 0)),
                      str(m.annotations.get("val", 0)), str(m.settings.get("epochs", "")), _f(m.box_map),
                      _f(m.mask_map), "yes" if m.onnx else "no", f"{m.created_at:%Y-%m-%d %H:%M}")
        console.print(t)

    @models_app.command("show")
    def show_cmd(
        name: str = typer.Argument(..., help="Model name (see `corpus models list`)."),
        annotations: bool = typer.Option(False, "--annotations", help="Also list every annotation id, version and "
                                         "split it was trained on."),
        as_json: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
    ) -> None:
        """Show one trained model: base weights and hash, settings, classes and their ontology ids,
        how many instances per class and split, and the metrics ultralytics reported."""
        from corpus.errors import NotFoundError

        try:
            m = state.corpus().model(name=name)
            anns = state.corpus().trained_on(name=name) if (annotations or as_json) else []
        except NotFoundError as exc:
            raise fail(str(exc))
        if as_json:
            doc = {k: getattr(m, k) for k in ("name", "domain", "base", "base_version", "version", "weights", "onnx",
                                              "lang", "classes", "settings", "metrics", "dataset", "seconds")}
            doc["created_at"] = m.created_at.isoformat()
            doc["annotations"] = [{"id": a, "version": v, "image_id": i, "split": sp} for a, v, i, sp in anns]
            print(json.dumps(doc, ensure_ascii=False, indent=1))
            return
        t = Table(title=f"model {m.name}", show_header=False)
        t.add_column("", style="bold")
        t.add_column("")
        for key, value in (("domain", m.domain), ("run with", f"--model trained:{m.name}"
                                                   + (f" or trained-onnx:{m.name}" if m.onnx else "")),
                           ("base", m.base), ("base weights", m.base_version), ("weights", f"{m.weights} ({m.version})"),
                           ("onnx", m.onnx or "-"), ("names in", m.lang),
                           ("settings", ", ".join(f"{k}={v}" for k, v in m.settings.items() if v is not None)),
                           ("annotations", ", ".join(f"{k}: {v}" for k, v in sorted(m.annotations.items()))),
                           ("box mAP50-95 (val)", _f(m.box_map)), ("mask mAP50-95 (val)", _f(m.mask_map)),
                           ("training seconds", f"{m.seconds:.1f}"), ("created", f"{m.created_at:%Y-%m-%d %H:%M}")):
            t.add_row(key, str(value))
        console.print(t)
        per = m.dataset.get("per_class", {})
        maps = m.metrics.get("per_class", {})
        c = Table(title="classes")
        for col in ("index", "name", "synset", "class id", "category id", "train", "val", "box mAP", "mask mAP"):
            c.add_column(col, justify="left" if col in ("name", "synset") else "right")
        for k in m.classes:
            n = per.get(k["synset"], {})
            mp = maps.get(k["synset"], {})
            c.add_row(str(k["index"]), k["name"], k["synset"], str(k["class_id"]), str(k["category_id"]),
                      str(n.get("train", 0)), str(n.get("val", 0)), _f(mp.get("box_map50_95")), _f(mp.get("mask_map50_95")))
        console.print(c)
        if annotations:
            a = Table(title="annotations trained on")
            for col in ("annotation", "version", "image", "split"):
                a.add_column(col, justify="right")
            for ann_id, version, image_id, sp in anns:
                a.add_row(str(ann_id), str(version), str(image_id), sp)
            console.print(a)

    app.add_typer(models_app, name="models")
