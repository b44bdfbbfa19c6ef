"""Lemmas and definitions per class and language, with provenance per lemma.

Every source that has lemmas for a class contributes them; each lemma keeps where it came from
(``LemmaSource``: source, method, licence, share-alike), and a label's lemmas are ranked best
first by method: wordnet (the language's OMW wordnets, Galnet), human (override files), Wikidata
(``corpus ontology enrich``), Wiktionary and CLDR lists of the extended OMW, dictionaries (FreeDict,
English lemmas with a single noun sense only), and last the lemmas of the activity a class was
resolved from (``activity``: skiing for skier), which serve as queries only where a language has
no name. Duplicates keep their best source. The definition is the first wordnet's.

Human override files (``ontology/overrides/*.toml``) look like::

    provider = "Jane Doe <jane@example.org>"   # recorded as source "override:<provider>"
    note = "checked against the Bulgarian sport terminology dictionary"

    [labels."tennis_player.n.01"]
    bg = ["тенисист", "тенисистка"]
    de = { lemmas = ["Tennisspieler"], definition = "Sportler, der Tennis spielt" }
    fr = { lemmas = ["footballeur"], replace = true }   # drop every machine lemma of this label
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from corpus.errors import InputError
from ontology import wordnet as W
from ontology.languages import LANGUAGES, SOURCE_CHAINS, LexSource
from ontology.model import METHOD_RANK, WEAK_METHODS, LabelData, LemmaSource, OntologyClassData

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@dataclass(frozen=True)
class OverrideEntry:
    lemmas: tuple[str, ...]
    definition: str | None
    provider: str
    file: str
    replace: bool = False  # the human lemmas replace every machine lemma of the label


@dataclass
class Overrides:
    entries: dict[tuple[str, str], OverrideEntry] = field(default_factory=dict)  # (synset, lang)

    def get(self, synset: str, lang: str) -> OverrideEntry | None:
        return self.entries.get((synset, lang))

    @classmethod
    def load_dir(cls, folder: Path) -> "Overrides":
        out = cls()
        for path in sorted(Path(folder).glob("*.toml")) if Path(folder).is_dir() else []:
            out.merge(load_override_file(path))
        return out

    def merge(self, other: "Overrides") -> None:
        for key, entry in other.entries.items():
            if key in self.entries:
                prev = self.entries[key]
                raise InputError(f"override for {key[0]} [{key[1]}] given twice: {prev.file} and {entry.file}")
            self.entries[key] = entry


def load_override_file(path: Path) -> Overrides:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None
    provider = doc.get("provider")
    if not isinstance(provider, str) or not provider.strip():
        raise InputError(f"{path}: an override file must say who provided it: provider = \"Name <email>\"")
    out = Overrides()
    for synset, langs in (doc.get("labels") or {}).items():
        if not isinstance(langs, dict):
            raise InputError(f"{path}: [labels.\"{synset}\"] must map language = [lemmas]")
        for lang, value in langs.items():
            if lang not in LANGUAGES:
                raise InputError(f"{path}: {synset}: unknown language {lang!r} (use one of {' '.join(LANGUAGES)})")
            replace = False
            if isinstance(value, dict):
                lemmas, definition = value.get("lemmas", []), value.get("definition")
                replace = value.get("replace", False)
                if not isinstance(replace, bool):
                    raise InputError(f"{path}: {synset} [{lang}]: replace must be true or false")
            else:
                lemmas, definition = value, None
            if not isinstance(lemmas, list) or not lemmas or not all(isinstance(l, str) and l.strip() for l in lemmas):
                raise InputError(f"{path}: {synset} [{lang}]: lemmas must be a non-empty list of strings")
            out.entries[(synset, lang)] = OverrideEntry(
                tuple(_clean(lemmas)), definition, provider.strip(), Path(path).name, replace
            )
    return out


def _clean(lemmas: Iterable[str], lang: str | None = None) -> list[str]:
    out: list[str] = []
    for lemma in lemmas:
        # Wiktionary-derived dictionaries mark stress with a combining accent (тениси́ст).
        text = " ".join(lemma.replace("_", " ").replace("\u0301", "").replace("\u0300", "").split())
        # Croatian borrows Serbo-Croatian Wiktionary lemmas: keep the Latin-script ones only.
        if lang == "hr" and _CYRILLIC.search(text):
            continue
        # MultiWordNet marks a lexical gap with the placeholder "GAP!" (or "PSEUDOGAP!"): not a word.
        if text and text not in out and not text.upper().endswith("GAP!"):
            out.append(text)
    return out


def lex_method(src: LexSource) -> str:
    if src.source.startswith("extended_omw:wikt"):
        return "wiktionary"
    if src.source.startswith("extended_omw:cldr"):
        return "cldr"
    return "wordnet"


def lex_provenance(src: LexSource) -> LemmaSource:
    return LemmaSource(src.source, lex_method(src), src.license, src.share_alike)


WIKIDATA_LICENSE = "CC0 1.0"


@dataclass
class Lexica:
    """Everything the labels are drawn from, beside nltk's WordNet and OMW."""

    overrides: Overrides = field(default_factory=Overrides)
    lexicons: Path | None = None  # CILI + Galnet folder (ontology.lexicons)
    freedict: Path | None = None  # folder of freedict-*.index/.dict.dz
    wikidata: dict[str, Any] = field(default_factory=dict)  # synset -> {"qid", "labels": {lang: [..]}}
    custom: dict[str, Any] = field(default_factory=dict)  # custom synset -> CustomClass

    def galnet(self) -> Any:
        from ontology import lexicons as L

        return L.galnet(str(self.lexicons)) if self.lexicons else None

    def ili_map(self) -> dict[str, str]:
        from ontology import lexicons as L

        if not self.lexicons or not (self.lexicons / "cili").is_dir():
            return {}
        return L.ili_map(str(self.lexicons))

    def dicts(self) -> tuple[Any, ...]:
        from ontology import freedict

        return freedict.load_dir(str(self.freedict))[0] if self.freedict else ()

    def refused_dicts(self) -> tuple[str, ...]:
        from ontology import freedict

        return freedict.load_dir(str(self.freedict))[1] if self.freedict else ()


