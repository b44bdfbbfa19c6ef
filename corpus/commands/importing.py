"""`corpus import coco-annotator FILE...`: reviewers' decisions back into the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from corpus.commands.common import console, err_console, fail, fail_error, state, styled

import_app = typer.Typer(help="Read review results back into the store (see docs/review.md).", no_args_is_help=True,
                         rich_markup_mode=None)


@import_app.command("coco-annotator")
def coco_annotator_cmd(
    files: List[Path] = typer.Argument(..., help="COCO Annotator export files (coco-<time>.json)."),
    domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain (default: the only one in the store)."),
    who: Optional[str] = typer.Option(None, "--who", help="Reviewer to record (default: $CORPUS_REVIEWER or your login)."),
    as_of: Optional[dt.datetime] = typer.Option(
        None, "--as-of", help="When the files were exported from COCO Annotator (UTC), if their names do not say "
        "(coco-<unix time>.json); default: the files' modification time."),
    done: Optional[str] = typer.Option(
        None, "--done", help="Images whose review you finished: 'all' (every image of the files) or image ids "
        "(7,8,9). They are marked done, and the proposals left untouched on them (and on images already marked "
        "done with `corpus review done`) are accepted. Without it, untouched proposals stay as they are."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change, change nothing."),
    show: int = typer.Option(20, "--show", help="List at most this many conflicts and warnings."),
) -> None:
    """Import COCO Annotator exports: edits (shape or class), deletions (rejected) and the reviewer's
    new annotations are recorded, with a review event each. A proposal left untouched is accepted
    only on an image declared done (--done, or `corpus review done`): a file holds every image of
    an export part, opened or not. Idempotent: a second import changes nothing. A file
    never overrides a review made after it was exported: those are reported as conflicts. A bad
    file (not UTF-8, cut off, missing keys, unknown images or categories) changes nothing.

    Example: corpus import coco-annotator --done all ~/Downloads/coco-1732350000.123.json
    """
    from corpus.coco.import_ import OUTCOMES
    from corpus.errors import ConflictError, CorpusError
    from corpus.review import ReviewError

    done_arg: str | list[int] | None = None
    if done is not None:
        tokens = [t.strip() for t in done.replace(" ", ",").split(",") if t.strip()]
        if tokens == ["all"]:
            done_arg = "all"
        elif tokens and all(t.isdigit() and len(t) <= 18 for t in tokens):
            done_arg = [int(t) for t in tokens]
        else:
            raise fail(f"--done takes all or image ids separated by commas (7,8,9), not {done!r}")
    try:
        report = state.corpus().import_coco_annotator(files=files, domain=domain, who=who, as_of=as_of,
                                                      dry_run=dry_run, done=done_arg)
    except ConflictError as exc:
        raise fail(f"{exc}; nothing was imported")
    except ReviewError as exc:  # a decision the file asks for that cannot be made
        raise fail(f"{exc}; nothing was imported")
    except CorpusError as exc:
        raise fail_error(exc)
    for path, when, how in report.files:
        console.print(f"{path.name}: exported {when.isoformat(timespec='seconds')} (from the {how})")
    table = Table(title="Import" + (" (dry run: nothing changed)" if report.dry_run else ""))
    table.add_column("outcome")
    table.add_column("annotations", justify="right")
    for kind in OUTCOMES:
        if report.counts.get(kind):
            table.add_row(kind, str(report.counts[kind]))
    console.print(table)
    console.print(f"{report.images} image(s) matched")
    if report.done_images:
        console.print(f"{report.done_images} image(s) done: {report.untouched_accepted} untouched annotation(s) "
                      f"accepted" + (f" ({report.marked_done} image(s) marked done now)" if report.marked_done else ""))
    if report.untouched_left:
        console.print(f"{report.untouched_left} untouched annotation(s) on {report.images_not_done} image(s) not "
                      "declared done were left as they are (declare finished images with --done IDS|all, "
                      "or `corpus review done`)")
    for line in report.warnings[:show]:
        err_console.print(styled("warning:", rest=f" {line}"))
    if report.conflicts:
        err_console.print(styled(f"{len(report.conflicts)} conflict(s)", "bold yellow", " (the store kept the newer review):"))
        for line in report.conflicts[:show]:
            err_console.print(f"  {line}")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
