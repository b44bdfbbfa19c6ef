"""Suspicious names in the built data, per language: what a reviewer should look at first.

Works on the committed data alone (no WordNet). Each finding names the class, the name and the
problem; the fix is an override file (``ontology/overrides/``), never an edit of the data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from ontology.languages import LANGUAGES
from ontology.model import WEAK_METHODS, DomainOntology

CYRILLIC_LANGS = ("bg", "ru")
GREEK_LANGS = ("el",)
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Finding:
    lang: str
    domain: str
    synset: str
    name: str
    problem: str


def _script(text: str) -> set[str]:
    out = set()
    for ch in text:
        if ch.isalpha():
            out.add(unicodedata.name(ch, "UNKNOWN").split(" ")[0])
    return out


def lint(doms: Iterable[DomainOntology], langs: Iterable[str] | None = None) -> list[Finding]:
    langs = tuple(langs) if langs else LANGUAGES
    out: list[Finding] = []
    for dom in doms:
        for lang in langs:
            owners: dict[str, list[str]] = {}
            for c in dom.classes:
                label = c.labels.get(lang)
                for l in (label.names if label else ()):
                    owners.setdefault(l.casefold(), []).append(c.synset)
            for c in dom.classes:
                label = c.labels.get(lang)
                if not label or not label.lemmas:
                    continue

                def add(name: str, problem: str) -> None:
                    out.append(Finding(lang, dom.name, c.synset, name, problem))

                if not label.names:
                    add(", ".join(label.lemmas), "no name: only the activity's lemmas (queries)")
                    continue
                key = label.key or ""
                first = label.names[0]
                if key != first:
                    add(key, f"qualified to be unique: {first!r} names another class too")
                others = [o for o in owners.get(first.casefold(), []) if o != c.synset]
                if others:
                    add(first, "first name shared with " + ", ".join(others))
                prov = dict(label.lemma_sources())
                p = prov.get(first)
                if p is not None and p.method in WEAK_METHODS and all(
                        q is None or q.method in WEAK_METHODS + ("activity",) for _, q in label.lemma_sources()):
                    add(first, f"only from {p.method} ({p.source})")
                if lang != "en" and first.casefold() == c.name.split(" (")[0].casefold() and " " in first:
                    add(first, "the English name, untranslated")
                scripts = _script(first)
                if lang in CYRILLIC_LANGS and "LATIN" in scripts:
                    add(first, "Latin letters in a Cyrillic-script language")
                if lang in GREEK_LANGS and "LATIN" in scripts:
                    add(first, "Latin letters in Greek")
                if lang not in CYRILLIC_LANGS + GREEK_LANGS + ("sr",) and ("CYRILLIC" in scripts or "GREEK" in scripts):
                    add(first, "non-Latin letters in a Latin-script language")
    return out
