"""`corpus preview`: proposals drawn over their images, for people to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from corpus.commands.common import RichBars, console, fail, handled, state, styled

HELP = """Draw a domain's proposals over their images into OUT.

Writes OUT/images/<image id>.png (every proposal's mask, box, class, detector label and score) and OUT/classes/<class>.png (a contact sheet per class, best scores first), so you can judge a model before reviewing its proposals.

Example: corpus preview --domain sport --min-score 0.5 previews/
"""


def register(app: typer.Typer) -> None:
    @app.command("preview", help=HELP)
    def preview_cmd(
        out: Path = typer.Argument(..., help="Folder to write the PNG files into (created if missing)."),
        domain: str = typer.Option(..., "--domain", "-d", help="Domain whose proposals to draw, e.g. sport."),
        model: Optional[str] = typer.Option(None, "--model", help="Only this model's proposals (its stored name, "
                                            "e.g. onnx-yolo-v5:yolov5s-seg); default: all."),
        min_score: float = typer.Option(0.0, "--min-score", help="Hide proposals below this score (0 to 1)."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Draw at most this many images (at least 1)."),
        per_class: int = typer.Option(48, "--per-class", help="Tiles per class contact sheet, best first (at least 1)."),
    ) -> None:
        from rich.table import Table

        with handled(), RichBars(labels={"images": "preview"}) as bars:
            summary = state.corpus().preview(domain=domain, out_dir=out, model=model, min_score=min_score, limit=limit,
                                             per_class=per_class, progress=bars)
        t = Table(title=f"previews in {out}")
        t.add_column("class")
        t.add_column("tiles", justify="right")
        for name, n in sorted(summary.sheets.items()):
            t.add_row(name, str(n))
        console.print(t)
        console.print(f"{summary.images} images, {summary.proposals} proposals drawn")
        for image_id, reason in summary.missing[:10]:
            console.print(styled(f"image {image_id}:", rest=f" {reason}"))
