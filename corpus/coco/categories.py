"""Ontology classes as COCO categories, with stable ids and LVIS-style extra fields.

The id is ``OntologyClass.category_id`` (assigned once when the ontology is loaded, so it stays the
same across exports). A class without one gets a deterministic fallback id derived from its synset
(CRC32 into the range 100000-999999, probing upwards on a clash); the export reports those classes,
because a fallback id changes if a clashing class appears later.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from corpus.errors import StoreError
from corpus.store.classes import domain_classes, label_name
from corpus.store.models import Domain
from corpus.store.queries import UnknownDomain, resolve_domain  # noqa: F401  (re-exported)
from ontology.model import OntologyClassData

FALLBACK_BASE = 100_000
FALLBACK_SPAN = 900_000


@dataclass(frozen=True)
class Category:
    """An ontology class as a COCO category: the class (``ontology_class``, read from the store)
    and what COCO adds to it: the category id, the supercategory and the name written to files.

    The class's own facts (store id, English name, synset, kind) and what COCO shows of its
    labels (a unique name per language and where it came from, the English lemmas as synonyms,
    the English definition) are read from the class, not copied."""

    ontology_class: OntologyClassData
    id: int  # the class's category_id, or a derived fallback id when it has none
    supercategory: str
    fallback_id: bool = False
    # The name written to COCO files: ``name``, or where two classes of the domain share it
    # (regardless of case), ``name (synset)`` (see unique_names).
    coco_name: str = ""

    @property
    def class_id(self) -> int:
        return self.ontology_class.class_id  # type: ignore[return-value]  # read from the store: set

    @property
    def name(self) -> str:
        """The English lemma (the class's name)."""
        return self.ontology_class.name

    @property
    def synset(self) -> str:
        return self.ontology_class.synset

    @property
    def kind(self) -> str:
        return self.ontology_class.kind

    @cached_property
    def names(self) -> dict[str, str]:
        """Language -> the class's name unique in the domain (English: the class name when the
        English label has none)."""
        return self._names_and_sources[0]

    @cached_property
    def name_sources(self) -> dict[str, dict[str, Any]]:
        """Language -> {source, method, license, share_alike} of the lemma behind ``names[lang]``."""
        return self._names_and_sources[1]

    @cached_property
    def _names_and_sources(self) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        names: dict[str, str] = {}
        sources: dict[str, dict[str, Any]] = {}
        for lang, label in self.ontology_class.labels.items():
            name, prov = label_name(label)
            if name:
                names[lang] = name
                if prov:
                    sources[lang] = prov.to_dict()
        names.setdefault("en", self.ontology_class.name)
        return names, sources

    @property
    def synonyms(self) -> tuple[str, ...]:
        """The English lemmas (the class name where there are none)."""
        en = self.ontology_class.labels.get("en")
        return tuple(en.lemmas) if en and en.lemmas else (self.ontology_class.name,)

    @property
    def definition(self) -> str:
        en = self.ontology_class.labels.get("en")
        return (en.definition or "") if en else ""

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


def _fallback_ids(classes: list[OntologyClassData]) -> dict[int, int]:
    used = {c.category_id for c in classes if c.category_id is not None}
    out: dict[int, int] = {}
    for c in sorted((c for c in classes if c.category_id is None), key=lambda c: c.synset):
        cid = FALLBACK_BASE + zlib.crc32(c.synset.encode("utf-8")) % FALLBACK_SPAN
        while cid in used:
            cid += 1
        used.add(cid)
        out[c.class_id] = cid  # type: ignore[index]  # read from the store: set
    return out


def domain_categories(session: Session, domain: Domain) -> list[Category]:
    """Every class of the domain as a category, ordered by category id."""
    classes = domain_classes(session, domain)
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
    fallback = _fallback_ids(classes)
    name_of = {c.synset: c.name for c in classes}
    cats = [
        Category(
            ontology_class=c,
            id=c.category_id if c.category_id is not None else fallback[c.class_id],  # type: ignore[index]
            # A top class has no parent class; the domain is its natural super category.
            supercategory=name_of[c.parents[0]] if c.parents else domain.name,
            fallback_id=c.category_id is None,
        )
        for c in classes
    ]
    names = unique_names(cats)
    return sorted((replace(c, coco_name=names[c.class_id]) for c in cats), key=lambda k: k.id)


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
