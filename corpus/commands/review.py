"""`corpus review list|accept|reject|relabel|edit|add|open|done`: review decisions from the command line."""

from __future__ import annotations

import json
from typing import List, Optional

import typer
from rich.table import Table

from corpus.commands.common import console, fail, handled, state

review_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
    help="Decide on annotations from the command line (the same decisions COCO Annotator imports record). "
    "Every decision bumps the annotation's version and adds a review event (who, what, before, after).",
    no_args_is_help=True,
)

_WHO = typer.Option(None, "--who", help="Reviewer name to record (default: $CORPUS_REVIEWER or your login).")
_EXPECT = typer.Option(None, "--expect-version",
                       help="Refuse if the annotation is no longer at this version (someone else reviewed it).")
_NOTE = typer.Option("", "--note", help="Free text kept with the review event.")


_FLAGS = {"class_ref": "--class", "expected_version": "--expect-version", "image_ids": "IDS",
          "all_images": "--all", "statuses": "--status", "image_id": "--image"}


def _decided(suffix: str = "; nothing was changed"):
    """Render a refused decision: the whole command changed nothing (decisions are all or none)."""
    return handled(_FLAGS, suffix=suffix, words=_flags)


def _decide_many(method: str, ids: list[int], who: str | None, expect: int | None, note: str, verb: str) -> None:
    with _decided():
        events = getattr(state.corpus().review, method)(ids=ids, who=who, expected_version=expect, note=note)
    for ev in events:
        console.print(f"annotation {ev.annotation_id}: {verb} (version {ev.after['version']}) by {ev.who}")


_DOMAIN = typer.Option(None, "--domain", "-d", help="Domain (default: the only one).")
_CLASS = typer.Option(None, "--class", help="Only this class (synset, category id or English name).")
_MODEL = typer.Option(None, "--model", help="Only annotations from this model's proposals: NAME or NAME@VERSION.")
_MIN = typer.Option(None, "--min-score", min=0.0, max=1.0, help="Only annotations whose proposal scored at least this.")
_MAX = typer.Option(None, "--max-score", min=0.0, max=1.0, help="Only annotations whose proposal scored at most this.")
_IMAGE = typer.Option(None, "--image", help="Only this image id.")


@review_app.command("list")
def list_cmd(
    domain: Optional[str] = _DOMAIN,
    status: str = typer.Option("pending", "--status", help="Statuses, comma separated (pending, accepted, edited, rejected, all)."),
    image: Optional[int] = _IMAGE, cls: Optional[str] = _CLASS, model: Optional[str] = _MODEL,
    min_score: Optional[float] = _MIN, max_score: Optional[float] = _MAX,
    limit: int = typer.Option(50, "--limit", help="Show at most this many (lowest proposal score first); 0 for all."),
    fmt: str = typer.Option("table", "--format", help="table, json or csv (json and csv: for scripts)."),
) -> None:
    """List annotations to review, the most doubtful (lowest score) first.

    Example: corpus review list --domain sport --status pending --limit 20;
    corpus review list --min-score 0.9 --format csv > confident.csv
    """
    import csv
    import io

    from corpus.review import annotation_record, parse_review_statuses

    if fmt not in ("table", "json", "csv"):
        raise fail(f"--format {fmt!r}: use table, json or csv")
    with handled(_FLAGS, words=_flags):
        rows = state.corpus().review.list(domain=domain, statuses=status, image_id=image, class_ref=cls, model=model,
                                          min_score=min_score, max_score=max_score, limit=limit or None)
        statuses = parse_review_statuses(status)
    if fmt == "json":
        print(json.dumps([annotation_record(r) for r in rows], ensure_ascii=False, indent=1))
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        keys = list(annotation_record(rows[0])) if rows else ["id", "image_id", "file", "class", "synset", "status", "origin",
                                                     "score", "model", "bbox", "version", "reviewed_by"]
        w.writerow(keys)
        for r in rows:
            d = annotation_record(r)
            d["bbox"] = " ".join(f"{v:g}" for v in d["bbox"])
            w.writerow(["" if d[k] is None else d[k] for k in keys])
        print(buf.getvalue(), end="")
        return
    table = Table(title=f"Annotations ({', '.join(statuses)})")
    for col in ("id", "image", "class", "status", "origin", "model", "score", "box x,y,w,h", "version", "reviewed by"):
        table.add_column(col, justify="right" if col in ("id", "image", "score", "version") else "left")
    for r in rows:
        table.add_row(str(r.id), str(r.image_id), r.class_name, r.status, r.origin, r.model or "",
                      "" if r.score is None else f"{r.score:.2f}", ",".join(f"{v:.0f}" for v in r.box_xywh),
                      str(r.version), r.reviewed_by or "")
    console.print(table)
    if not rows:
        console.print("Nothing to show.")


def _flags(message: str) -> str:
    """Library words for filters, as the flags that set them here."""
    return message.replace("min_score", "min-score").replace("max_score", "max-score")


