"""Query planning: which searches to run for which class, language and source.

Each class's lemmas in a language become queries at every source that can search in that
language (``Source.search_language``). A source that takes any language as plain text (code
'') gets each distinct text once per class, under the first language that produced it, so
"tennis" in English and French is one query, not two.

A class's quota is then shared fairly (:class:`ClassQuota`): evenly over the languages that have
a query for it, and a language's share evenly over the sources that search in it; a language or
source that runs dry leaves its unused share to the others. Languages without a name for a class
are listed by :func:`unnamed_pairs`, so the run can report them instead of skipping them in silence.

Classes are the ontology's own :class:`~ontology.model.OntologyClassData` (from the store, with
their ``class_id``, or straight from the built data for a dry run): their lemmas per language are
``cls.lemmas(lang)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from corpus.errors import NotFoundError
from ontology.model import OntologyClassData

DEFAULT_KINDS = ("dominant", "attribute")
DEFAULT_MAX_LEMMAS = 2  # per class and language: the first lemmas are the most frequent


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


def select_classes(classes: Iterable[OntologyClassData], names: Sequence[str] | None = None,
                   kinds: Sequence[str] = DEFAULT_KINDS) -> list[OntologyClassData]:
    """Classes of the wanted kinds; ``names`` (synsets like tennis_player.n.01 or class names)
    narrows them further, and then kinds are not filtered (an explicit choice wins).
    Unknown names raise ValueError listing them."""
    classes = list(classes)
    if not names:
        return [c for c in classes if c.kind in kinds]
    by_key: dict[str, OntologyClassData] = {}
    for c in classes:
        by_key.setdefault(c.synset.lower(), c)
        by_key.setdefault(c.name.lower(), c)
        by_key.setdefault(c.name.lower().replace("_", " "), c)
    picked: list[OntologyClassData] = []
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


def plan_queries(classes: Sequence[OntologyClassData], sources: Mapping[str, object], languages: Sequence[str],
                 max_lemmas: int = DEFAULT_MAX_LEMMAS) -> list[PlannedQuery]:
    """Queries in harvest order: class by class, then language, then source, then lemma."""
    out: list[PlannedQuery] = []
    for cls in classes:
        seen: set[tuple[str, str, str]] = set()  # (source, source_lang, text)
        for lang in languages:
            lemmas = cls.lemmas(lang)
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


# -- fair shares: a class's quota over its languages and sources --------------------------------

Bucket = tuple[str, str]  # (language, source): where a query searches


def fair_shares(total: int, keys: Sequence[Any], caps: Mapping[Any, int] | None = None, start: int = 0) -> dict[Any, int]:
    """``total`` split over ``keys`` as evenly as possible (max-min fair).

    A key in ``caps`` takes at most ``caps[key]`` (a language that ran dry keeps what it found) and
    what it cannot take goes to the others; a remainder goes one each to the keys from position
    ``start`` on (callers rotate it, so that no key is always the one that gets more).
    """
    caps = caps or {}
    out: dict[Any, int] = {}
    active = list(keys)
    rem = max(0, int(total))
    while active:
        floor = rem // len(active)
        fixed = [k for k in active if k in caps and caps[k] <= floor]
        if not fixed:
            break
        for k in fixed:
            out[k] = max(0, caps[k])
            rem -= out[k]
            active.remove(k)
    if active:
        base, extra = divmod(max(0, rem), len(active))
        for i, k in enumerate(active):
            out[k] = base + (1 if (i - start) % len(active) < extra else 0)
    return {k: out[k] for k in keys}


@dataclass
class BucketCount:
    kept: int = 0  # stored images of the class first found by this bucket's queries
    inflight: int = 0  # downloads under way for it
    dry: bool = False  # its queries are used up (or its source stopped): it gets no more

    @property
    def used(self) -> int:
        return self.kept + self.inflight


class ClassQuota:
    """How many images a class takes from each language and source.

    The class's ``total`` is shared evenly by the languages that have a query for it, and a
    language's share evenly by the sources that search in it; when a language (or source) runs dry
    its unused share goes to the others. With ``per_language`` every language's share is that
    number instead (and the total is ``per_language`` x languages); sources still share it.
    Not thread-safe: the harvest holds its lock around every call.
    """

    def __init__(self, total: int, buckets: Sequence[Bucket], per_language: int | None = None, rotate: int = 0) -> None:
        self.buckets: dict[Bucket, BucketCount] = {b: BucketCount() for b in dict.fromkeys(buckets)}
        self.languages = list(dict.fromkeys(lang for lang, _ in self.buckets))
        self.per_language = per_language
        self.total = per_language * len(self.languages) if per_language is not None else int(total)
        self.other_kept = 0  # stored images of the class found by queries outside these buckets
        self.rotate = rotate  # where remainders start (the class's position): no language always gets more
        self._targets: dict[Bucket, int] | None = None

    # -- counting ---------------------------------------------------------------------------
    def _touch(self) -> None:
        self._targets = None

    def add_kept(self, b: Bucket | None, n: int = 1) -> None:
        """``n`` more stored images first found by bucket ``b`` (None or a bucket not planned now,
        e.g. a language not asked for this time: they count for the class only)."""
        if b in self.buckets:
            self.buckets[b].kept += n
        else:
            self.other_kept += n
        self._touch()

    def add_inflight(self, b: Bucket | None, n: int = 1) -> None:
        if b in self.buckets:
            self.buckets[b].inflight += n
            self._touch()

    def set_dry(self, b: Bucket) -> None:
        if b in self.buckets and not self.buckets[b].dry:
            self.buckets[b].dry = True
            self._touch()

    # -- decisions ----------------------------------------------------------------------------
    def targets(self) -> dict[Bucket, int]:
        if self._targets is None:
            by_lang: dict[str, list[Bucket]] = {}
            for b in self.buckets:
                by_lang.setdefault(b[0], []).append(b)
            # a dry language (every source of it dry) is capped at what it has
            lang_caps = {lang: sum(self.buckets[b].used for b in bs) for lang, bs in by_lang.items()
                         if all(self.buckets[b].dry for b in bs)}
            if self.per_language is not None:
                lang_targets = {lang: min(self.per_language, lang_caps.get(lang, self.per_language))
                                for lang in self.languages}
            else:  # images found before by queries not planned now take their part of the total
                lang_targets = fair_shares(self.total - self.other_kept, self.languages, lang_caps, self.rotate)
            out: dict[Bucket, int] = {}
            for i, (lang, bs) in enumerate(by_lang.items()):
                caps = {b: self.buckets[b].used for b in bs if self.buckets[b].dry}
                out.update(fair_shares(lang_targets[lang], bs, caps, self.rotate + i))
            self._targets = out
        return self._targets

    def room(self, b: Bucket) -> int:
        """How many more images bucket ``b`` may start now."""
        c = self.buckets.get(b)
        if c is None or c.dry:
            return 0
        return max(0, self.targets().get(b, 0) - c.used)

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.buckets.values()) + self.other_kept

    @property
    def used(self) -> int:
        return sum(c.used for c in self.buckets.values())

    def full(self) -> bool:
        """Kept what it can: the total reached, or every bucket dry or at its target."""
        if self.kept >= self.total:
            return True
        t = self.targets()
        return all(c.dry or c.kept >= t.get(b, 0) for b, c in self.buckets.items()) and \
            not any(c.inflight for c in self.buckets.values())

    def kept_by_language(self) -> dict[str, int]:
        out: dict[str, int] = {lang: 0 for lang in self.languages}
        for (lang, _), c in self.buckets.items():
            out[lang] = out.get(lang, 0) + c.kept
        return out


def unnamed_pairs(classes: Sequence[OntologyClassData], languages: Sequence[str]) -> dict[str, list[str]]:
    """Language -> the classes (synsets) that have no lemma in it: nothing can be searched there."""
    out: dict[str, list[str]] = {}
    for lang in languages:
        missing = [c.synset for c in classes if not any(query_text(x) for x in c.lemmas(lang))]
        if missing:
            out[lang] = missing
    return out
