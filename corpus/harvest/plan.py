"""Query planning: which searches to run for which class, language and source.

Each class's lemmas in a language become queries at every source that can search in that
language (``Source.search_language``). A source that takes any language as plain text (code
'') gets each distinct text once per class, under the first language that produced it, so
"tennis" in English and French is one query, not two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from corpus.errors import NotFoundError

DEFAULT_KINDS = ("dominant", "attribute")
DEFAULT_MAX_LEMMAS = 2  # per class and language: the first lemmas are the most frequent


@dataclass(frozen=True)
class ClassSpec:
    synset: str
    name: str
    kind: str
    lemmas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # ISO 639-1 -> lemmas
    class_id: int | None = None  # the store's id once loaded


@dataclass(frozen=True)
class PlannedQuery:
    class_id: int | None
    synset: str
    source: str
    lang: str  # ISO 639-1, ours: what Source.search takes
    source_lang: str  # the source's own code, for display ('' = plain text, any language)
    text: str


def query_text(lemma: str) -> str:
    return " ".join(lemma.replace("_", " ").split())


def select_classes(classes: Iterable[ClassSpec], names: Sequence[str] | None = None,
                   kinds: Sequence[str] = DEFAULT_KINDS) -> list[ClassSpec]:
    """Classes of the wanted kinds; ``names`` (synsets like tennis_player.n.01 or class names)
    narrows them further, and then kinds are not filtered (an explicit choice wins).
    Unknown names raise ValueError listing them."""
    classes = list(classes)
    if not names:
        return [c for c in classes if c.kind in kinds]
    by_key: dict[str, ClassSpec] = {}
    for c in classes:
        by_key.setdefault(c.synset.lower(), c)
        by_key.setdefault(c.name.lower(), c)
        by_key.setdefault(c.name.lower().replace("_", " "), c)
    picked: list[ClassSpec] = []
    unknown: list[str] = []
    for n in names:
        c = by_key.get(n.strip().lower())
        if c is None:
            unknown.append(n)
        elif c not in picked:
            picked.append(c)
    if unknown:
        raise NotFoundError(f"unknown class(es): {', '.join(unknown)} (give synsets such as tennis_player.n.01 or class names)")
    return picked


def plan_queries(classes: Sequence[ClassSpec], sources: Mapping[str, object], languages: Sequence[str],
                 max_lemmas: int = DEFAULT_MAX_LEMMAS) -> list[PlannedQuery]:
    """Queries in harvest order: class by class, then language, then source, then lemma."""
    out: list[PlannedQuery] = []
    for cls in classes:
        seen: set[tuple[str, str, str]] = set()  # (source, source_lang, text)
        for lang in languages:
            lemmas = cls.lemmas.get(lang) or ()
            texts: list[str] = []
            for lemma in lemmas:
                t = query_text(lemma)
                if t and t not in texts:
                    texts.append(t)
            for name, source in sources.items():
                code = source.search_language(lang)  # type: ignore[attr-defined]
                if code is None:
                    continue
                for text in texts[:max_lemmas]:
                    key = (name, code, text.lower())
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(PlannedQuery(cls.class_id, cls.synset, name, lang, code, text))
    return out