def ili_of(synset: str, lex: Lexica) -> str | None:
    if synset in lex.custom:
        return None
    ss = W.synset(synset)
    from ontology.lexicons import wn30_key

    return lex.ili_map().get(wn30_key(ss.offset(), ss.pos()))


def lemmas_anywhere(ss: Any, lang: str) -> bool:
    return any(_clean(W.lemma_names(ss, src.nltk_lang), lang) for src in SOURCE_CHAINS[lang])


Candidate = tuple[str, LemmaSource]


def _single_noun_sense(lemma: str) -> bool:
    return len(W.wordnet().synsets(lemma.replace(" ", "_"), "n")) == 1


def candidates(synset: str, lang: str, lex: Lexica) -> tuple[list[Candidate], str | None]:
    """Every lemma any source has for ``synset`` in ``lang``, ranked best first, and the
    definition (the override's, else the first wordnet's)."""
    found: list[tuple[int, int, int, str, LemmaSource]] = []  # (method rank, source order, index, ...)
    definition: str | None = None
    custom = lex.custom.get(synset)
    ov = lex.overrides.get(synset, lang)
    order = 0

    def add(lemmas: Iterable[str], prov: LemmaSource) -> None:
        nonlocal order
        order += 1
        for i, lemma in enumerate(_clean(lemmas, lang)):
            found.append((METHOD_RANK[prov.method], order, i, lemma, prov))

    if custom is None:
        ss = W.synset(synset)
        for src in SOURCE_CHAINS[lang]:
            lemmas = W.lemma_names(ss, src.nltk_lang)
            if lemmas:
                add(lemmas, lex_provenance(src))
                if definition is None and lex_method(src) == "wordnet":
                    definition = W.definition(ss, src.nltk_lang)
        if lang == "gl":
            gal = lex.galnet()
            ili = ili_of(synset, lex)
            if gal is not None and ili and gal.lemmas.get(ili):
                from ontology.lexicons import GALNET

                add(gal.lemmas[ili], LemmaSource(gal.source, "wordnet", GALNET.license, GALNET.share_alike))
        if lang != "en" and lex.freedict:
            english = [l for l in ss.lemma_names() if _single_noun_sense(l)]
            from ontology import freedict

            for en in english:
                for text, d in freedict.lookup(lex.dicts(), lang, en.replace("_", " ")):
                    add([text], LemmaSource(d.source, "dictionary", d.license, d.share_alike))
    elif lang == "en":
        add(custom.lemmas, LemmaSource(f"spec:{custom.domain}", "human", "contributed to this project", False))
        definition = custom.definition
    wd = lex.wikidata.get(synset)
    if wd and wd.get("labels", {}).get(lang):
        add(wd["labels"][lang], LemmaSource(f"wikidata:{wd['qid']}", "wikidata", WIKIDATA_LICENSE, False))
    if ov:
        if ov.replace:
            found = []
        add(ov.lemmas, LemmaSource(f"override:{ov.provider}", "human", "contributed to this project", False))
        definition = ov.definition or definition
    out: list[Candidate] = []
    seen: set[str] = set()
    for _, _, _, lemma, prov in sorted(found, key=lambda t: t[:3]):
        if lemma.casefold() not in seen:
            seen.add(lemma.casefold())
            out.append((lemma, prov))
    return out, definition


