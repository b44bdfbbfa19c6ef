"""`corpus harvest`: find, download and store openly licensed images for a domain's classes."""

from __future__ import annotations

import signal
import threading
from typing import Optional

import typer

from corpus.commands.common import RichBars, console, err_console, fail, fail_error, state, styled


def _terms_help() -> str:
    try:
        from corpus.sources import DEFAULT_ON, KEY_REQUIRED, SOURCES, TERMS
    except ImportError:  # pragma: no cover - the sources package is part of the install
        return ""
    lines = []
    for name in SOURCES:
        how = "on by default" if name in DEFAULT_ON else "opt-in" + (", needs an API key" if name in KEY_REQUIRED else "")
        terms = TERMS.get(name) or ""
        lines.append(f"* {name} ({how}): {terms}")
    return "\n\n".join(lines)


HELP = f"""Find, download and store openly licensed images for every class of a domain.

For each class (dominant and attribute classes by default) and each language, the class's lemmas are searched at every source that can search in that language. Hits whose license the policy refuses are recorded and never downloaded. Downloads are checked (content type, magic numbers, Pillow with a decompression-bomb guard, minimum size), EXIF-rotated, de-duplicated (sha1 exactly, pHash nearly, across sources) and stored once under data_dir/images/ab/cd/<sha1>.<ext> with license, author, attribution and which queries found them.

Re-running continues where the last run stopped (per query page); Ctrl-C stops cleanly (press it twice to stop at once; the store stays consistent either way).

Sources and what their terms allow:

{_terms_help()}

Opt-in sources are used when named in --sources (with their key set, e.g. CORPUS_PEXELS_API_KEY) or enabled in corpus.toml.

Examples: corpus harvest --domain sport --per-class 50; corpus harvest -d sport --classes tennis_player.n.01 --languages en,bg --sources commons --dry-run
"""


