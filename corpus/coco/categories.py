"""Ontology classes as COCO categories, with stable ids and LVIS-style extra fields.

The id is ``OntologyClass.category_id`` (assigned once when the ontology is loaded, so it stays the
same across exports). A class without one gets a deterministic fallback id derived from its synset
(CRC32 into the range 100000-999999, probing upwards on a clash); the export reports those classes,
because a fallback id changes if a clashing class appears later.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.errors import StoreError
from corpus.store.models import ClassRelation, Domain, Label, OntologyClass
from corpus.store.queries import UnknownDomain, resolve_domain  # noqa: F401  (re-exported)

FALLBACK_BASE = 100_000
FALLBACK_SPAN = 900_000



@dataclass(frozen=True)
class Category:
    class_id: int
    id: int
    name: str  # English lemma
    synset: str
    kind: str
    supercategory: str
    names: dict[str, str] = field(default_factory=dict)  # language -> name unique in the domain
    synonyms: tuple[str, ...] = ()  # English lemmas
    # language -> {source, method, license, share_alike} of the lemma behind ``names[lang]``
    name_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    definition: str = ""
    fallback_id: bool = False
    # The name written to COCO files: ``name``, or where two classes of the domain share it
    # (regardless of case), ``name (synset)`` (see unique_names).
    coco_name: str = ""

    def coco(self) -> dict[str, Any]:
        """The category entry of a training export (COCO plus LVIS-style fields)."""
        return {
            "id": self.id,
            "name": self.coco_name or self.name,
            "supercategory": self.supercategory,
            "synset": self.synset,
            "synonyms": list(self.synonyms),
            "def": self.definition,
            "kind": self.kind,
            "names": self.names,
            "name_sources": self.name_sources,
        }


class ClashingCategories(StoreError, ValueError):
    """Two classes of a domain share a COCO category id in the store (a ValueError, as before)."""


def _fallback_ids(classes: list[OntologyClass]) -> dict[int, int]:
    used = {c.category_id for c in classes if c.category_id is not None}
    out: dict[int, int] = {}
    for c in sorted((c for c in classes if c.category_id is None), key=lambda c: c.synset):
        cid = FALLBACK_BASE + zlib.crc32(c.synset.encode("utf-8")) % FALLBACK_SPAN
        while cid in used:
            cid += 1
        used.add(cid)
        out[c.id] = cid
    return out


def domain_categories(session: Session, domain: Domain) -> list[Category]:
    """Every class of the domain as a category, ordered by category id."""
    classes = session.scalars(select(OntologyClass).where(OntologyClass.domain_id == domain.id)).all()
    by_id = {c.id: c for c in classes}
    parents: dict[int, str] = {}
    for rel in session.scalars(
        select(ClassRelation).where(ClassRelation.relation == "hypernym", ClassRelation.class_id.in_(list(by_id)))
    ):
        parent = by_id.get(rel.related_id)
        if parent is not None:
            parents.setdefault(rel.class_id, parent.name)
    labels: dict[int, list[Label]] = {}
    for lab in session.scalars(select(Label).where(Label.class_id.in_(list(by_id))).order_by(Label.lang)):
        labels.setdefault(lab.class_id, []).append(lab)
    owners: dict[int, list[str]] = {}
    for c in classes:
        if c.category_id is not None:
            owners.setdefault(c.category_id, []).append(c.synset)
    clashes = {cid: syns for cid, syns in owners.items() if len(syns) > 1}
    if clashes:
        # Two classes under one id would merge in every COCO tool; refuse rather than write that.
        raise ClashingCategories(f"domain {domain.name}: category ids used by more than one class: "
                         + "; ".join(f"{cid}: {', '.join(sorted(s))}" for cid, s in sorted(clashes.items()))
                         + " (fix ontology_classes.category_id, e.g. reload the ontology)")
    fallback = _fallback_ids(list(classes))
    cats = []
    for c in classes:
        names: dict[str, str] = {}
        name_sources: dict[str, dict[str, Any]] = {}
        for lab in labels.get(c.id, []):
            name, prov = _label_name(lab)
            if name:
                names[lab.lang] = name
                if prov:
                    name_sources[lab.lang] = prov
        en = next((lab for lab in labels.get(c.id, []) if lab.lang == "en"), None)
        names.setdefault("en", c.name)
        cats.append(Category(
            class_id=c.id,
            id=c.category_id if c.category_id is not None else fallback[c.id],
            name=c.name,
            synset=c.synset,
            kind=c.kind,
            # A top class has no parent class; the domain is its natural super category.
            supercategory=parents.get(c.id, domain.name),
            names=names,
            name_sources=name_sources,
            synonyms=tuple(str(x) for x in (en.lemmas if en and en.lemmas else [c.name])),
            definition=(en.definition or "") if en else "",
            fallback_id=c.category_id is None,
        ))
    names = unique_names(cats)
    return sorted((replace(c, coco_name=names[c.class_id]) for c in cats), key=lambda k: k.id)


def _label_name(lab: Label) -> tuple[str | None, dict[str, Any] | None]:
    """The unique name of a label and the provenance of the lemma it comes from. Rows loaded
    before lemma provenance existed have no name: their first lemma stands in."""
    lemmas = [str(x) for x in (lab.lemmas or [])]
    prov = [p for p in (lab.provenance or []) if isinstance(p, dict)]
    if lab.name is None and prov:  # only activity lemmas: queries, not a name
        return None, None
    name = lab.name or (lemmas[0] if lemmas else None)
    if name is None:
        return None, None
    base = name.split(" (")[0] if name not in lemmas else name
    i = lemmas.index(base) if base in lemmas else 0
    return name, (prov[i] if i < len(prov) else None)


def unique_names(categories: list[Category]) -> dict[int, str]:
    """class id -> a category name unique without regard to case, for every COCO file we write.

    Readers match categories by name: CVAT's importer (Datumaro) refuses a file with two
    categories of one name, COCO Annotator matches names case-insensitively across all its
    datasets. A lemma two classes share (two senses of "swimmer", whatever the ontology build
    made of them) gets its WordNet synset: ``swimmer (swimmer.n.02)``. The synset is unique in a
    domain; should a name so made still clash, the category id settles it."""
    counts: dict[str, int] = {}
    for c in categories:
        counts[c.name.casefold()] = counts.get(c.name.casefold(), 0) + 1
    out: dict[int, str] = {}
    taken = {c.name.casefold() for c in categories if counts[c.name.casefold()] == 1}
    for c in sorted(categories, key=lambda k: k.id):
        if counts[c.name.casefold()] == 1:
            out[c.class_id] = c.name
            continue
        name = f"{c.name} ({c.synset})"
        if name.casefold() in taken:
            name = f"{c.name} ({c.synset}, {c.id})"
        taken.add(name.casefold())
        out[c.class_id] = name
    return out


def annotator_names(categories: list[Category]) -> dict[int, str]:
    """class id -> category name in COCO Annotator files: the same unique names as everywhere."""
    fresh = unique_names(categories) if any(not c.coco_name for c in categories) else {}
    return {c.class_id: c.coco_name or fresh[c.class_id] for c in categories}
