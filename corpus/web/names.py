"""Class names in the reviewer's language, and the class picker's search.

A class shows its name in the reviewer's language (the ontology's name unique within the domain,
as in the COCO categories); a class without one shows its English name, flagged as a fallback
so the page can say so. The picker matches what the reviewer types
against the lemmas in their language and in English, the synset and the English name, ignoring
case and accents (``cafe`` finds ``café``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.store.classes import label_from_row, label_name
from corpus.store.models import Label, OntologyClass


@dataclass(frozen=True)
class ClassName:
    class_id: int
    name: str  # in the reviewer's language, or English when ``fallback``
    fallback: bool  # no lemma in the reviewer's language: ``name`` is English
    english: str
    synset: str
    kind: str
    synonyms: tuple[str, ...] = ()  # the other lemmas in the reviewer's language

    def as_json(self) -> dict:
        return {"id": self.class_id, "name": self.name, "fallback": self.fallback, "english": self.english,
                "synset": self.synset, "kind": self.kind, "synonyms": list(self.synonyms)}


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("_", " ")


def _labels(session: Session, class_ids: list[int], langs: set[str]) -> dict[tuple[int, str], list[str]]:
    """(class, language) -> [its unique name, then its other lemmas]; [None, lemmas...] where the
    language has lemmas but no name (only an activity's lemmas: search words, not a name)."""
    out: dict[tuple[int, str], list[str]] = {}
    if not class_ids:
        return out
    for lab in session.scalars(select(Label).where(Label.class_id.in_(class_ids), Label.lang.in_(langs))):
        name, _ = label_name(label_from_row(lab))  # the same reading as the COCO categories'
        lemmas = [str(x) for x in (lab.lemmas or []) if str(x).strip()]
        out[(lab.class_id, lab.lang)] = [name, *[x for x in lemmas if x != name]]
    return out


def class_names(session: Session, domain_id: int, lang: str, class_ids: list[int] | None = None) -> dict[int, ClassName]:
    """Names of the domain's classes (or of ``class_ids``) in ``lang``, English as the marked fallback."""
    q = select(OntologyClass.id, OntologyClass.name, OntologyClass.synset, OntologyClass.kind).where(
        OntologyClass.domain_id == domain_id)
    if class_ids is not None:
        q = q.where(OntologyClass.id.in_(class_ids))
    rows = session.execute(q).all()
    labels = _labels(session, [r.id for r in rows], {lang, "en"})
    out: dict[int, ClassName] = {}
    for r in rows:
        own = labels.get((r.id, lang), [None])
        english = r.name  # the English key is the class name (the COCO category name)
        if own[0]:
            out[r.id] = ClassName(r.id, own[0], False, english, r.synset, r.kind, tuple(own[1:]))
        elif lang == "en":
            out[r.id] = ClassName(r.id, english, False, english, r.synset, r.kind, tuple(own[1:]))
        else:
            out[r.id] = ClassName(r.id, english, True, english, r.synset, r.kind, tuple(own[1:]))
    return out


def search_classes(session: Session, domain_id: int, query: str, lang: str, limit: int = 20) -> list[ClassName]:
    """Classes whose names or synonyms (in ``lang`` or English), synset or English name match
    ``query``: whole-word and prefix matches first, then substrings, then by name."""
    names = class_names(session, domain_id, lang)
    labels = _labels(session, list(names), {lang, "en"})
    q = _fold(query.strip())
    scored: list[tuple[int, str, ClassName]] = []
    for cid, cn in names.items():
        texts = [cn.name, *cn.synonyms, cn.english, *labels.get((cid, "en"), []), *labels.get((cid, lang), []),
                 cn.synset.split(".")[0], cn.synset]
        texts = [t for t in texts if t]
        if not q:
            scored.append((3, _fold(cn.name), cn))
            continue
        best = None
        for t in texts:
            f = _fold(t)
            if f == q:
                rank = 0
            elif f.startswith(q) or any(w.startswith(q) for w in f.split()):
                rank = 1
            elif q in f:
                rank = 2
            else:
                continue
            best = rank if best is None else min(best, rank)
        if best is not None:
            scored.append((best, _fold(cn.name), cn))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [cn for _, _, cn in scored[:max(1, limit)]]