def _bulk(action: str, verb: str, ids, who, expect, note, domain, cls, model, min_score, max_score, image,
          dry_run: bool) -> None:
    filtered = any(v is not None for v in (domain, cls, model, min_score, max_score, image))
    if ids and (filtered or dry_run):
        raise fail("give either annotation ids or filters (--domain, --class, --model, --min-score, --max-score, "
                   "--image), not both")
    if ids:
        _decide_many(action, ids, who, expect, note, verb)
        return
    if not filtered:
        raise fail("give annotation ids or filters (--domain, --class, --model, --min-score, --max-score, --image) "
                   "to decide on every pending annotation they match")
    if expect is not None:
        raise fail("--expect-version applies to a single annotation")
    from corpus.review import default_reviewer

    who = who or default_reviewer()
    with _decided():
        found = getattr(state.corpus().review, f"{action}_matching")(
            domain=domain, class_ref=cls, model=model, min_score=min_score, max_score=max_score, image_id=image,
            dry_run=dry_run, who=who, note=note)
    if dry_run:
        console.print(f"{len(found)} annotation(s) would be {verb} (dry run: nothing changed)")
    else:
        console.print(f"{len(found)} annotation(s) {verb} by {who}, each with a review event")


@review_app.command("accept")
def accept_cmd(ids: Optional[List[int]] = typer.Argument(None, help="Annotation ids (or use the filters)."),
               who: Optional[str] = _WHO, expect_version: Optional[int] = _EXPECT, note: str = _NOTE,
               domain: Optional[str] = _DOMAIN, cls: Optional[str] = _CLASS, model: Optional[str] = _MODEL,
               min_score: Optional[float] = _MIN, max_score: Optional[float] = _MAX, image: Optional[int] = _IMAGE,
               dry_run: bool = typer.Option(False, "--dry-run", help="With filters: count, change nothing.")) -> None:
    """Accept annotations as they are: the given ids, or every pending annotation matching the
    filters (as MIC21 kept proposals scoring 0.9 or more). Each gets its own review event.

    Example: corpus review accept 12 13 14 --who maria;
    corpus review accept --domain sport --model yolo --min-score 0.9 --dry-run
    """
    _bulk("accept", "accepted", ids, who, expect_version, note, domain, cls, model, min_score, max_score, image,
          dry_run)


@review_app.command("reject")
def reject_cmd(ids: Optional[List[int]] = typer.Argument(None, help="Annotation ids (or use the filters)."),
               who: Optional[str] = _WHO, expect_version: Optional[int] = _EXPECT, note: str = _NOTE,
               domain: Optional[str] = _DOMAIN, cls: Optional[str] = _CLASS, model: Optional[str] = _MODEL,
               min_score: Optional[float] = _MIN, max_score: Optional[float] = _MAX, image: Optional[int] = _IMAGE,
               dry_run: bool = typer.Option(False, "--dry-run", help="With filters: count, change nothing.")) -> None:
    """Reject annotations (wrong object, or not an object of the domain): the given ids, or every
    pending annotation matching the filters. They stay in the store with their history, and are
    left out of training exports.

    Example: corpus review reject 15 --note "reflection, not a player";
    corpus review reject --domain sport --max-score 0.3 --dry-run
    """
    _bulk("reject", "rejected", ids, who, expect_version, note, domain, cls, model, min_score, max_score, image,
          dry_run)


@review_app.command("relabel")
def relabel_cmd(
    annotation_id: int = typer.Argument(..., help="Annotation id."),
    cls: str = typer.Argument(..., help="New class: synset (tennis_player.n.01), category id or English name."),
    who: Optional[str] = _WHO, expect_version: Optional[int] = _EXPECT, note: str = _NOTE,
) -> None:
    """Give an annotation another class of its domain (status becomes edited).

    Example: corpus review relabel 12 tennis_player.n.01
    """
    with _decided():
        ev = state.corpus().review.relabel(annotation_id=annotation_id, class_ref=cls, who=who,
                                           expected_version=expect_version, note=note)
    console.print(f"annotation {annotation_id}: relabelled to class {ev.after['class_id']} "
                  f"(version {ev.after['version']}) by {ev.who}")


def _json_arg(text: Optional[str], what: str):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{what} is not valid JSON: {exc}")


def _box_arg(text: Optional[str]):
    if text is None:
        return None
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        raise fail(f"--bbox {text!r}: expected x,y,w,h numbers")
    return box


@review_app.command("edit")
def edit_cmd(
    annotation_id: int = typer.Argument(..., help="Annotation id."),
    bbox: Optional[str] = typer.Option(None, "--bbox", help="New box x,y,w,h (pixels)."),
    segmentation: Optional[str] = typer.Option(None, "--segmentation", help="New mask as COCO JSON (polygons or RLE)."),
    cls: Optional[str] = typer.Option(None, "--class", help="New class as well."),
    who: Optional[str] = _WHO, expect_version: Optional[int] = _EXPECT, note: str = _NOTE,
) -> None:
    """Change an annotation's shape (and class): status becomes edited.

    Example: corpus review edit 12 --segmentation '[[10,10,60,10,60,80,10,80]]'
    """
    seg, box = _json_arg(segmentation, "--segmentation"), _box_arg(bbox)
    with _decided():
        ev = state.corpus().review.edit(annotation_id=annotation_id, segmentation=seg, bbox=box, class_ref=cls,
                                        who=who, expected_version=expect_version, note=note)
    console.print(f"annotation {annotation_id}: edited by {ev.who}")


