"""Lemmas and definitions per class and language, with provenance and human overrides.

For each language the source chain of ``ontology.languages`` is tried in order and the first
source with lemmas wins; its definition (if it has one) goes with them. Human override files
(``ontology/overrides/*.toml``) win over all of WordNet. An override file looks like::

    provider = "Jane Doe <jane@example.org>"   # recorded as source "override:<provider>"
    note = "checked against the Bulgarian sport terminology dictionary"

    [labels."tennis_player.n.01"]
    bg = ["тенисист", "тенисистка"]
    de = { lemmas = ["Tennisspieler"], definition = "Sportler, der Tennis spielt" }
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
from ontology.model import LabelData

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@dataclass(frozen=True)
class OverrideEntry:
    lemmas: tuple[str, ...]
    definition: str | None
    provider: str
    file: str


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
            if isinstance(value, dict):
                lemmas, definition = value.get("lemmas", []), value.get("definition")
            else:
                lemmas, definition = value, None
            if not isinstance(lemmas, list) or not lemmas or not all(isinstance(l, str) and l.strip() for l in lemmas):
                raise InputError(f"{path}: {synset} [{lang}]: lemmas must be a non-empty list of strings")
            out.entries[(synset, lang)] = OverrideEntry(
                tuple(_clean(lemmas)), definition, provider.strip(), Path(path).name
            )
    return out


def _clean(lemmas: Iterable[str], lang: str | None = None) -> list[str]:
    out: list[str] = []
    for lemma in lemmas:
        text = " ".join(lemma.replace("_", " ").split())
        # Croatian borrows Serbo-Croatian Wiktionary lemmas: keep the Latin-script ones only.
        if lang == "hr" and _CYRILLIC.search(text):
            continue
        if text and text not in out:
            out.append(text)
    return out


def lemmas_anywhere(ss: Any, lang: str) -> bool:
    return any(_clean(W.lemma_names(ss, src.nltk_lang), lang) for src in SOURCE_CHAINS[lang])


def label_for(synset: str, lang: str, overrides: Overrides) -> tuple[LabelData, LexSource | None]:
    ov = overrides.get(synset, lang)
    ss = W.synset(synset)
    chain = SOURCE_CHAINS[lang]
    for src in chain:
        lemmas = _clean(W.lemma_names(ss, src.nltk_lang), lang)
        if lemmas:
            if ov:
                # The override's lemmas win; the wordnet's definition stays unless it gives one.
                return LabelData(ov.lemmas, ov.definition or W.definition(ss, src.nltk_lang), f"override:{ov.provider}"), None
            return LabelData(tuple(lemmas), W.definition(ss, src.nltk_lang), src.source), src
    if ov:
        return LabelData(ov.lemmas, ov.definition, f"override:{ov.provider}"), None
    return LabelData((), None, ""), None


def build_labels(
    synsets: list[str], overrides: Overrides
) -> tuple[dict[str, dict[str, LabelData]], dict[str, list[dict[str, Any]]]]:
    """Labels for every synset in all 25 languages, and the attribution of the sources used."""
    labels: dict[str, dict[str, LabelData]] = {s: {} for s in synsets}
    used: dict[str, dict[str, tuple[LexSource, int]]] = defaultdict(dict)
    overrides_used: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lang in LANGUAGES:
        for s in synsets:
            label, src = label_for(s, lang, overrides)
            labels[s][lang] = label
            if src is not None:
                prev = used[lang].get(src.nltk_lang)
                used[lang][src.nltk_lang] = (src, (prev[1] if prev else 0) + 1)
            elif label.source.startswith("override:"):
                overrides_used[lang][label.source] += 1
    sources: dict[str, list[dict[str, Any]]] = {}
    for lang in LANGUAGES:
        entries = [
            {
                "source": src.source, "nltk_lang": src.nltk_lang, "resource": src.resource, "url": src.url,
                "license": src.license, "share_alike": src.share_alike, "classes": n,
            }
            for src, n in sorted(used[lang].values(), key=lambda t: t[0].nltk_lang)
        ]
        entries += [
            {"source": name, "nltk_lang": None, "resource": "human override file", "url": "",
             "license": "contributed to this project", "share_alike": False, "classes": n}
            for name, n in sorted(overrides_used[lang].items())
        ]
        sources[lang] = entries
    return labels, sources


# --- coverage -------------------------------------------------------------------------------

def coverage(classes: Iterable[Any]) -> dict[str, float]:
    """Per language, the share of classes with at least one lemma (0..1)."""
    classes = list(classes)
    if not classes:
        return {lang: 0.0 for lang in LANGUAGES}
    return {lang: sum(1 for c in classes if c.lemmas(lang)) / len(classes) for lang in LANGUAGES}