def _split(values: Optional[list[str]]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return tuple(out)


def register(app: typer.Typer) -> None:
    @app.command("harvest", help=HELP)
    def harvest_cmd(
        domain: str = typer.Option(..., "--domain", "-d", help="Domain to harvest, e.g. sport (see `corpus ontology list`)."),
        classes: Optional[list[str]] = typer.Option(
            None, "--classes", "-c", help="Only these classes: synsets or names, comma-separated or repeated "
            "(default: every dominant and attribute class)."),
        languages: Optional[list[str]] = typer.Option(
            None, "--languages", "-l", help="ISO 639-1 codes, comma-separated (default: every language of the ontology)."),
        sources: Optional[list[str]] = typer.Option(
            None, "--sources", "-s", help="Sources to search, comma-separated (default: those enabled in the "
            "settings, i.e. commons and openverse unless configured otherwise)."),
        per_class: int = typer.Option(100, "--per-class", "-n", help="Images to keep per class (at least 1), shared evenly "
                                      "by the languages that have a name for it and, within a language, by its "
                                      "sources; a language that runs dry leaves its share to the others (a rerun "
                                      "with a larger number adds more)."),
        per_language: Optional[int] = typer.Option(
            None, "--per-language", help="Instead of --per-class: this many images (at least 1) per class and language "
            "(shared by the language's sources; no redistribution when a language runs dry)."),
        license_policy: str = typer.Option(
            "default", "--license-policy", help="Which licenses to keep: default (commercial use and derivatives "
            "allowed), research (admits NC), no-share-alike, public-domain, any-open, or tokens such as "
            "'default,-Pixabay'."),
        min_size: int = typer.Option(256, "--min-size", help="Minimum shorter side in pixels (at least 1)."),
        near_dup_bits: int = typer.Option(8, "--near-dup-bits",
                                          help="pHash Hamming distance (of 64 bits, 0 to 32) that counts as a near-duplicate."),
        per_page: int = typer.Option(50, "--per-page", help="Results asked per search request (1 to 500)."),
        download_deadline: float = typer.Option(
            180.0, "--download-deadline", help="Seconds (at least 1) one download may take in all, however slowly the "
            "server sends (the failure is recorded as 'deadline' and retried by a later run)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the planned queries; search and download nothing."),
    ) -> None:
        from corpus.errors import CorpusError
        from corpus.licenses import LicensePolicy

        stop = threading.Event()
        previous = None

        def on_sigint(signum, frame):  # first Ctrl-C: stop cleanly; second: at once
            stop.set()
            err_console.print(styled("stopping: finishing the downloads in flight (Ctrl-C again to stop at once)"))
            signal.signal(signal.SIGINT, previous or signal.default_int_handler)

        try:
            if not dry_run:
                previous = signal.signal(signal.SIGINT, on_sigint)
            with RichBars(enabled=not dry_run, elapsed=True) as bars:
                report = state.corpus().harvest(
                    domain=domain, classes=_split(classes), languages=_split(languages), sources=_split(sources),
                    per_class=per_class, per_language=per_language, per_page=per_page, license_policy=license_policy, min_size=min_size,
                    near_dup_bits=near_dup_bits, download_deadline_s=download_deadline, dry_run=dry_run,
                    progress=bars, stop=stop)
        except CorpusError as exc:
            raise fail_error(exc, {"classes": "--classes/-c", "sources": "--sources/-s",
                                   "download_deadline_s": "--download-deadline"})
        except (LookupError, ValueError) as exc:  # from deeper layers: shown as the message alone
            raise fail(str(exc).strip("'\""))
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

        if dry_run:
            render_plan(report)
            return
        render_summary(report, LicensePolicy.parse(license_policy).describe())
        if report.error:
            err_console.print(styled("harvest stopped:", "bold red", f" {report.error}"))
            err_console.print("nothing was counted against the images: run the same command again once this is fixed")
            raise typer.Exit(1)
        if report.status == "interrupted":
            err_console.print(styled("interrupted: run the same command again to continue"))
            raise typer.Exit(130)
        if report.source_errors and len(report.source_errors) == len(report.sources) and report.found == 0:
            raise typer.Exit(1)


def render_plan(report) -> None:
    from collections import Counter

    from rich.table import Table

    planned = report.planned
    if len(planned) <= 60:
        t = Table(title=f"{len(planned)} planned queries")
        for col in ("class", "lang", "source", "query"):
            t.add_column(col)
        for p in planned:
            t.add_row(p.synset, p.lang, p.source + (f" ({p.source_lang})" if p.source_lang else ""), p.text)
    else:
        per = Counter((p.synset, p.source) for p in planned)
        srcs = sorted({p.source for p in planned})
        t = Table(title=f"{len(planned)} planned queries (per class and source)")
        t.add_column("class")
        for s in srcs:
            t.add_column(s, justify="right")
        for synset in dict.fromkeys(p.synset for p in planned):
            t.add_row(synset, *(str(per[(synset, s)]) for s in srcs))
    console.print(t)
    missing = [s for s in report.classes if s not in {p.synset for p in planned}]
    if missing:
        console.print(styled(f"no query for {len(missing)} class(es) (no lemmas in the chosen languages): "
                             f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"))
    render_unnamed(report)


def render_shares(report) -> None:
    """Images kept this run per language and per source, then the class x language pairs with no name."""
    from rich.table import Table

    for title, counts in (("kept this run, per language", report.by_language),
                          ("kept this run, per source", report.by_source)):
        if counts:
            t = Table(title=title)
            t.add_column(title.rsplit(" ", 1)[-1])
            t.add_column("images", justify="right")
            for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                t.add_row(key, str(n))
            console.print(t)
    render_unnamed(report)


def render_unnamed(report, show: int = 12) -> None:
    """Every language x class pair that has no name, so that none is skipped in silence."""
    if not report.unnamed:
        return
    pairs = sum(len(v) for v in report.unnamed.values())
    console.print(styled(f"no name, not searched: {pairs} class x language pair(s)",
                         rest=" (add names: docs/ontology.md)"))
    names = {c.synset: c.name for c in report.classes.values()}
    for lang, synsets in report.unnamed.items():
        shown = ", ".join(names.get(x, x) for x in synsets[:show])
        more = f" and {len(synsets) - show} more" if len(synsets) > show else ""
        console.print(f"  {lang} ({len(synsets)}): {shown}{more}", soft_wrap=True)


def render_summary(report, policy: str) -> None:
    from rich.table import Table

    t = Table(title=f"harvest {report.status} (license policy: {policy})")
    for col, just in (("class", "left"), ("found", "right"), ("kept", "right"), ("linked", "right"),
                      ("rejected", "right"), ("failed", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in report.classes.values():
        if not (c.found or c.kept or c.linked):
            continue
        failed = sum(n for k, n in c.outcomes.items() if k.startswith("failed:"))
        rejected = sum(n for k, n in c.outcomes.items() if not k.startswith("failed:") and k != "known")
        t.add_row(c.name, str(c.found), str(c.kept), str(c.linked), str(rejected), str(failed))
    t.add_section()
    t.add_row("total", str(report.found), str(report.kept), str(sum(c.linked for c in report.classes.values())),
              str(sum(report.rejected.values())), str(sum(report.failed.values())), style="bold")
    console.print(t)
    if report.rejected or report.failed or report.dropped:
        r = Table(title="not kept, by reason")
        r.add_column("reason")
        r.add_column("images", justify="right")
        for reason, n in report.rejected.most_common():
            r.add_row(reason, str(n))
        for reason, n in report.failed.most_common():
            r.add_row(f"failed: {reason} (retried next run)", str(n))
        for reason, n in report.dropped.most_common():
            r.add_row(f"dropped by {reason}", str(n))
        console.print(r)
    render_shares(report)
    if report.stale_runs:
        console.print(f"marked {len(report.stale_runs)} earlier run(s) that were killed as interrupted: "
                      f"{', '.join(map(str, report.stale_runs))}")
    if report.cleaned.orphans or report.cleaned.temp_files:
        console.print(f"cleaned up from an earlier run: {report.cleaned.orphans} orphan file(s), "
                      f"{report.cleaned.temp_files} temporary file(s)")
    # soft_wrap: a long URL in a message stays on its line instead of being broken where the terminal ends.
    for source, message in report.query_errors.items():
        err_console.print(styled(f"{source}:", rest=f" {message}"), soft_wrap=True)
    for source, message in report.source_errors.items():
        message = message.removeprefix(f"{source}: ")  # the source's own errors start with its name
        err_console.print(styled(f"{source} stopped:", "bold red", f" {message}"), soft_wrap=True)
