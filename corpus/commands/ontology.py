"""`corpus ontology ...`: build, inspect, export and load the multilingual WordNet ontology."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from corpus.commands.common import console, err_console, fail, state

ontology_app = typer.Typer(
    help=(
        "The multilingual WordNet ontology: which classes a domain has (dominant, parent, attribute) "
        "and their names in 25 languages. The built data is committed (ontology/data/*.json), so only "
        "`build` and `add-domain` need WordNet (NLTK_DATA). Example: corpus ontology show --domain sport --lang bg"
    ),
    no_args_is_help=True,
)

OntologyDir = typer.Option(
    None, "--ontology-dir", envvar="CORPUS_ONTOLOGY_DIR", show_envvar=True,
    help="Folder with domains/ (specs), data/ (built JSON) and overrides/ (default: the ontology package).",
)
DomainOpt = typer.Option(None, "--domain", "-d", help="Domain name; repeat for several (default: all built domains).")


def _dirs(ontology_dir: Optional[Path]) -> tuple[Path, Path, Path]:
    from ontology.pipeline import PKG_DIR

    base = Path(ontology_dir) if ontology_dir else PKG_DIR
    return base / "domains", base / "data", base / "overrides"


def _domains(names: Optional[List[str]], data_dir: Path):
    from ontology import OntologyDataError, list_domains, load_domain

    try:
        return [load_domain(n, data_dir) for n in (names or list_domains(data_dir))]
    except OntologyDataError as exc:
        raise fail(str(exc))


def _run_build(domains_dir: Path, data_dir: Path, overrides_dir: Path, only: Optional[List[str]]):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ontology.spec import SpecError
    from ontology.wordnet import WordNetMissing

    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("loading WordNet", total=None)
            from ontology.pipeline import build_all

            return build_all(domains_dir, data_dir, overrides_dir, only,
                             progress=lambda name: bar.update(task, description=f"building {name}"))
    except WordNetMissing as exc:
        raise fail(str(exc))
    except (SpecError, ValueError) as exc:
        raise fail(str(exc))


def _summary(results) -> None:
    from rich.table import Table

    t = Table(title="ontology build")
    for col in ("domain", "dominant", "parent", "attribute", "version", "file"):
        t.add_column(col, justify="right" if col in ("dominant", "parent", "attribute") else "left")
    for r in results:
        c = r.report.counts
        t.add_row(r.domain.name, str(c.get("dominant", 0)), str(c.get("parent", 0)), str(c.get("attribute", 0)),
                  r.domain.version, "written" if r.changed else "unchanged")
    console.print(t)
    for r in results:
        if r.report.unresolved:
            console.print(f"[yellow]{r.domain.name}: not a visual class, skipped:[/] " + ", ".join(r.report.unresolved))


@ontology_app.command("build")
def build_cmd(
    domain: Optional[List[str]] = DomainOpt,
    check: bool = typer.Option(False, "--check", help="Exit with status 1 if the committed data is not what a build gives."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Build the domains from WordNet 3.0 + OMW and write ontology/data/<domain>.json.

    Deterministic: the same WordNet data and specs give byte-identical files. Needs NLTK_DATA
    with wordnet, omw-1.4/omw-2.0 and extended_omw (python -m nltk.downloader wordnet omw-1.4 extended_omw).

    Example: corpus ontology build --domain sport
    """
    domains_dir, data_dir, overrides_dir = _dirs(ontology_dir)
    if check:
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(data_dir, Path(tmp) / "data") if data_dir.is_dir() else None
            results = _run_build(domains_dir, Path(tmp) / "data", overrides_dir, domain)
            stale = [r.domain.name for r in results if r.changed]
            reg_changed = (Path(tmp) / "data" / "category_ids.json").read_bytes() != (
                (data_dir / "category_ids.json").read_bytes() if (data_dir / "category_ids.json").is_file() else b"")
        if stale or reg_changed:
            raise fail(f"committed ontology data is out of date ({', '.join(stale) or 'category_ids.json'}): run `corpus ontology build`")
        console.print("ontology data is up to date")
        return
    _summary(_run_build(domains_dir, data_dir, overrides_dir, domain))


