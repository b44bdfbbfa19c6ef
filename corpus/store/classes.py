"""A domain's classes read back from the store as the ontology's own class type.

``corpus.ontology_load`` writes a built domain into the ``ontology_classes``, ``labels`` and
``class_relations`` tables; this module reads those rows back as
:class:`ontology.model.OntologyClassData`, so that harvest, annotate and export pass on the one
class type the ontology builds. A class read here carries its row id (``class_id``) and what the
store keeps of it: kind, English name, activity, category id, parents, attribute links and its
labels with per-lemma provenance. The store keeps no hypernym closure, ILI id or custom flag:
those stay at their defaults (the annotate stage adds the closure it needs).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.errors import StoreError
from corpus.store.models import ClassRelation, Domain, Label, OntologyClass
from ontology.model import LabelData, LemmaSource, OntologyClassData

__all__ = ["domain_classes", "label_from_row", "label_name"]


def label_from_row(row: Label) -> LabelData:
    """One stored label as the ontology's ``LabelData`` (raises StoreError on a provenance entry
    the ontology does not know, such as an unknown method)."""
    lemmas = tuple(str(x) for x in (row.lemmas or ()))
    try:
        prov = tuple(LemmaSource.from_dict(p) for p in (row.provenance or ()) if isinstance(p, dict))
    except ValueError as exc:
        raise StoreError(f"label {row.lang!r} of class row {row.class_id} has invalid lemma provenance: {exc} "
                         "(load the domain's ontology into the store again)") from None
    return LabelData(lemmas, row.definition, row.source or "", prov, row.name)


def label_name(label: LabelData) -> tuple[str | None, LemmaSource | None]:
    """The unique name of a label and the provenance of the lemma it comes from. Labels loaded
    before lemma provenance existed have no name: their first lemma stands in. A label with
    provenance but no name has only an activity's lemmas: queries, not a name."""
    lemmas = list(label.lemmas)
    prov = list(label.provenance)
    if label.name is None and prov:
        return None, None
    name = label.name or (lemmas[0] if lemmas else None)
    if name is None:
        return None, None
    base = name.split(" (")[0] if name not in lemmas else name
    i = lemmas.index(base) if base in lemmas else 0
    return name, (prov[i] if i < len(prov) else None)


def domain_classes(session: Session, domain: Domain) -> list[OntologyClassData]:
    """Every class of ``domain`` as stored, in row id order, each with its ``class_id``.

    ``parents`` are the classes' stored hypernym links in row id order (the first is the COCO
    supercategory), ``attribute_of`` the synsets of the classes an attribute goes with, sorted as
    in the built data; labels come in language order."""
    rows = list(session.scalars(
        select(OntologyClass).where(OntologyClass.domain_id == domain.id).order_by(OntologyClass.id)))
    by_id = {r.id: r for r in rows}
    parents: dict[int, list[str]] = defaultdict(list)
    attribute_of: dict[int, set[str]] = defaultdict(set)
    if by_id:
        for rel in session.scalars(select(ClassRelation).where(ClassRelation.class_id.in_(list(by_id)))
                                   .order_by(ClassRelation.class_id, ClassRelation.related_id)):
            other = by_id.get(rel.related_id)
            if other is None:
                continue
            if rel.relation == "hypernym":
                parents[rel.class_id].append(other.synset)
            elif rel.relation == "attribute_of":
                attribute_of[rel.class_id].add(other.synset)
    labels: dict[int, dict[str, LabelData]] = defaultdict(dict)
    if by_id:
        for lab in session.scalars(select(Label).where(Label.class_id.in_(list(by_id))).order_by(Label.class_id, Label.lang)):
            labels[lab.class_id][lab.lang] = label_from_row(lab)
    return [
        OntologyClassData(
            synset=r.synset,
            kind=r.kind,
            name=r.name,
            origin_synset=r.origin_synset,
            parents=tuple(parents.get(r.id, ())),
            attribute_of=tuple(sorted(attribute_of.get(r.id, ()))),
            category_id=r.category_id,
            labels=labels.get(r.id, {}),
            class_id=r.id,
        )
        for r in rows
    ]