def make_label(cands: list[Candidate], definition: str | None, name: str | None = None) -> LabelData:
    if not cands:
        return LabelData((), None, "")
    return LabelData(tuple(l for l, _ in cands), definition, cands[0][1].source, tuple(p for _, p in cands), name)


def label_for(synset: str, lang: str, overrides: Overrides, lex: Lexica | None = None) -> tuple[LabelData, None]:
    """The label of one synset in one language, before the domain-level checks."""
    lex = lex or Lexica(overrides=overrides)
    if lex.overrides is not overrides:
        lex = Lexica(overrides, lex.lexicons, lex.freedict, lex.wikidata, lex.custom)
    cands, definition = candidates(synset, lang, lex)
    return make_label(cands, definition), None


# --- domain-level: activity fallback, name quality, unique names -----------------------------
# These take the domain's classes (``OntologyClassData`` without labels yet: synset -> class) and
# read their kind, parents, attribute_of, origin_synset and hypernym closure (no WordNet needed).

def _person(c: OntologyClassData) -> bool:
    return c.is_a(W.PERSON)


@dataclass
class NameReport:
    dropped: list[tuple[str, str, str, str]] = field(default_factory=list)  # (lang, synset, lemma, why)
    qualified: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, synset, name)


def add_activity_fallback(
    cands: dict[str, dict[str, list[Candidate]]], classes: dict[str, OntologyClassData],
    activity: dict[str, dict[str, list[Candidate]]],
) -> None:
    """A class with no name in a language gets its activity's lemmas as queries, marked
    ``method=activity`` (skier has no Icelandic lemma; skiing has)."""
    for s, c in classes.items():
        if not c.origin_synset:
            continue
        for lang, acts in activity.get(s, {}).items():
            if cands[s].get(lang) or not acts:
                continue
            cands[s][lang] = [
                (l, LemmaSource(f"activity:{c.origin_synset}", "activity", p.license, p.share_alike))
                for l, p in acts if p.method != "activity"
            ]


def _names(cands: list[Candidate]) -> list[Candidate]:
    return [(l, p) for l, p in cands if p.method != "activity"]


def drop_wrong_names(
    cands: dict[str, dict[str, list[Candidate]]], classes: dict[str, OntologyClassData],
    equipment_names: dict[tuple[str, str], set[str]] | None = None,
) -> NameReport:
    """Drop lemmas that name something else, never a class's last name:

    - a Wiktionary, CLDR or dictionary lemma that names another class of the domain, found there
      by an equal or better method (fr "vélo" for motorcycle: a bicycle's name);
    - a person's lemma that names an object class of the domain (fr "tambour" for the drummer);
    - a person's lemma that names the equipment it uses (``equipment_names``: the lemmas, in that
      language, of its attribute classes and their hypernyms: it "racchetta" for tennis player).
    """
    report = NameReport()
    langs = sorted({lang for per in cands.values() for lang in per})
    for lang in langs:
        owners: dict[str, list[tuple[str, int]]] = {}
        for s, per in cands.items():
            for l, p in _names(per.get(lang, [])):
                owners.setdefault(l.casefold(), []).append((s, METHOD_RANK[p.method]))
        for s in sorted(cands):
            label = cands[s].get(lang, [])
            weak: list[tuple[Candidate, str]] = []
            objects: list[tuple[Candidate, str]] = []
            for l, p in label:
                if p.method == "activity":
                    continue
                others = [(o, r) for o, r in owners.get(l.casefold(), []) if o != s]
                rank = METHOD_RANK[p.method]
                if p.method in WEAK_METHODS and any(r <= rank for _, r in others):
                    weak.append(((l, p), f"names {min(others, key=lambda t: (t[1], t[0]))[0]}"))
                elif _person(classes[s]) and any(not _person(classes[o]) and classes[o].kind != "parent" for o, _ in others):
                    objects.append(((l, p), f"names the object {next(o for o, _ in others if not _person(classes[o]))}"))
                elif _person(classes[s]) and equipment_names and l.casefold() in equipment_names.get((s, lang), set()):
                    objects.append(((l, p), "names its equipment"))
            gone = {c for c, _ in weak} | {c for c, _ in objects}
            if not _names([c for c in label if c not in gone]):
                # Every name of the class is also a name of its object: which resource is wrong is
                # not ours to guess (lint lists it); a weak lemma goes only if a name stays.
                objects = []
                gone = {c for c, _ in weak}
                if weak and not _names([c for c in label if c not in gone]):
                    weak = weak[1:]
                    gone = {c for c, _ in weak}
            drops = weak + objects
            keep = [c for c in label if c not in gone]
            for (l, p), why in drops:
                report.dropped.append((lang, s, l, f"{p.method} lemma {why}"))
            cands[s][lang] = keep
    return report