@review_app.command("add")
def add_cmd(
    image_id: int = typer.Argument(..., help="Image id."),
    cls: str = typer.Argument(..., help="Class: synset, category id or English name."),
    bbox: Optional[str] = typer.Option(None, "--bbox", help="Box x,y,w,h (pixels)."),
    segmentation: Optional[str] = typer.Option(None, "--segmentation", help="Mask as COCO JSON (polygons or RLE)."),
    domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain of the class (default: the only one)."),
    who: Optional[str] = _WHO, note: str = _NOTE,
) -> None:
    """Add an instance the detectors missed (stored as accepted).

    Example: corpus review add 7 "tennis ball" --bbox 120,40,18,18
    """
    seg, box = _json_arg(segmentation, "--segmentation"), _box_arg(bbox)
    with _decided():
        new_id = state.corpus().review.add(image_id=image_id, class_ref=cls, domain=domain, segmentation=seg,
                                           bbox=box, who=who, note=note)
    from corpus.review import default_reviewer

    console.print(f"annotation {new_id} added to image {image_id} by {who or default_reviewer()}")


@review_app.command("done")
def done_cmd(
    ids: Optional[List[int]] = typer.Argument(None, help="Image ids."),
    all_: bool = typer.Option(False, "--all", help="Every image holding annotations of the domain."),
    domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain for --all (default: the only one)."),
    undo: bool = typer.Option(False, "--undo", help="Mark the images as not done any more."),
    who: Optional[str] = _WHO, note: str = _NOTE,
) -> None:
    """Declare images' review done: every instance on them was looked at.

    Only done images count as reviewed: `corpus import coco-annotator` accepts the proposals a
    reviewer left untouched on done images only. Annotations keep their status (pending ones stay
    pending: the command says how many). Each change is a done/undone event in the review log.

    Examples: corpus review done 7 8 9 --who maria; corpus review done --all --domain sport;
    corpus review done 7 --undo
    """
    if not ids and not all_:
        raise fail("give image ids or --all")
    if ids and all_:
        raise fail("give either image ids or --all, not both")
    with _decided():
        res = state.corpus().review.done(image_ids=ids or None, all_images=all_, domain=domain, undo=undo, who=who,
                                         note=note)
    same = len(res.images) - res.changed
    console.print(f"{res.changed} image(s) {'no longer done' if undo else 'marked done'} by {res.who}"
                  + (f"; {same} already {'not done' if undo else 'done'}" if same else ""))
    if res.pending:
        total = sum(res.pending.values())
        console.print(f"{total} pending annotation(s) on {len(res.pending)} of them stay pending "
                      "(accept them with `corpus review accept`)")


@review_app.command("open")
def open_cmd(
    domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain (default: the only one)."),
    model: Optional[str] = typer.Option(None, "--model", help="Only proposals of this model name."),
    min_score: float = typer.Option(0.0, "--min-score", help="Only proposals scoring at least this."),
) -> None:
    """Turn proposals on images that have no annotation yet into pending annotations to review
    (`corpus annotate` does this for the first model that runs on an image).

    Example: corpus review open --domain sport --min-score 0.3
    """
    with _decided():
        n = state.corpus().review.open(domain=domain, model=model, min_score=min_score)
    console.print(f"{n} pending annotation(s) created from proposals")


@review_app.command("serve")
def serve_cmd(
    domain: Optional[str] = typer.Option(None, "--domain", "-d", help="Domain to review (default: the only one)."),
    lang: str = typer.Option("en", "--lang", help="Default language of class names and of the pages "
                             "(each reviewer can choose another); any of the 25 ontology languages."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but loopback needs --token."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    token: Optional[str] = typer.Option(None, "--token", envvar="CORPUS_REVIEW_TOKEN", show_envvar=True,
                                        help="Secret reviewers must give to start (required beyond localhost)."),
    public_url: Optional[str] = typer.Option(None, "--public-url", envvar="CORPUS_REVIEW_PUBLIC_URL",
                                             help="The address reviewers open when an HTTPS reverse proxy forwards "
                                             "to the app, e.g. https://review.example.org (its writes are accepted "
                                             "as the app's own)."),
) -> None:
    """Start the review web app: a queue of images (most doubtful first), each image with its
    instances drawn over it, decisions by mouse or keyboard, all recorded in the review log.

    Example: corpus review serve --domain sport --lang bg   (then open http://127.0.0.1:8765/);
    behind a proxy: corpus review serve --public-url https://review.example.org
    """
    with handled({"token": "--token (or CORPUS_REVIEW_TOKEN)", "domain": "--domain", "public_url": "--public-url"}):
        app = state.corpus().review.web_app(domain=domain, lang=lang, host=host, token=token, public_url=public_url)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Review app for domain {app.state.cfg.domain_name!r} on http://{shown}:{port}/ (Ctrl+C stops it)")
    from corpus.web.server import serve

    serve(app, host, port)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
