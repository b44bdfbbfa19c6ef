"""The built ontology as typed, frozen data, and its JSON form.

This is the runtime side: harvest, annotators and export read ``ontology/data/<domain>.json``
through these classes and never need WordNet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # format 1 had one source per label and no per-lemma provenance
KINDS = ("dominant", "parent", "attribute")

# How a lemma was found, best first: the order lemmas of a label are ranked in. "activity" lemmas
# name the activity a class was resolved from (skiing for skier): good queries, not names.
METHODS = ("wordnet", "human", "wikidata", "wiktionary", "cldr", "dictionary", "activity")
METHOD_RANK = {m: i for i, m in enumerate(METHODS)}
# A lemma found by these methods alone may be dropped when it names another class.
WEAK_METHODS = ("wiktionary", "cldr", "dictionary")


@dataclass(frozen=True)
class LemmaSource:
    """Where one lemma came from: ``source`` names the resource ("omw:bul", "galnet:3.0.29",
    "wikidata:Q847", "freedict:eng-bul", "override:<who>", "activity:skiing.n.01")."""

    source: str
    method: str  # one of METHODS
    license: str
    share_alike: bool

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "method": self.method, "license": self.license, "share_alike": self.share_alike}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LemmaSource":
        method = d.get("method", "wordnet")
        if method not in METHOD_RANK:
            raise ValueError(f"unknown lemma method {method!r} (known: {', '.join(METHODS)})")
        return cls(str(d.get("source", "")), method, str(d.get("license", "")), bool(d.get("share_alike", False)))


@dataclass(frozen=True)
class LabelData:
    """The names of a class in one language and where each came from, best first."""

    lemmas: tuple[str, ...]
    definition: Optional[str]
    source: str  # source of the first lemma: "wordnet:pwn-3.0", "omw:bul", ..., "" when none
    provenance: tuple[LemmaSource, ...] = ()  # one per lemma, same order
    name: Optional[str] = None  # the name unique within the domain in this language (a key)

    def lemma_sources(self) -> list[tuple[str, Optional[LemmaSource]]]:
        prov = list(self.provenance) + [None] * (len(self.lemmas) - len(self.provenance))
        return list(zip(self.lemmas, prov))

    @property
    def names(self) -> tuple[str, ...]:
        """The lemmas that name the class (activity fallbacks are queries, not names)."""
        return tuple(l for l, p in self.lemma_sources() if p is None or p.method != "activity")

    @property
    def key(self) -> Optional[str]:
        """The unique name where names act as keys (categories, pickers); None without names."""
        if self.name:
            return self.name
        names = self.names
        return names[0] if names else None


@dataclass(frozen=True)
class OntologyClassData:
    """An ontology class: the one type every stage passes on (build, harvest, annotate, export).

    The build fills every field; a class read back from the store (``corpus.store.classes``) has
    what the store keeps (no ``ili``, ``custom`` or ``hypernym_closure``, which the annotate stage
    adds from the built data or WordNet) and its row id in ``class_id``.
    """

    synset: str  # WordNet 3.0 synset name, e.g. "tennis_player.n.01"
    kind: str  # "dominant" | "parent" | "attribute"
    name: str  # English lemma with spaces: the COCO category name
    origin_synset: Optional[str] = None  # the activity a dominant class was resolved from, e.g. "tennis.n.01"
    parents: tuple[str, ...] = ()  # synsets of the direct parent classes (within this domain)
    attribute_of: tuple[str, ...] = ()  # dominant synsets this class is an attribute of
    hypernym_closure: tuple[str, ...] = ()  # every WordNet hypernym up to entity.n.01, sorted
    # stable COCO category id (ontology/data/category_ids.json); None only for a store row without
    # one (the export then derives a fallback id)
    category_id: Optional[int] = None
    labels: dict[str, LabelData] = field(default_factory=dict)  # ISO 639-1 -> label
    ili: Optional[str] = None  # Interlingual Index id ("i93599"); None for custom classes
    custom: bool = False  # declared by the spec where WordNet has no synset ("mic:handball_player")
    # the store's id (ontology_classes.id) once loaded; None in the built data (not in its JSON)
    class_id: Optional[int] = None

    def lemmas(self, lang: str) -> tuple[str, ...]:
        label = self.labels.get(lang)
        return label.lemmas if label else ()

    def is_a(self, synset: str) -> bool:
        """True when this class is ``synset`` or one of its hyponyms (e.g. ``is_a("person.n.01")``)."""
        return synset == self.synset or synset in self.hypernym_closure


@dataclass(frozen=True)
class DomainOntology:
    name: str
    description: str
    roots: tuple[str, ...]
    version: str  # content hash of the built data
    classes: list[OntologyClassData]
    sources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # lang -> attribution entries

    def get(self, synset: str) -> Optional[OntologyClassData]:
        return self._index().get(synset)

    def __contains__(self, synset: object) -> bool:
        return isinstance(synset, str) and synset in self._index()

    def __iter__(self) -> Iterator[OntologyClassData]:
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)

    def of_kind(self, kind: str) -> list[OntologyClassData]:
        return [c for c in self.classes if c.kind == kind]

    @property
    def dominant(self) -> list[OntologyClassData]:
        return self.of_kind("dominant")

    def _index(self) -> dict[str, OntologyClassData]:
        # Frozen dataclass: cache the lookup table on the instance without a setter.
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {c.synset: c for c in self.classes}
            object.__setattr__(self, "_idx", idx)
        return idx


# --- JSON ------------------------------------------------------------------------------------

def class_to_dict(c: OntologyClassData) -> dict[str, Any]:
    return {
        "synset": c.synset,
        "kind": c.kind,
        "name": c.name,
        "origin_synset": c.origin_synset,
        "parents": list(c.parents),
        "attribute_of": list(c.attribute_of),
        "hypernym_closure": list(c.hypernym_closure),
        "category_id": c.category_id,
        "labels": {lang: label_to_dict(l) for lang, l in c.labels.items()},
        "ili": c.ili,
        "custom": c.custom,
    }


def label_to_dict(l: LabelData) -> dict[str, Any]:
    return {
        "lemmas": list(l.lemmas), "definition": l.definition, "source": l.source, "name": l.name,
        "provenance": [p.to_dict() for p in l.provenance],
    }


def label_from_dict(l: dict[str, Any]) -> LabelData:
    lemmas = tuple(l.get("lemmas", ()))
    prov = tuple(LemmaSource.from_dict(p) for p in l.get("provenance", ()))
    if prov and len(prov) != len(lemmas):
        raise ValueError(f"label {lemmas!r}: {len(prov)} provenance entries for {len(lemmas)} lemmas")
    return LabelData(lemmas, l.get("definition"), l.get("source", ""), prov, l.get("name"))


def class_from_dict(d: dict[str, Any]) -> OntologyClassData:
    return OntologyClassData(
        synset=d["synset"],
        kind=d["kind"],
        name=d["name"],
        origin_synset=d.get("origin_synset"),
        parents=tuple(d.get("parents", ())),
        attribute_of=tuple(d.get("attribute_of", ())),
        hypernym_closure=tuple(d.get("hypernym_closure", ())),
        category_id=int(d["category_id"]),
        labels={lang: label_from_dict(l) for lang, l in d.get("labels", {}).items()},
        ili=d.get("ili"),
        custom=bool(d.get("custom", False)),
    )


def dumps(doc: dict[str, Any]) -> str:
    """The one serialisation used for committed data: sorted keys, fixed indent, final newline."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def content_version(doc: dict[str, Any]) -> str:
    """A hash of everything but the version field itself."""
    body = {k: v for k, v in doc.items() if k != "version"}
    return hashlib.sha256(dumps(body).encode("utf-8")).hexdigest()[:16]


def domain_to_doc(dom: DomainOntology, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "domain": dom.name,
        "description": dom.description,
        "roots": list(dom.roots),
        "wordnet": "3.0",
        "sources": dom.sources,
        "classes": [class_to_dict(c) for c in dom.classes],
    }
    doc.update(extra or {})
    doc["version"] = content_version(doc)
    return doc


def domain_from_doc(doc: dict[str, Any]) -> DomainOntology:
    if doc.get("format") not in READABLE_FORMATS:
        raise ValueError(f"unsupported ontology data format {doc.get('format')!r} "
                         f"(readable: {', '.join(map(str, READABLE_FORMATS))})")
    return DomainOntology(
        name=doc["domain"],
        description=doc.get("description", ""),
        roots=tuple(doc.get("roots", ())),
        version=doc["version"],
        classes=[class_from_dict(c) for c in doc["classes"]],
        sources=doc.get("sources", {}),
    )
