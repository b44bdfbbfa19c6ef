"""Build every domain and write the committed data: ``data/<domain>.json``,
``data/category_ids.json`` and ``data/ATTRIBUTION.md``. Deterministic: the same WordNet data and
specs give byte-identical files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import json
import os

from corpus.errors import InputError, NotFoundError, UsageError
from ontology.build import BuildReport, build_domain
from ontology.labels import Lexica, Overrides
from ontology.languages import LANGUAGE_NAMES, LANGUAGES, SOURCE_CHAINS
from ontology.model import DomainOntology, domain_from_doc, domain_to_doc, dumps
from ontology.registry import CategoryRegistry
from ontology.spec import NAME_RE, DomainSpec, load_specs, parse_spec, render_spec

PKG_DIR = Path(__file__).resolve().parent


@dataclass
class BuildResult:
    domain: DomainOntology
    report: BuildReport
    path: Path
    changed: bool
    # name sources the previous data used and this build did not have (Galnet, a FreeDict pair):
    # building without them silently drops their lemmas, so the CLI warns
    lost_inputs: list[str] = field(default_factory=list)


def build_all(
    domains_dir: Path = PKG_DIR / "domains",
    data_dir: Path = PKG_DIR / "data",
    overrides_dir: Path = PKG_DIR / "overrides",
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    lexicons: Path | None = None,
    freedict: Path | None = None,
    enrichment_dir: Path | None = None,
) -> list[BuildResult]:
    """Build the domains. ``lexicons`` (default $CORPUS_LEXICONS) holds CILI and Galnet,
    ``freedict`` (default $CORPUS_FREEDICT) the FreeDict dictd files; ``enrichment_dir`` (default
    ``<overrides_dir>/../enrichment``) the Wikidata labels ``corpus ontology enrich`` fetched."""
    specs = load_specs(domains_dir)
    if not specs:
        raise NotFoundError(f"no domain specs (*.toml) in {domains_dir}; add one with ontology add-domain")
    from ontology.wordnet import wordnet

    wordnet()  # fail early, with the download hint, when WordNet or the OMW is missing
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            raise NotFoundError(f"no spec for domain(s) {', '.join(unknown)} in {domains_dir}")
        specs = [s for s in specs if s.name in only]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = CategoryRegistry.load(data_dir / "category_ids.json")
    lex = make_lexica(overrides_dir, lexicons, freedict, enrichment_dir)
    results = []
    for spec in specs:
        if progress:
            progress(spec.name)
        results.append(_build_one(spec, registry, lex, data_dir))
    registry.save(data_dir / "category_ids.json")
    write_attribution(data_dir)
    import ontology

    ontology._load.cache_clear()
    return results


def check_built(data_dir: Path = PKG_DIR / "data", **build: Any) -> list[str]:
    """What ``build_all(data_dir=data_dir, **build)`` would change in ``data_dir``, without
    touching it: the names of the stale domains, plus ``category_ids.json`` when the id registry
    would change. Empty: up to date. ``build``: :func:`build_all`'s other keyword arguments, so a
    check always sees the inputs the build would.

    The build runs in a temporary copy of ``data_dir``, so the committed files stay as they are
    (this is what CI runs to catch specs edited without a rebuild)."""
    import shutil
    import tempfile

    data_dir = Path(data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        if data_dir.is_dir():
            shutil.copytree(data_dir, copy)
        results = build_all(data_dir=copy, **build)
        stale = [r.domain.name for r in results if r.changed]
        registry = "category_ids.json"
        before = (data_dir / registry).read_bytes() if (data_dir / registry).is_file() else b""
        if (copy / registry).read_bytes() != before:
            stale.append(registry)
    import ontology

    ontology._load.cache_clear()  # the temporary copy must not answer later loads
    return stale


@dataclass
class NewDomain:
    spec_path: Path
    results: list[BuildResult]


def add_domain(
    name: str,
    roots: list[str],
    *,
    description: str = "",
    force: bool = False,
    domains_dir: Path = PKG_DIR / "domains",
    data_dir: Path = PKG_DIR / "data",
    overrides_dir: Path = PKG_DIR / "overrides",
    progress: Callable[[str], None] | None = None,
) -> NewDomain:
    """Write ``domains_dir/<name>.toml`` for WordNet root synset(s) and build the domain.

    The direct hyponyms of the roots become the dominant classes; edit the spec afterwards
    (include/exclude lists, [objects], [attributes]) and build again."""
    import tomllib

    from ontology.wordnet import synset

    if not NAME_RE.match(name):
        raise UsageError(f"domain name {name!r} must be a lowercase identifier (letters, digits, _ and -)",
                         param="name")
    path = Path(domains_dir) / f"{name}.toml"
    if path.exists() and not force:
        raise UsageError(f"{path} exists: edit it and build the domain again, or overwrite it", param="force")
    if not roots:
        raise UsageError("give at least one root synset", param="roots")
    resolved = [synset(r).name() for r in roots]
    text = render_spec(name, resolved, description)
    parse_spec(tomllib.loads(text))  # a spec we write must be one we can read
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return NewDomain(path, build_all(domains_dir, data_dir, overrides_dir, [name], progress=progress))


def make_lexica(overrides_dir: Path, lexicons: Path | None = None, freedict: Path | None = None,
                enrichment_dir: Path | None = None) -> Lexica:
    from ontology.lexicons import LexiconError, lexicons_dir

    lex_dir = lexicons_dir(lexicons)
    fd = freedict if freedict is not None else os.environ.get("CORPUS_FREEDICT") or None
    if fd is not None and not Path(fd).is_dir():
        raise LexiconError(f"FreeDict folder {fd} does not exist")
    enrichment_dir = Path(enrichment_dir) if enrichment_dir else Path(overrides_dir).parent / "enrichment"
    return Lexica(Overrides.load_dir(overrides_dir), lex_dir, Path(fd) if fd else None,
                  load_wikidata(enrichment_dir / "wikidata.json"))


def load_wikidata(path: Path) -> dict:
    """The synset -> {qid, labels} table `corpus ontology enrich --from wikidata` wrote."""
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        items = doc["items"]
        if not isinstance(items, dict):
            raise TypeError("items is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a Wikidata enrichment file ({exc}); fetch the names from Wikidata again (ontology enrich)") from None
    return items


def _inputs(lex: Lexica) -> dict:
    """What besides WordNet the build read: a rebuild needs the same to give the same bytes."""
    gal = lex.galnet()
    return {
        "galnet": gal.version if gal else None,
        "freedict": sorted(d.name for d in lex.dicts()),
        "wikidata_items": len(lex.wikidata),
    }


def _build_one(spec: DomainSpec, registry: CategoryRegistry, lex: Lexica, data_dir: Path) -> BuildResult:
    dom, report = build_domain(spec, registry, lex.overrides, lex)
    doc = domain_to_doc(dom, {
        "license_notice": (
            "Labels come from the wordnets, dictionaries and lists named under 'sources' (per language), "
            "each under its own license, and every lemma records its own source, method, license and "
            "share-alike flag under 'provenance'; share-alike lemmas require derived works to be shared "
            "alike. See ATTRIBUTION.md."
        ),
        "inputs": _inputs(lex),
    })
    text = dumps(doc)
    path = data_dir / f"{spec.name}.json"
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old != text:
        path.write_text(text, encoding="utf-8")
    return BuildResult(domain_from_doc(doc), report, path, old != text, _lost(old, doc["inputs"]))


def _lost(old_text: str | None, new: dict) -> list[str]:
    try:
        before = (json.loads(old_text).get("inputs") or {}) if old_text else {}
    except (ValueError, AttributeError):
        return []
    lost = []
    if before.get("galnet") and not new.get("galnet"):
        lost.append(f"Galnet {before['galnet']} (--lexicons / CORPUS_LEXICONS)")
    lost += [f"FreeDict {d} (--freedict / CORPUS_FREEDICT)" for d in before.get("freedict", []) if d not in new.get("freedict", [])]
    if before.get("wikidata_items") and not new.get("wikidata_items"):
        lost.append("Wikidata labels (enrichment/wikidata.json)")
    return lost


def attribution_text() -> str:
    lines = [
        "# Attribution of the ontology data",
        "",
        "The files in this folder are derived from the resources below (generated by",
        "`corpus ontology build`; do not edit by hand). Class structure: Princeton WordNet 3.0",
        "(WordNet 3.0 license, https://wordnet.princeton.edu/license-and-commercial-use).",
        "Labels per language come from the first resource of the language's chain that has",
        "lemmas for a synset; each label records its source.",
        "",
        "**Share-alike**: labels from resources marked *yes* (e.g. Wiktionary-derived lemmas,",
        "CC BY-SA) may only be redistributed under the same or a compatible license. Whoever ships",
        "these labels must keep this notice and the attribution below.",
        "",
        "| lang | language | source | resource | license | share-alike | url |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in LANGUAGES:
        for src in SOURCE_CHAINS[lang]:
            lines.append(
                f"| {lang} | {LANGUAGE_NAMES[lang]} | `{src.source}` (`{src.nltk_lang}`) | {src.resource} | "
                f"{src.license} | {'yes' if src.share_alike else 'no'} | {src.url} |"
            )
    from ontology.lexicons import CILI, GALNET

    lines += [
        f"| gl | Galician | `galnet:<version>` | {GALNET.resource} | {GALNET.license} | no | {GALNET.url} |",
        "| bg fi pl el | (several) | `freedict:<pair>` (e.g. `freedict:eng-bul`) | FreeDict dictionaries made by "
        "WikDict from Wiktionary (Debian `dict-freedict-*`); English lemmas with a single noun sense only, "
        "`method=dictionary` | CC BY-SA 3.0 (GPL dictionaries are refused by the build) | yes | https://freedict.org/ |",
        "| all | (all) | `wikidata:Q…` | Wikidata labels and aliases (`corpus ontology enrich --from wikidata`) "
        "| CC0 1.0 | no | https://www.wikidata.org/ |",
        "",
        "Every lemma records its own `provenance` (source, method, license, share_alike); lemmas are",
        "ranked best first by method: wordnet, human, wikidata, wiktionary, cldr, dictionary, and",
        "`activity` last (the lemmas of the activity a class was resolved from, used as search queries",
        "where a language has no name; they are not names).",
        "",
        f"Synsets are mapped to Galnet and Wikidata through the {CILI.resource} (CILI, {CILI.license},",
        f"{CILI.url}).",
        "",
        "Human overrides (`ontology/overrides/*.toml`) carry `override:<provider>` as their source.",
        "",
        "Citations: Open Multilingual Wordnet (Bond & Paik 2012; Bond & Foster 2013), extended OMW",
        "(Bond & Foster 2013, Wiktionary and CLDR data), and the individual wordnets' citation.bib",
        "files shipped with nltk's omw data.",
        f"{GALNET.citation}. {CILI.citation}. FreeDict: https://freedict.org/ and WikDict",
        "(https://www.wikdict.com/), from Wiktionary via DBnary.",
        "",
    ]
    return "\n".join(lines)


def write_attribution(data_dir: Path) -> None:
    path = Path(data_dir) / "ATTRIBUTION.md"
    text = attribution_text()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
