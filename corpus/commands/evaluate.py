"""`corpus evaluate`: proposals against reviewed truth (COCOeval), per model, with a plot."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from corpus.commands.common import console, fail, handled, state


def _f(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.3f}"


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain (default: the only one)."),
        model: Optional[List[str]] = typer.Option(None, "--model", help="Only these models (name or name@version); repeatable."),
        plot: Path = typer.Option(Path("evaluation.png"), "--plot", help="Where to save the plot (PNG)."),
        per_class: bool = typer.Option(True, "--per-class/--no-per-class", help="Also print AP per class."),
        held_out: Optional[str] = typer.Option(
            None, "--held-out", help="Only the reviewed images trained model NAME held out from training (its val "
            "split), so it and the models it is compared with are measured on images it never saw."),
        done_only: bool = typer.Option(False, "--done-only", help="Truth only from images marked done "
                                       "(`corpus review done`, the web reviewer), not every image without pending."),
    ) -> None:
        """Measure each detector's proposals against what reviewers kept (accepted or edited
        annotations on fully reviewed images) with pycocotools' COCOeval: AP, AP50, AP75, AR@100
        for boxes and masks, class-aware and class-agnostic, AP per class, and the share of
        proposals reviewers kept unchanged. Prints tables and saves a plot.

        Example: corpus evaluate --domain sport --plot reports/sport.png
        """
        from corpus.coco.evaluate import METRICS

        with handled({"held_out": "--held-out", "models": "--model"}):
            results = state.corpus().evaluate(domain=domain, models=model, plot=plot, held_out=held_out,
                                              done_only=done_only)
        if held_out and results:
            n = max(r.images for r in results)
            console.print(f"on the {n} reviewed image(s) {held_out} held out from training (val split)")
        if not results:
            raise fail("no proposals to evaluate in this domain: run `corpus annotate` and review first")
        table = Table(title="Proposals against reviewed truth",
                      caption="box*, mask*: class-agnostic (a proposal may match truth of any class)")
        for col in ("model", "images", "truth", "proposals", "kind", *METRICS, "kept unchanged"):
            table.add_column(col, justify="left" if col in ("model", "kind") else "right")
        for r in results:
            kept = r.kept_unchanged
            for i, (kind, scores) in enumerate((("box", r.bbox), ("mask", r.segm), ("box*", r.bbox_agnostic),
                                                ("mask*", r.segm_agnostic))):
                first = i == 0
                table.add_row(r.label if first else "", str(r.images) if first else "", str(r.truth) if first else "",
                              str(r.proposals) if first else "", kind, *(_f(scores[m]) for m in METRICS),
                              (("-" if kept is None else f"{kept:.1%}") if first else ""))
        console.print(table)
        if per_class:
            for r in results:
                t = Table(title=f"AP per class, {r.label}")
                for col in ("class", "category id", "truth", "proposals", "box AP", "mask AP"):
                    t.add_column(col, justify="left" if col == "class" else "right")
                for c in r.per_class:
                    t.add_row(c.name, str(c.category_id), str(c.gt), str(c.proposals), _f(c.ap_bbox), _f(c.ap_segm))
                console.print(t)
        if held_out and len(results) > 1:
            console.print(_side_by_side(results, held_out))
        console.print(f"plot saved to {plot}")


def _side_by_side(results, held_out: str) -> Table:
    """Box / mask AP per class and overall, one column per model: before (the base) and after
    (the trained model) on the same held-out images."""
    t = Table(title=f"box / mask AP on the images {held_out} held out, model by model")
    t.add_column("class")
    for r in results:
        t.add_column(r.label, justify="right")
    t.add_row("all classes", *(f"{_f(r.bbox['AP'])} / {_f(r.segm['AP'])}" for r in results))
    names = sorted({c.name for r in results for c in r.per_class})
    for name in names:
        cells = []
        for r in results:
            c = next((c for c in r.per_class if c.name == name), None)
            cells.append(f"{_f(c.ap_bbox)} / {_f(c.ap_segm)}" if c else "-")
        t.add_row(name, *cells)
    return t