_SENSE = re.compile(r"\.(\d+)$")


def _sense_no(synset: str) -> int:
    m = _SENSE.search(synset)
    return int(m.group(1)) if m else 99


def unique_names(
    cands: dict[str, dict[str, list[Candidate]]], classes: dict[str, OntologyClassData], kind_rank: dict[str, int],
    fallback_qualifier: dict[str, str] | None = None, report: NameReport | None = None,
) -> dict[str, dict[str, str | None]]:
    """A name per class and language that no other class of the domain has (case-insensitive).

    Where classes share their first name, the dominant (then the lower sense number) keeps it and
    the others are qualified by their parent class's name in that language, "swimmer (traveler)";
    the English qualifier is the fallback, the synset the last resort.
    """
    report = report or NameReport()
    fallback_qualifier = fallback_qualifier or {}
    out: dict[str, dict[str, str | None]] = {s: {} for s in cands}
    langs = sorted({lang for per in cands.values() for lang in per})
    for lang in langs:
        base = {s: (_names(per.get(lang, [])) or [(None, None)])[0][0] for s, per in cands.items()}
        groups: dict[str, list[str]] = {}
        for s, name in base.items():
            if name:
                groups.setdefault(name.casefold(), []).append(s)
        names = dict(base)
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort(key=lambda s: (kind_rank.get(classes[s].kind, 9), _sense_no(s), s))
            for s in members[1:]:
                q = None
                for p in classes[s].parents:
                    pn = base.get(p)
                    if pn and pn.casefold() != base[s].casefold():
                        q = pn
                        break
                q = q or fallback_qualifier.get(s) or s
                names[s] = f"{base[s]} ({q})"
        taken: dict[str, str] = {}
        for s in sorted(names, key=lambda s: (kind_rank.get(classes[s].kind, 9), _sense_no(s), s)):
            n = names[s]
            if n is None:
                out[s][lang] = None
                continue
            if n.casefold() in taken:
                n = f"{base[s]} ({s})"
            taken[n.casefold()] = s
            out[s][lang] = n
            if n != base[s]:
                report.qualified.append((lang, s, n))
    return out


def build_labels(
    synsets: list[str], overrides: Overrides, lex: Lexica | None = None,
    classes: dict[str, OntologyClassData] | None = None, kind_rank: dict[str, int] | None = None,
) -> tuple[dict[str, dict[str, LabelData]], dict[str, list[dict[str, Any]]], NameReport]:
    """Labels for every synset in all 25 languages, the attribution of the sources used, and what
    the name checks dropped or qualified."""
    lex = lex or Lexica(overrides=overrides)
    # Without the domain's classes each synset is a dominant class of its own (no name needed yet).
    classes = classes or {s: OntologyClassData(s, "dominant", s) for s in synsets}
    cands: dict[str, dict[str, list[Candidate]]] = {s: {} for s in synsets}
    defs: dict[str, dict[str, str | None]] = {s: {} for s in synsets}
    for s in synsets:
        for lang in LANGUAGES:
            cands[s][lang], defs[s][lang] = candidates(s, lang, lex)
    # the activity's own lemmas, for classes resolved from one
    activity: dict[str, dict[str, list[Candidate]]] = {}
    for s, c in classes.items():
        if c.origin_synset and c.origin_synset not in lex.custom:
            activity[s] = {lang: candidates(c.origin_synset, lang, lex)[0] for lang in LANGUAGES}
    add_activity_fallback(cands, classes, activity)
    report = drop_wrong_names(cands, classes, _equipment_names(classes, lex))
    qualifier = {s: _english_qualifier(s, lex) for s in synsets}
    names = unique_names(cands, classes, kind_rank or {"dominant": 0, "parent": 1, "attribute": 2}, qualifier, report)
    labels = {
        s: {lang: make_label(cands[s][lang], defs[s][lang] if cands[s][lang] else None, names[s].get(lang))
            for lang in LANGUAGES}
        for s in synsets
    }
    return labels, attribution(labels, lex), report


