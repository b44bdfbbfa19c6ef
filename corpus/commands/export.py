"""`corpus export coco|coco-annotator`: the training export and the review export."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.table import Table

from corpus.commands.common import RichBars, console, fail, handled, state, styled

export_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
    help="Write COCO files: `coco` for training (accepted instances, splits, licenses), "
    "`coco-annotator` for review in COCO Annotator. See docs/export.md and docs/review.md.",
    no_args_is_help=True,
)


# Options both exports take, declared once.
_LICENSE_POLICY = typer.Option(
    "default", "--license-policy",
    help="Only images whose license passes: default (commercial use and derivatives), research, "
    "any-open, no-share-alike, public-domain, or tokens (see docs/export.md).")
_LINK = typer.Option(False, "--link", help="Hard-link image files instead of copying (symlink across disks).")
_SYMLINK = typer.Option(False, "--symlink", help="Symbolically link image files instead of copying.")
_NO_IMAGES = typer.Option(False, "--no-images", help="Write the JSON only, no image files.")
_DOMAIN = typer.Option(None, "--domain", "-d", help="Domain to export (default: the only one in the store).")
_SEED = typer.Option(0, "--seed", help="Seed of the split assignment.")
_STATUS = typer.Option("accepted", "--status", help="Review statuses to export, comma separated: accepted (= accepted "
                       "as is or edited), edited, pending, rejected, all.")
# Library arguments whose flag is not simply --name-with-dashes (every export command).
_FLAGS = {"domain": "--domain/-d", "statuses": "--status", "splits": "--split", "classes": "--class",
          "files": "--link/--symlink/--no-images", "out_dir": "OUT"}


def _files_mode(link: bool, symlink: bool, no_images: bool) -> str:
    if sum((link, symlink, no_images)) > 1:
        raise fail("choose at most one of --link, --symlink and --no-images")
    return "link" if link else "symlink" if symlink else "none" if no_images else "copy"


@contextmanager
def _exporting() -> Iterator[RichBars]:
    """The bars of an export, and its library errors as one line naming the flag."""
    with handled(_FLAGS), RichBars(transient=True, elapsed=True) as bars:
        yield bars


def _render_left_out(summary, noun: str, in_table: tuple[str, ...] = ()) -> None:
    """What an export left out or wrote differently, from the counts its summary has (those the
    command's table already shows, ``in_table``, are not repeated); ``noun``: annotation or instance."""
    def n(field: str) -> int:
        return 0 if field in in_table else getattr(summary, field, 0)

    for reason, count in sorted(summary.skipped_license.items()):
        console.print(styled("left out", rest=f" {count} image(s): {reason}"))
    if n("missing_files"):
        console.print(styled("left out", rest=f" {n('missing_files')} image(s) whose file is missing under "
                             f"{state.corpus().data_dir}"))
    if n("box_only"):
        console.print(f"{n('box_only')} {noun}(s) without a usable mask were written as their box")
    if n("merged"):
        console.print(f"{n('merged')} {noun}(s) in several parts were joined into one outline")
    if n("empty"):
        console.print(styled("left out", rest=f" {n('empty')} {noun}(s) whose mask and box cover no pixel"))
    if n("invalid"):
        console.print(styled(f"{n('invalid')} {noun}(s) with an unusable shape left out",
                             rest=" (non-finite, outside the image or too large; fix them with `corpus review edit`)"))


@export_app.command("coco")
def coco_cmd(
    out: Path = typer.Argument(..., help="Export folder (created): annotations/instances[_SPLIT].json and images/."),
    domain: Optional[str] = _DOMAIN,
    status: str = _STATUS,
    split: Optional[str] = typer.Option(
        None, "--split", help="Splits as NAME=FRACTION, summing to 1, e.g. train=0.8,val=0.1,test=0.1 "
        "(default: one file). Images are assigned by a hash of their content and --seed: stable and disjoint."),
    seed: int = _SEED,
    segmentation: str = typer.Option("polygon", "--segmentation", help="Mask format: polygon or rle."),
    license_policy: str = _LICENSE_POLICY,
    link: bool = _LINK,
    symlink: bool = _SYMLINK,
    no_images: bool = _NO_IMAGES,
    done_only: bool = typer.Option(False, "--done-only", help="Only images marked done (`corpus review done`, "
                                   "the web reviewer, `import coco-annotator --done`)."),
) -> None:
    """Export reviewed instances of a domain as COCO instances JSON for training.

    One category per ontology class (stable id, English name, parent class as supercategory, plus
    synset and names in every language); every image points to its own licenses entry (license
    name and URL, author, attribution, source URL). The writer streams: memory stays flat.

    Example: corpus export coco --domain sport --status accepted --split train=0.8,val=0.1,test=0.1 --seed 1 out/
    """
    files = _files_mode(link, symlink, no_images)
    with _exporting() as bars:
        summary = state.corpus().export_coco(out_dir=out, domain=domain, statuses=status, splits=split, seed=seed,
                                             segmentation=segmentation, license_policy=license_policy, files=files,
                                             done_only=done_only, progress=bars)
    table = Table(title=f"COCO export of {summary.domain} -> {out}")
    for col in ("split", "file", "images", "annotations"):
        table.add_column(col, justify="left" if col in ("split", "file") else "right")
    for name, path in summary.files.items():
        table.add_row(name, str(path), str(summary.images[name]), str(summary.annotations[name]))
    console.print(table)
    console.print(f"{summary.categories} categories; license policy: {summary.policy}")
    _render_left_out(summary, "annotation")
    if summary.fallback_categories:
        console.print(styled("note", rest=f": {len(summary.fallback_categories)} class(es) have no category_id in the store and "
                      f"got a derived id (stable only while no clashing class appears): {', '.join(summary.fallback_categories)}"))


@export_app.command("coco-annotator")
def coco_annotator_cmd(
    out: Path = typer.Argument(..., help="Folder (created): images/ to copy into COCO Annotator's dataset folder, "
                           "annotations/categories.json and annotations/part-NNNN.json to import there."),
    domain: Optional[str] = _DOMAIN,
    status: str = typer.Option("pending", "--status",
                               help="Send images that have annotations with these statuses (comma separated); "
                               "every not-rejected annotation of such an image goes with it."),
    chunk: int = typer.Option(250, "--chunk", help="Images per part file, at least 1 (COCO Annotator stalls on big files)."),
    open_proposals: bool = typer.Option(False, "--open-proposals",
                                        help="First turn proposals on images without annotations into pending "
                                        "annotations (as `corpus review open`)."),
    min_score: float = typer.Option(0.0, "--min-score", help="With --open-proposals: only proposals scoring at least this (0 to 1)."),
    license_policy: str = _LICENSE_POLICY,
    link: bool = _LINK,
    symlink: bool = _SYMLINK,
    no_images: bool = _NO_IMAGES,
) -> None:
    """Export images and their annotations for review in COCO Annotator (polygons only, unique
    file names, box and area always set, split into parts). docs/review.md walks you through it.

    Example: corpus export coco-annotator --domain sport review/
    """
    files = _files_mode(link, symlink, no_images)
    with _exporting() as bars:
        summary = state.corpus().export_coco_annotator(
            out_dir=out, domain=domain, statuses=status, chunk=chunk, open_proposals=open_proposals,
            min_score=min_score, license_policy=license_policy, files=files, progress=bars)
    table = Table(title=f"COCO Annotator export of {summary.domain} -> {out}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, n in (("images", summary.images), ("annotations", summary.annotations), ("part files", len(summary.parts)),
                    ("pending annotations created from proposals", summary.opened),
                    ("masks traced into polygons", summary.converted), ("sent as their box", summary.box_only),
                    ("images left out (file missing)", summary.missing_files)):
        table.add_row(what, str(n))
    console.print(table)
    console.print(f"license policy: {summary.policy}")
    _render_left_out(summary, "annotation", in_table=("box_only", "missing_files"))
    console.print(f"Next: copy {out}/images/* into a COCO Annotator dataset folder, import "
                  f"{out}/annotations/part-*.json there, review, export, then `corpus import coco-annotator FILE`.")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
