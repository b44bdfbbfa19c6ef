"""`corpus ontology ...`: build, inspect, export and load the multilingual WordNet ontology."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from corpus.commands.common import console, err_console, fail, state, styled

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


def _run_build(domains_dir: Path, data_dir: Path, overrides_dir: Path, only: Optional[List[str]],
               lexicons: Optional[Path] = None, freedict: Optional[Path] = None):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ontology.lexicons import LexiconError
    from ontology.spec import SpecError
    from ontology.wordnet import WordNetMissing

    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("loading WordNet", total=None)
            from ontology.pipeline import build_all

            return build_all(domains_dir, data_dir, overrides_dir, only,
                             progress=lambda name: bar.update(task, description=f"building {name}"),
                             lexicons=lexicons, freedict=freedict)
    except WordNetMissing as exc:
        raise fail(str(exc))
    except LexiconError as exc:
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
    domains_dir, data_dir, overrides_dir = _dirs(ontology_dir)
    if check:
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(data_dir, Path(tmp) / "data") if data_dir.is_dir() else None
            results = _run_build(domains_dir, Path(tmp) / "data", overrides_dir, domain, lexicons, freedict)
            stale = [r.domain.name for r in results if r.changed]
            reg_changed = (Path(tmp) / "data" / "category_ids.json").read_bytes() != (
                (data_dir / "category_ids.json").read_bytes() if (data_dir / "category_ids.json").is_file() else b"")
        if stale or reg_changed:
            raise fail(f"committed ontology data is out of date ({', '.join(stale) or 'category_ids.json'}): run `corpus ontology build`")
        console.print("ontology data is up to date")
        return
    _summary(_run_build(domains_dir, data_dir, overrides_dir, domain, lexicons, freedict))


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
    _, data_dir, _ = _dirs(ontology_dir)
    dom = _domains([domain], data_dir)[0]
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

    _, data_dir, _ = _dirs(ontology_dir)
    doms = _domains(domain, data_dir)
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
    from ontology import wikidata as WD
    from ontology.lexicons import LexiconError, ili_to_wn31, lexicons_dir

    if source != "wikidata":
        raise fail(f"unknown source {source!r}: only wikidata is supported")
    if not contact:
        raise fail("give --contact (or CORPUS_CONTACT): Wikimedia asks every client for an e-mail address or URL")
    domains_dir, data_dir, overrides_dir = _dirs(ontology_dir)
    doms = _domains(domain, data_dir)
    classes = [c for d in doms for c in d.classes]
    try:
        lex_dir = lexicons_dir(lexicons)
        wn31 = ili_to_wn31(str(lex_dir)) if lex_dir and (lex_dir / "cili").is_dir() else {}
    except LexiconError as exc:
        raise fail(str(exc))
    if not any(c.ili for c in classes):
        raise fail("the built data has no ILI ids: rebuild with --lexicons pointing at CILI first")
    cache_dir = cache or Path.home() / ".cache" / "mic-corpus" / "wikidata"
    try:
        with WD.Client(contact, api_url, sparql_url, cache_dir) as client:
            items = WD.fetch(classes, client, wn31, progress=lambda m: err_console.print(m))
    except WD.WikidataError as exc:
        raise fail(str(exc))
    path = overrides_dir.parent / "enrichment" / "wikidata.json"
    WD.write_enrichment(path, items)
    n_labels = sum(len(v["labels"]) for v in items.values())
    console.print(f"{len(items)} of {len(classes)} classes found on Wikidata, {n_labels} labels; wrote {path}")
    if build:
        _summary(_run_build(domains_dir, data_dir, overrides_dir, [d.name for d in doms], lexicons, freedict))


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
    from ontology import LANGUAGES
    from ontology.lint import lint

    bad = [l for l in (lang or []) if l not in LANGUAGES]
    if bad:
        raise fail(f"unknown language(s) {', '.join(bad)}; use some of: {' '.join(LANGUAGES)}")
    _, data_dir, _ = _dirs(ontology_dir)
    findings = lint(_domains(domain, data_dir), lang or None)
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
    _summary(_run_build(domains_dir, data_dir, overrides_dir, [name], None, None))


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


translations_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
    help="Files for translators (CSV or PO): export the names of one language, import the filled-in "
         "file as an override file that records who translated and when.",
    no_args_is_help=True,
)
ontology_app.add_typer(translations_app, name="translations")


def _thumbnails(domains) -> dict[str, str]:
    """synset -> the local path of one stored image harvested for it (none without a store)."""
    try:
        from sqlalchemy import select

        from corpus.store.db import session_scope
        from corpus.store.models import Domain, HarvestQuery, Image, ImageHit, OntologyClass

        engine = state.engine()
        out: dict[str, str] = {}
        with session_scope(engine) as s:
            q = (select(OntologyClass.synset, Image.local_path)
                 .join(HarvestQuery, HarvestQuery.class_id == OntologyClass.id)
                 .join(ImageHit, ImageHit.query_id == HarvestQuery.id)
                 .join(Image, Image.id == ImageHit.image_id)
                 .join(Domain, Domain.id == OntologyClass.domain_id)
                 .where(Image.status == "stored", Image.local_path.is_not(None),
                        Domain.name.in_([d.name for d in domains]))
                 .order_by(OntologyClass.synset, Image.id))
            for synset, path in s.execute(q):
                out.setdefault(synset, path)
        return out
    except Exception as exc:  # no store, or not migrated: the rows simply have no thumbnail
        err_console.print(f"no thumbnails (the store could not be read: {str(exc).splitlines()[0][:160]})",
                          markup=False)
        return {}


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
    from corpus.errors import CorpusError
    from ontology import translations as T

    _, data_dir, _ = _dirs(ontology_dir)
    doms = _domains(domain, data_dir)
    try:
        n = T.export(doms, lang, file, missing, _thumbnails(doms))
    except CorpusError as exc:
        raise fail(str(exc))
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
    from corpus.errors import CorpusError
    from ontology import translations as T

    _, data_dir, overrides_dir = _dirs(ontology_dir)
    known = {c.synset for d in _domains(None, data_dir) for c in d.classes}
    try:
        res = T.import_file(file, translator, overrides_dir, known)
    except CorpusError as exc:
        raise fail(str(exc))
    for why in res.skipped:
        err_console.print(f"skipped {why}")
    if res.path is None:
        console.print(f"nothing to import ({res.unchanged} rows unchanged)")
        return
    console.print(f"wrote {res.entries} {res.lang} entries to {res.path} ({res.unchanged} unchanged); "
                  "run `corpus ontology build` to use them")


def register(app: typer.Typer) -> None:
    app.add_typer(ontology_app, name="ontology")