def _english_qualifier(synset: str, lex: Lexica) -> str:
    if synset in lex.custom:
        return lex.custom[synset].parent.split(".")[0].replace("_", " ")
    ss = W.synset(synset)
    hyper = sorted(ss.hypernyms() or ss.instance_hypernyms(), key=lambda h: h.name())  # a stable choice
    return hyper[0].lemma_names()[0].replace("_", " ") if hyper else synset


def _equipment_names(classes: dict[str, OntologyClassData], lex: Lexica) -> dict[tuple[str, str], set[str]]:
    """(person class, lang) -> lemmas of its attribute classes and their direct hypernyms."""
    gear: dict[str, set[str]] = {}
    for s, c in classes.items():
        for d in c.attribute_of:
            if s in lex.custom:
                continue
            ss = W.synset(s)
            gear.setdefault(d, set()).update([ss.name()] + [h.name() for h in ss.hypernyms()])
    out: dict[tuple[str, str], set[str]] = {}
    for person, things in gear.items():
        if not classes.get(person) or not _person(classes[person]):
            continue
        for lang in LANGUAGES:
            if lang == "en":
                continue
            words: set[str] = set()
            for t in things:
                ss = W.synset(t)
                for src in SOURCE_CHAINS[lang]:
                    words.update(l.casefold() for l in _clean(W.lemma_names(ss, src.nltk_lang), lang))
            out[(person, lang)] = words
    return out


def attribution(labels: dict[str, dict[str, LabelData]], lex: Lexica) -> dict[str, list[dict[str, Any]]]:
    """Per language: every source that gave at least one lemma, with its licence and how many
    classes it named."""
    by_source: dict[str, LexSource] = {}
    for lang in LANGUAGES:
        for src in SOURCE_CHAINS[lang]:
            by_source.setdefault(f"{lang}|{src.source}", src)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    info: dict[tuple[str, str], dict[str, Any]] = {}
    for s, per in labels.items():
        for lang, label in per.items():
            seen: set[str] = set()
            for _, p in label.lemma_sources():
                if p is None or p.method == "activity":
                    continue
                key = "wikidata" if p.method == "wikidata" else p.source
                if key in seen:
                    continue
                seen.add(key)
                counts[lang][key] += 1
                if (lang, key) in info:
                    continue
                src = by_source.get(f"{lang}|{p.source}")
                entry = {"source": key, "method": p.method, "license": p.license, "share_alike": p.share_alike,
                         "nltk_lang": src.nltk_lang if src else None, "resource": src.resource if src else "",
                         "url": src.url if src else ""}
                if src is None:
                    entry.update(_resource_of(p))
                info[(lang, key)] = entry
    out: dict[str, list[dict[str, Any]]] = {}
    for lang in LANGUAGES:
        entries = []
        for key, n in counts[lang].items():
            e = dict(info[(lang, key)])
            e["classes"] = n
            entries.append(e)
        out[lang] = sorted(entries, key=lambda e: (METHOD_RANK[e["method"]], e["source"]))
    return out


def _resource_of(p: LemmaSource) -> dict[str, Any]:
    if p.method == "wikidata":
        return {"resource": "Wikidata labels and aliases", "url": "https://www.wikidata.org/"}
    if p.source.startswith("galnet:"):
        return {"resource": "SLI Galnet (Galician wordnet)", "url": "https://github.com/xavier-gz/SLI_Galnet"}
    if p.source.startswith("freedict:"):
        return {"resource": f"FreeDict {p.source.split(':', 1)[1]} (WikDict, from Wiktionary)", "url": "https://freedict.org/"}
    if p.source.startswith("override:"):
        return {"resource": "human override file", "url": ""}
    if p.source.startswith("spec:"):
        return {"resource": "domain spec (custom class)", "url": ""}
    return {"resource": "", "url": ""}

# --- coverage -------------------------------------------------------------------------------

def coverage(classes: Iterable[Any]) -> dict[str, float]:
    """Per language, the share of classes with at least one name (0..1); activity lemmas are
    queries, not names, and do not count."""
    classes = list(classes)
    if not classes:
        return {lang: 0.0 for lang in LANGUAGES}
    return {lang: sum(1 for c in classes if c.labels.get(lang) and c.labels[lang].names) / len(classes)
            for lang in LANGUAGES}
