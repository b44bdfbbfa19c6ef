"""`corpus export yolo`: the Ultralytics YOLO-seg dataset export (a command of the `export` group)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from corpus.commands.common import console, state, styled
from corpus.commands.export import (_DOMAIN, _LICENSE_POLICY, _LINK, _SEED, _STATUS, _SYMLINK, _exporting,
                                    _files_mode, _render_left_out)


def yolo_cmd(
    out: Path = typer.Argument(..., help="New or empty folder (created): data.yaml, images/SPLIT/, labels/SPLIT/, "
                               "ATTRIBUTION.md, licenses.json."),
    domain: Optional[str] = _DOMAIN,
    status: str = _STATUS,
    split: str = typer.Option("train=0.8,val=0.1,test=0.1", "--split",
                              help="Splits as NAME=FRACTION summing to 1; train and val are required. The same "
                              "--split and --seed put every image in the same split as `export coco` does."),
    seed: int = _SEED,
    lang: str = typer.Option("en", "--lang", help="Language of the class names in data.yaml (English where a class has "
                             "no lemma in it), e.g. bg, de, el."),
    classes: Optional[List[str]] = typer.Option(None, "--class", help="Only this class (synset, English name or category "
                                                "id); repeatable. Default: every class with exported instances."),
    license_policy: str = _LICENSE_POLICY,
    link: bool = _LINK,
    symlink: bool = _SYMLINK,
    no_images: bool = typer.Option(False, "--no-images", help="Write data.yaml and the labels only, no image files."),
) -> None:
    """Export reviewed instances of a domain as a YOLO-seg dataset (Ultralytics layout) to train on.

    One label file per image, one instance per line: the class index, then its outline as x y pairs
    divided by the image size. data.yaml lists the class names in --lang and, under mic_corpus, each
    class's synset and category id, so a trained model's classes map back onto the ontology.

    Example: corpus export yolo --domain sport --status accepted --lang bg out/yolo && yolo train data=out/yolo/data.yaml
    """
    files = _files_mode(link, symlink, no_images)
    with _exporting() as bars:
        summary = state.corpus().export_yolo(out_dir=out, domain=domain, statuses=status, splits=split, seed=seed,
                                             lang=lang, classes=classes or None, license_policy=license_policy,
                                             files=files, progress=bars)
    table = Table(title=f"YOLO export of {summary.domain} -> {out}")
    for col in ("split", "images", "instances"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name in summary.splits:
        table.add_row(name, str(summary.images[name]), str(summary.instances[name]))
    console.print(table)
    console.print(f"{len(summary.classes)} classes named in '{summary.lang}' in {summary.data_yaml}; "
                  f"license policy: {summary.policy}")
    if summary.untranslated:
        console.print(styled("note", rest=f": {len(summary.untranslated)} class(es) have no '{lang}' lemma and keep their "
                             f"English name: {', '.join(summary.untranslated[:10])}{' ...' if len(summary.untranslated) > 10 else ''}"))
    _render_left_out(summary, "instance")


def register(app: typer.Typer) -> None:
    from corpus.commands.export import export_app

    export_app.command("yolo")(yolo_cmd)