@ontology_app.command("show")
def show_cmd(
    domain: str = typer.Option(..., "--domain", "-d", help="Domain to show, e.g. sport."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the labels (ISO 639-1, e.g. bg)."),
    attributes: bool = typer.Option(True, "--attributes/--no-attributes", help="List attribute classes under their dominant class."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Print a domain as a tree: parent classes, dominant classes (bold) and their attributes.

    Each node shows the English name, the synset and the lemmas in --lang (a dash when the
    language has none). Example: corpus ontology show --domain sport --lang bg
    """
    from ontology import LANGUAGES
    from ontology.render import domain_tree

    if lang not in LANGUAGES:
        raise fail(f"unknown language {lang!r}; use one of: {' '.join(LANGUAGES)}")
    _, data_dir, _ = _dirs(ontology_dir)
    dom = _domains([domain], data_dir)[0]
    console.print(domain_tree(dom, lang, attributes))


@ontology_app.command("coverage")
def coverage_cmd(
    domain: Optional[List[str]] = DomainOpt,
    markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table (as in docs/ontology.md)."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Print a language x domain table: the share of classes with at least one lemma.

    Languages without a wordnet of their own (de, fi, ru, sr) rely on Wiktionary/CLDR lists.
    Example: corpus ontology coverage --markdown
    """
    from ontology.render import coverage_markdown, coverage_table

    _, data_dir, _ = _dirs(ontology_dir)
    doms = _domains(domain, data_dir)
    if markdown:
        typer.echo(coverage_markdown(doms))  # plain text: rich would wrap the table rows
    else:
        console.print(coverage_table(doms))


@ontology_app.command("export")
def export_cmd(
    fmt: str = typer.Option("json", "--format", "-f", help="json, csv (a row per class and language) or skos (Turtle)."),
    domain: Optional[List[str]] = DomainOpt,
    lang: Optional[List[str]] = typer.Option(None, "--lang", "-l", help="Languages to export (default: all 25)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Export domains as JSON, CSV or SKOS/Turtle (a skos:prefLabel per language).

    Example: corpus ontology export --format skos --domain sport -o sport.ttl
    """
    from ontology.export import export

    _, data_dir, _ = _dirs(ontology_dir)
    try:
        text = export(_domains(domain, data_dir), fmt, lang)
    except ValueError as exc:
        raise fail(str(exc))
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    err_console.print(f"wrote {out}")


@ontology_app.command("add-domain")
def add_domain_cmd(
    name: str = typer.Argument(..., help="New domain name (lowercase, e.g. kitchen)."),
    root: List[str] = typer.Option(..., "--root", "-r", help="Root synset whose direct hyponyms become the dominant classes; repeatable."),
    description: str = typer.Option("", "--description", help="One line saying what the domain covers."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing spec of that name."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Add a domain from WordNet root synset(s): write domains/NAME.toml and build it.

    Edit the spec afterwards (include/exclude lists, [objects], [attributes]) and rerun
    `corpus ontology build --domain NAME`. Example: corpus ontology add-domain kitchen --root kitchen_utensil.n.01
    """
    from ontology.spec import NAME_RE, SpecError, parse_spec, render_spec
    from ontology.wordnet import WordNetMissing, synset

    domains_dir, data_dir, overrides_dir = _dirs(ontology_dir)
    if not NAME_RE.match(name):
        raise fail(f"domain name {name!r} must be a lowercase identifier (letters, digits, _ and -)")
    path = domains_dir / f"{name}.toml"
    if path.exists() and not force:
        raise fail(f"{path} exists; use --force to overwrite it or edit it and run `corpus ontology build --domain {name}`")
    try:
        roots = [synset(r).name() for r in root]
    except WordNetMissing as exc:
        raise fail(str(exc))
    except ValueError as exc:
        raise fail(str(exc))
    text = render_spec(name, roots, description)
    try:
        import tomllib

        parse_spec(tomllib.loads(text))
    except SpecError as exc:
        raise fail(str(exc))
    domains_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}")
    _summary(_run_build(domains_dir, data_dir, overrides_dir, [name]))


@ontology_app.command("load")
def load_cmd(
    domain: Optional[List[str]] = DomainOpt,
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Put built domains into the store (domains, classes, relations, labels).

    Idempotent: loading twice creates no duplicates; reloading after a rebuild updates rows in
    place. Example: corpus --db sqlite:///corpus.db ontology load --domain sport
    """
    from rich.table import Table

    from corpus.ontology_load import load_domain_into_store
    from corpus.store.db import session_scope

    _, data_dir, _ = _dirs(ontology_dir)
    doms = _domains(domain, data_dir)
    try:
        engine = state.engine()
    except Exception as exc:
        raise fail(f"cannot open the store: {exc}")
    t = Table(title="ontology load")
    for col in ("domain", "version", "added", "updated", "removed", "labels", "relations", "kept (in use)"):
        t.add_column(col)
    for dom in doms:
        with session_scope(engine) as s:
            r = load_domain_into_store(s, dom)
        t.add_row(dom.name, dom.version, str(r.classes_added), str(r.classes_updated), str(r.classes_removed),
                  f"+{r.labels_written} -{r.labels_removed}", f"+{r.relations_added} -{r.relations_removed}",
                  str(len(r.classes_kept_stale)))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(ontology_app, name="ontology")
