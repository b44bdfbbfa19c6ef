"""Work for translators: export the names of one language as CSV or PO, import the result as an
override file that records who translated and when.

Each row (PO entry) is one class: its English lemmas and definition, the current names in the
language with their sources, suggestions (dictionary lemmas, the activity's lemmas) and, where the
store has harvested images of the class, a thumbnail path. The translator fills in ``translation``
(CSV) or ``msgstr`` (PO): names separated by ``;``, best first. On import, a row whose names
differ from the current ones becomes an override entry; names the translator removed are dropped
(``replace = true``), so a translator can also correct a wrong name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from corpus.errors import InputError, UsageError
from ontology.languages import LANGUAGE_NAMES, LANGUAGES
from ontology.model import DomainOntology

FORMATS = ("csv", "po")
CSV_COLUMNS = ("lang", "domain", "synset", "kind", "english", "definition", "current", "sources", "suggestions",
               "thumbnail", "translation")
SEP = ";"


@dataclass
class Row:
    domain: str
    synset: str
    kind: str
    english: list[str]
    definition: str
    current: list[str]  # names (not activity lemmas), best first
    sources: list[str]  # "lemma: source (method, license)" per current name
    suggestions: list[str]  # dictionary and activity lemmas, for inspiration
    thumbnail: str = ""
    translation: list[str] = field(default_factory=list)


def rows(doms: Iterable[DomainOntology], lang: str, missing: bool = False,
         thumbnails: Mapping[str, str] | None = None) -> list[Row]:
    """One row per class (a synset in several domains once); ``missing``: only classes without a
    name in ``lang``, or whose names come only from dictionaries, Wiktionary or CLDR."""
    if lang not in LANGUAGES or lang == "en":
        raise UsageError(f"language must be one of {' '.join(l for l in LANGUAGES if l != 'en')}", param="lang")
    thumbnails = thumbnails or {}
    out: list[Row] = []
    seen: set[str] = set()
    for dom in doms:
        for c in sorted(dom.classes, key=lambda c: ({"dominant": 0, "parent": 1, "attribute": 2}[c.kind], c.synset)):
            if c.synset in seen:
                continue
            seen.add(c.synset)
            label = c.labels.get(lang)
            pairs = label.lemma_sources() if label else []
            names = [(l, p) for l, p in pairs if p is None or p.method not in ("activity", "dictionary")]
            sugg = [l for l, p in pairs if p is not None and p.method in ("activity", "dictionary")]
            if missing and any(p is None or p.method in ("wordnet", "human", "wikidata") for _, p in names):
                continue
            en = c.labels.get("en")
            out.append(Row(
                dom.name, c.synset, c.kind, list(en.lemmas) if en else [c.name],
                (en.definition or "") if en else "",
                [l for l, _ in names],
                [f"{l}: {p.source} ({p.method}, {p.license})" if p else l for l, p in names],
                sugg, thumbnails.get(c.synset, ""), [l for l, _ in names],
            ))
    return out


def to_csv(rs: list[Row], lang: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rs:
        w.writerow([lang, r.domain, r.synset, r.kind, SEP.join(r.english), r.definition, SEP.join(r.current),
                    " | ".join(r.sources), SEP.join(r.suggestions), r.thumbnail, SEP.join(r.translation)])
    return buf.getvalue()


def to_po(rs: list[Row], lang: str) -> bytes:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    cat = Catalog(locale=lang, project="MIC Corpus ontology", domain="ontology", fuzzy=False)
    for r in rs:
        comments = [f"English: {SEP.join(r.english)}"]
        if r.definition:
            comments.append(f"Definition: {r.definition}")
        comments += [f"Current: {s}" for s in r.sources]
        if r.suggestions:
            comments.append(f"Suggestions (dictionary/activity): {SEP.join(r.suggestions)}")
        if r.thumbnail:
            comments.append(f"Thumbnail: {r.thumbnail}")
        comments.append(f"Names are separated by '{SEP}', best first. Kind: {r.kind}, domain: {r.domain}")
        cat.add(r.english[0], SEP.join(r.translation), auto_comments=comments, context=r.synset)
    buf = io.BytesIO()
    write_po(buf, cat, width=0, sort_output=False)
    return buf.getvalue()


def export(doms: Iterable[DomainOntology], lang: str, path: Path, missing: bool = False,
           thumbnails: Mapping[str, str] | None = None, fmt: str | None = None) -> int:
    """Write the translator's file (format from ``fmt`` or the suffix: .csv, .po); returns rows."""
    fmt = fmt or Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} for {path}: use a .csv or .po file (or give the format)", param="fmt")
    rs = rows(doms, lang, missing, thumbnails)
    data = to_csv(rs, lang).encode("utf-8") if fmt == "csv" else to_po(rs, lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(rs)


@dataclass
class Imported:
    lang: str
    path: Path | None  # the override file written (None: nothing to write)
    entries: int
    unchanged: int
    skipped: list[str] = field(default_factory=list)  # (reason) per row not taken


def _split(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(SEP):
        t = " ".join(part.split())
        if t and t not in out:
            out.append(t)
    return out


def read(path: Path) -> tuple[str, list[tuple[str, list[str], list[str]]]]:
    """The language, and (synset, translated names, names at export time) per row of a CSV or
    PO file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "csv":
        try:
            reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
            missing = {"lang", "synset", "translation"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(f"{path}: not a translation CSV (missing column(s) {', '.join(sorted(missing))})")
            got = [r for r in reader if (r.get("synset") or "").strip()]
            langs = {(r.get("lang") or "").strip() for r in got}
            if len(langs) != 1:
                raise InputError(f"{path}: one language per file, found {', '.join(sorted(langs)) or 'none'}")
            return langs.pop(), [(r["synset"].strip(), _split(r.get("translation") or ""), _split(r.get("current") or ""))
                                 for r in got]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{path}: not a readable CSV ({exc})") from None
    if fmt == "po":
        from babel.messages.pofile import PoFileError, read_po

        try:
            with path.open("rb") as fh:
                cat = read_po(fh, abort_invalid=True)
        except (PoFileError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path}: not a readable PO file ({exc})") from None
        if cat.locale is None:
            raise InputError(f"{path}: the PO header names no language (Language: bg)")
        out = []
        for m in cat:
            if not m.id or not m.context:
                continue
            current: list[str] = []
            for comment in m.auto_comments:
                if comment.startswith("Current: "):
                    current.append(comment[len("Current: "):].split(": ", 1)[0])
            out.append((m.context, _split(m.string if isinstance(m.string, str) else ""), current))
        return str(cat.locale), out
    raise InputError(f"{path}: use a .csv or .po file")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "translator"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def import_file(path: Path, translator: str, overrides_dir: Path, known: Iterable[str],
                today: dt.date | None = None) -> Imported:
    """Write ``overrides_dir/translations-<lang>-<translator>.toml`` from a filled-in file."""
    from ontology.labels import Overrides, load_override_file

    if not translator.strip():
        raise UsageError("say who translated (translator)", param="translator")
    lang, got = read(path)
    if lang not in LANGUAGES or lang == "en":
        raise InputError(f"{path}: language {lang!r} is not one of {' '.join(l for l in LANGUAGES if l != 'en')}")
    known = set(known)
    target = Path(overrides_dir) / f"translations-{lang}-{_slug(translator)}.toml"
    # entries of the same translator's earlier import stay, unless this file changes them
    entries: dict[str, tuple[list[str], bool]] = {}
    if target.is_file():
        for (syn, l), e in load_override_file(target).entries.items():
            if l == lang:
                entries[syn] = (list(e.lemmas), e.replace)
    others = Overrides()
    for p in sorted(Path(overrides_dir).glob("*.toml")) if Path(overrides_dir).is_dir() else []:
        if p != target:
            others.merge(load_override_file(p))
    res = Imported(lang, None, 0, 0)
    for synset, names, current in got:
        if synset not in known:
            res.skipped.append(f"{synset}: not a class of the ontology")
            continue
        if not names:
            continue
        if names == current:
            res.unchanged += 1
            continue
        if others.get(synset, lang):
            res.skipped.append(f"{synset}: already has an override for {lang} in {others.get(synset, lang).file}")
            continue
        entries[synset] = (names, bool(set(current) - set(names)))
    if not entries:
        return res
    when = (today or dt.date.today()).isoformat()
    lines = [
        f"# Names in {LANGUAGE_NAMES[lang]} from a translator, imported with `corpus ontology translations import`.",
        f"provider = {_toml_str(translator.strip())}",
        f"translator = {_toml_str(translator.strip())}",
        f"date = {_toml_str(when)}",
        f"note = {_toml_str(f'translated from {Path(path).name}')}",
        "",
    ]
    for synset in sorted(entries):
        names, replace = entries[synset]
        lemmas = "[" + ", ".join(_toml_str(n) for n in names) + "]"
        lines.append(f"[labels.{_toml_str(synset)}]")
        lines.append(f"{lang} = {{ lemmas = {lemmas}, replace = true }}" if replace else f"{lang} = {lemmas}")
        lines.append("")
    Path(overrides_dir).mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    load_override_file(tmp)  # what we write must be what the build reads
    tmp.replace(target)
    res.path, res.entries = target, len(entries)
    return res
