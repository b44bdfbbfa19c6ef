"""Access to WordNet 3.0, the Open Multilingual Wordnet and the extended OMW through nltk.

Only the build needs this module. A missing corpus raises :class:`WordNetMissing` whose message
says how to get the data, instead of nltk's long LookupError.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Iterable

from corpus.errors import NotFoundError, ResourceMissing

DOWNLOAD_HINT = (
    "Get it once with:\n"
    "    python -m nltk.downloader wordnet omw-1.4 extended_omw\n"
    "(nltk 3.10 and newer: `python -m nltk.downloader wordnet omw-2.0 extended_omw`), "
    "or point NLTK_DATA at a folder that holds corpora/wordnet, corpora/omw-2.0 (or omw-1.4) "
    "and corpora/extended_omw."
)

# Synsets whose presence in a hypernym closure makes a synset a concrete, countable thing.
WHOLE = "whole.n.02"  # object.n.01 > whole: artifacts, living things, natural objects
PERSON = "person.n.01"


class WordNetMissing(ResourceMissing):
    """WordNet (or one of the multilingual resources) is not installed where nltk looks."""


def _search_path() -> str:
    try:
        import nltk

        return os.pathsep.join(str(p) for p in nltk.data.path)
    except Exception:  # pragma: no cover - nltk itself missing
        return os.environ.get("NLTK_DATA", "")


@lru_cache(maxsize=1)
def wordnet(extended: bool = True) -> Any:
    """The nltk WordNet reader with the OMW (and, by default, the extended OMW) loaded."""
    try:
        from nltk.corpus import wordnet as wn
    except ImportError as exc:  # pragma: no cover - nltk is a dependency
        raise WordNetMissing(f"nltk is not installed ({exc}); pip install nltk") from exc
    try:
        wn.ensure_loaded()
        wn.synset("entity.n.01")
    except LookupError:
        raise WordNetMissing(
            f"WordNet 3.0 was not found by nltk (searched: {_search_path()}).\n{DOWNLOAD_HINT}"
        ) from None
    _probe(lambda: wn.synset("dog.n.01").lemma_names("fra"), "The Open Multilingual Wordnet (omw-1.4 / omw-2.0)")
    if extended:
        _probe(lambda: (_add_exomw_once(wn), wn.synset("dog.n.01").lemma_names("deu_wikt")),
               "The extended Open Multilingual Wordnet (extended_omw)")
    return wn


def _add_exomw_once(wn: Any) -> None:
    """nltk's add_exomw() is not idempotent: a second call (say the caller's own code made the
    first) files the extended languages under the OMW folder and every *_wikt lookup fails."""
    if "deu_wikt" not in wn.langs():
        wn.add_exomw()


def _probe(read: Any, what: str) -> None:
    """Run ``read``; a missing corpus (LookupError) or language becomes WordNetMissing."""
    from nltk.corpus.reader.wordnet import WordNetError

    try:
        read()
    except (LookupError, WordNetError) as exc:
        if isinstance(exc, WordNetError) and "not supported" not in str(exc):
            raise
        raise WordNetMissing(f"{what} was not found by nltk (searched: {_search_path()}).\n{DOWNLOAD_HINT}") from None


def synset(name: str) -> Any:
    """The synset called ``name``; a clear ValueError for names WordNet does not have."""
    wn = wordnet()
    try:
        return wn.synset(name)
    except Exception as exc:
        raise NotFoundError(f"{name!r} is not a WordNet 3.0 synset ({exc})") from None


def hypernym_closure(ss: Any) -> tuple[str, ...]:
    """Every hypernym (instance hypernyms included) up to entity.n.01, sorted by name."""
    seen = {s.name() for s in ss.closure(lambda s: s.hypernyms() + s.instance_hypernyms())}
    return tuple(sorted(seen))


def is_physical_object(ss: Any) -> bool:
    """A concrete, countable thing that can be outlined in an image (under whole.n.02)."""
    return ss.pos() == "n" and WHOLE in hypernym_closure(ss)


def is_person(ss: Any) -> bool:
    return ss.name() == PERSON or PERSON in hypernym_closure(ss)


def lemma_names(ss: Any, nltk_lang: str) -> list[str]:
    wn = wordnet()
    if nltk_lang not in wn.langs():
        return []
    return list(ss.lemma_names(nltk_lang))


def definition(ss: Any, nltk_lang: str) -> str | None:
    if nltk_lang == "eng":
        return ss.definition() or None
    wn = wordnet()
    if nltk_lang not in wn.langs():
        return None
    got = ss.definition(lang=nltk_lang)
    if not got:
        return None
    if isinstance(got, str):
        return got
    return "; ".join(d.strip() for d in got if d and d.strip()) or None


def names(synsets: Iterable[Any]) -> list[str]:
    return sorted(s.name() for s in synsets)
