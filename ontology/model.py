"""The built ontology as typed, frozen data, and its JSON form.

This is the runtime side: harvest, annotators and export read ``ontology/data/<domain>.json``
through these classes and never need WordNet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

FORMAT_VERSION = 1
KINDS = ("dominant", "parent", "attribute")


@dataclass(frozen=True)
class LabelData:
    """The names of a class in one language and where they came from."""

    lemmas: tuple[str, ...]
    definition: Optional[str]
    source: str  # "wordnet:pwn-3.0", "omw:bul", "extended_omw:wikt", "override:<who>", "" when none


@dataclass(frozen=True)
class OntologyClassData:
    synset: str  # WordNet 3.0 synset name, e.g. "tennis_player.n.01"
    kind: str  # "dominant" | "parent" | "attribute"
    name: str  # English lemma with spaces: the COCO category name
    origin_synset: Optional[str]  # the activity a dominant class was resolved from, e.g. "tennis.n.01"
    parents: tuple[str, ...]  # synsets of the direct parent classes (within this domain)
    attribute_of: tuple[str, ...]  # dominant synsets this class is an attribute of
    hypernym_closure: tuple[str, ...]  # every WordNet hypernym up to entity.n.01, sorted
    category_id: int  # stable COCO category id (ontology/data/category_ids.json)
    labels: dict[str, LabelData] = field(default_factory=dict)  # ISO 639-1 -> label

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
        "labels": {
            lang: {"lemmas": list(l.lemmas), "definition": l.definition, "source": l.source}
            for lang, l in c.labels.items()
        },
    }


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
        labels={
            lang: LabelData(tuple(l.get("lemmas", ())), l.get("definition"), l.get("source", ""))
            for lang, l in d.get("labels", {}).items()
        },
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
    if doc.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported ontology data format {doc.get('format')!r} (expected {FORMAT_VERSION})")
    return DomainOntology(
        name=doc["domain"],
        description=doc.get("description", ""),
        roots=tuple(doc.get("roots", ())),
        version=doc["version"],
        classes=[class_from_dict(c) for c in doc["classes"]],
        sources=doc.get("sources", {}),
    )
