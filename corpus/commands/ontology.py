"""`corpus ontology ...`: build, inspect, export and load the multilingual WordNet ontology."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from corpus.commands.common import console, err_console, fail, handled, state, styled

ontology_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
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
LexiconsOpt = typer.Option(
    None, "--lexicons", envvar="CORPUS_LEXICONS", show_envvar=True,
    help="Folder with cili/ (Interlingual Index maps) and galnet/ (the Galician wordnet), read at build time.",
)
FreeDictOpt = typer.Option(
    None, "--freedict", envvar="CORPUS_FREEDICT", show_envvar=True,
    help="Folder with FreeDict dictd files (freedict-eng-bul.index + .dict.dz, e.g. /usr/share/dictd); "
         "used for English lemmas with a single noun sense only.",
)


_FLAGS = {"domains": "--domain", "domain": "--domain", "languages": "--lang", "lang": "--lang", "format": "--format",
          "roots": "--root", "name": "NAME", "contact": "--contact (or CORPUS_CONTACT)", "lexicons": "--lexicons",
          "source": "--from"}


def _onto(ontology_dir: Optional[Path]):
    """The ontology at --ontology-dir (default: the package's own), attached to the store of the global options."""
    from corpus.api import Ontology

    return Ontology(ontology_dir=ontology_dir, corpus=state.corpus())


@contextmanager
def _building() -> Iterator:
    """A spinner while WordNet loads and domains build; yields the progress callback."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with handled(_FLAGS), Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                   console=err_console, transient=True) as bar:
        task = bar.add_task("loading WordNet", total=None)
        yield lambda event: bar.update(task, description=event.message or event.stage)


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
            console.print(styled(f"{r.domain.name}: not a visual class, skipped:", rest=" " + ", ".join(r.report.unresolved)))
        if r.lost_inputs:
            console.print(styled(f"{r.domain.name}: built without name sources the previous data used, "
                                 "their lemmas are gone:", rest=f" {'; '.join(r.lost_inputs)}"))
        n = r.report.names
        if n.dropped or n.qualified:
            console.print(f"{r.domain.name}: {len(n.dropped)} lemma(s) dropped as names of something else, "
                          f"{len(n.qualified)} name(s) qualified to be unique (see `corpus ontology lint`)")


@ontology_app.command("build")
def build_cmd(
    domain: Optional[List[str]] = DomainOpt,
    check: bool = typer.Option(False, "--check", help="Exit with status 1 if the committed data is not what a build gives."),
    ontology_dir: Optional[Path] = OntologyDir,
    lexicons: Optional[Path] = LexiconsOpt,
    freedict: Optional[Path] = FreeDictOpt,
) -> None:
    """Build the domains from WordNet 3.0 + OMW (+ Galnet, FreeDict, Wikidata labels) and write
    ontology/data/<domain>.json, every lemma with its source, method and licence.

    Deterministic: the same inputs give byte-identical files. Needs NLTK_DATA with wordnet,
    omw-1.4/omw-2.0 and extended_omw (python -m nltk.downloader wordnet omw-1.4 extended_omw);
    --lexicons (Galnet via CILI) and --freedict are optional and recorded under "inputs".

    Example: corpus ontology build --domain sport --lexicons ../shared/lexicons --freedict /usr/share/dictd
    """
    onto = _onto(ontology_dir)
    if check:
        with _building() as progress:
            stale = onto.check(domains=domain, lexicons=lexicons, freedict=freedict, progress=progress)
        if stale:
            raise fail(f"committed ontology data is out of date ({', '.join(stale)}): run `corpus ontology build`")
        console.print("ontology data is up to date")
        return
    with _building() as progress:
        results = onto.build(domains=domain, lexicons=lexicons, freedict=freedict, progress=progress)
    _summary(results)


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
    from ontology.languages import UnknownLanguage, check_languages
    from ontology.render import domain_tree

    try:
        (lang,) = check_languages([lang])
    except UnknownLanguage as exc:
        raise fail(str(exc))
    with handled(_FLAGS):
        dom = _onto(ontology_dir).get(domain=domain)
    console.print(domain_tree(dom, lang, attributes))


@ontology_app.command("coverage")
def coverage_cmd(
    domain: Optional[List[str]] = DomainOpt,
    markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table (as in docs/ontology.md)."),
    by_source: bool = typer.Option(False, "--by-source", help="Shares by the best source of each class's name "
                                   "(wordnet, human, wikidata, wiktionary, cldr, dictionary) and the activity fallback."),
    dominant: bool = typer.Option(False, "--dominant", help="Count dominant classes only."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Print a language x domain table: the share of classes with at least one name.

    Languages without a wordnet of their own (de, fi, ru, sr) rely on Wiktionary/CLDR lists.
    Example: corpus ontology coverage --markdown --by-source --dominant
    """
    from ontology.render import coverage_markdown, coverage_table, source_markdown, source_table

    onto = _onto(ontology_dir)
    with handled(_FLAGS):
        doms = onto.get_all(domains=domain)
    if by_source:
        if markdown:
            typer.echo(source_markdown(doms, dominant))
        else:
            console.print(source_table(doms, dominant))
        return
    if markdown:
        typer.echo(coverage_markdown(doms, dominant))  # plain text: rich would wrap the table rows
    else:
        console.print(coverage_table(doms, dominant))


@ontology_app.command("enrich")
def enrich_cmd(
    source: str = typer.Option("wikidata", "--from", help="Where to fetch names from (wikidata)."),
    domain: Optional[List[str]] = DomainOpt,
    contact: Optional[str] = typer.Option(
        None, "--contact", envvar="CORPUS_CONTACT", show_envvar=True,
        help="Your e-mail address or URL, sent in the User-Agent as Wikimedia's policy asks."),
    api_url: str = typer.Option("https://www.wikidata.org/w/api.php", "--api-url", help="Wikidata Action API."),
    sparql_url: str = typer.Option("https://query.wikidata.org/sparql", "--sparql-url", help="Wikidata Query Service."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Folder for cached answers (default: ~/.cache/mic-corpus/wikidata)."),
    build: bool = typer.Option(True, "--build/--no-build", help="Rebuild the domains with the new names (needs WordNet)."),
    ontology_dir: Optional[Path] = OntologyDir,
    lexicons: Optional[Path] = LexiconsOpt,
    freedict: Optional[Path] = FreeDictOpt,
) -> None:
    """Fetch labels and aliases (CC0) for every class from Wikidata and write them into the data.

    Synsets are mapped to items through the Interlingual Index (Wikidata P5063) and WordNet 3.1
    ids (P8814, via CILI in --lexicons); labels come in batches of 50 ids with maxlag=5, one
    request at a time, backing off on 429 and lag. The names go to enrichment/wikidata.json
    (read by every later build) and, with --build, into data/*.json as `wikidata:Q…` lemmas.
    Run it on a machine with internet. Example:
    corpus ontology enrich --from wikidata --contact you@example.org --lexicons ../shared/lexicons
    """
    with _building() as progress:
        res = _onto(ontology_dir).enrich(source=source, domains=domain, contact=contact, api_url=api_url,
                                         sparql_url=sparql_url, cache_dir=cache, build=build, lexicons=lexicons,
                                         freedict=freedict, progress=progress)
    console.print(f"{res.found} of {res.classes} classes found on Wikidata, {res.labels} labels; wrote {res.path}")
    if res.results is not None:
        _summary(res.results)


@ontology_app.command("lint")
def lint_cmd(
    domain: Optional[List[str]] = DomainOpt,
    lang: Optional[List[str]] = typer.Option(None, "--lang", "-l", help="Languages to check (default: all 25)."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """List suspicious names per language: a name shared with another class, a name that had to
    be qualified to be unique, a name from a dictionary or Wiktionary only, a name in the wrong
    script, an English name left untranslated, a class with only activity lemmas.

    Exit status 0 (it reports; a reviewer decides, with an override file). Example:
    corpus ontology lint --domain sport --lang it
    """
    with handled(_FLAGS):
        findings = _onto(ontology_dir).lint(domains=domain, languages=lang)
    if not findings:
        console.print("no suspicious names")
        return
    from rich.table import Table

    t = Table(title=f"suspicious names ({len(findings)})")
    for col in ("lang", "domain", "class", "name", "problem"):
        t.add_column(col)
    for f in findings:
        t.add_row(f.lang, f.domain, f.synset, f.name, f.problem)
    console.print(t)


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
    with handled(_FLAGS):
        text = _onto(ontology_dir).export(format=fmt, domains=domain, languages=lang, out=out)
    if out is None:
        typer.echo(text, nl=False)
        return
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
    with _building() as progress:
        new = _onto(ontology_dir).add_domain(name=name, roots=root, description=description, force=force,
                                             progress=progress)
    console.print(f"wrote {new.spec_path}")
    _summary(new.results)


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

    onto = _onto(ontology_dir)
    with handled(_FLAGS):
        doms = onto.get_all(domains=domain)
        results = onto.load(domains=[d.name for d in doms])
    t = Table(title="ontology load")
    for col in ("domain", "version", "added", "updated", "removed", "labels", "relations", "kept (in use)"):
        t.add_column(col)
    for dom, r in zip(doms, results):
        t.add_row(dom.name, dom.version, str(r.classes_added), str(r.classes_updated), str(r.classes_removed),
                  f"+{r.labels_written} -{r.labels_removed}", f"+{r.relations_added} -{r.relations_removed}",
                  str(len(r.classes_kept_stale)))
    console.print(t)


translations_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
    help="Files for translators (CSV or PO): export the names of one language, import the filled-in "
         "file as an override file that records who translated and when.",
    no_args_is_help=True,
)
ontology_app.add_typer(translations_app, name="translations")


@translations_app.command("export")
def translations_export_cmd(
    file: Path = typer.Argument(..., help="Output file: .csv or .po."),
    lang: str = typer.Option(..., "--lang", "-l", help="Language to translate into (ISO 639-1, e.g. bg)."),
    missing: bool = typer.Option(False, "--missing", help="Only classes without a name from a wordnet, a person or Wikidata."),
    domain: Optional[List[str]] = DomainOpt,
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Write one row per class: English lemmas, definition, current names with their source,
    dictionary/activity suggestions, a thumbnail path where the store has harvested images, and
    the column (CSV `translation`, PO `msgstr`) the translator fills in, names separated by ';'.

    Example: corpus ontology translations export --lang bg --missing bg.po
    """
    with handled(_FLAGS):
        n = _onto(ontology_dir).translations_export(
            file=file, lang=lang, missing=missing, domains=domain,
            progress=lambda event: err_console.print(event.message, markup=False) if event.message else None)
    console.print(f"wrote {n} rows to {file}")


@translations_app.command("import")
def translations_import_cmd(
    file: Path = typer.Argument(..., help="A filled-in .csv or .po file from `translations export`."),
    translator: str = typer.Option(..., "--translator", help="Who translated, e.g. \"Jane Doe <jane@example.org>\"."),
    ontology_dir: Optional[Path] = OntologyDir,
) -> None:
    """Write overrides/translations-<lang>-<translator>.toml with the names that changed (and who
    and when); rebuild with `corpus ontology build` to put them into the data.

    Example: corpus ontology translations import bg.po --translator "Jane Doe <jane@example.org>"
    """
    with handled(_FLAGS):
        res = _onto(ontology_dir).translations_import(file=file, translator=translator)
    for why in res.skipped:
        err_console.print(f"skipped {why}")
    if res.path is None:
        console.print(f"nothing to import ({res.unchanged} rows unchanged)")
        return
    console.print(f"wrote {res.entries} {res.lang} entries to {res.path} ({res.unchanged} unchanged); "
                  "run `corpus ontology build` to use them")


def register(app: typer.Typer) -> None:
    app.add_typer(ontology_app, name="ontology")
