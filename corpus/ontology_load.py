"""Put a built domain into the store: Domain, OntologyClass, ClassRelation and Label rows.

Idempotent upsert keyed on natural keys (domain name, (domain, synset), (class, lang)): loading the
same data twice changes nothing, loading new data updates rows in place so the ids that harvest
queries and annotations point to stay. A class that left the ontology is deleted only when no
annotation or harvest query refers to it; otherwise it is kept and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from corpus.store.models import Annotation, ClassRelation, Domain, HarvestQuery, Label, OntologyClass
from ontology.model import DomainOntology


@dataclass
class LoadResult:
    domain: str
    version: str
    classes_added: int = 0
    classes_updated: int = 0
    classes_removed: int = 0
    classes_kept_stale: list[str] = field(default_factory=list)
    labels_written: int = 0
    labels_removed: int = 0
    relations_added: int = 0
    relations_removed: int = 0

    @property
    def changed(self) -> bool:
        return any((self.classes_added, self.classes_updated, self.classes_removed, self.labels_written,
                    self.labels_removed, self.relations_added, self.relations_removed))


def load_domain_into_store(session: Session, dom: DomainOntology) -> LoadResult:
    """Upsert ``dom`` into the store through ``session`` (the caller commits)."""
    res = LoadResult(dom.name, dom.version)
    row = session.scalar(select(Domain).where(Domain.name == dom.name))
    if row is None:
        row = Domain(name=dom.name)
        session.add(row)
    if row.description != dom.description:
        row.description = dom.description
    if list(row.root_synsets or []) != list(dom.roots):
        row.root_synsets = list(dom.roots)
    if row.ontology_version != dom.version:
        row.ontology_version = dom.version
    session.flush()

    existing = {c.synset: c for c in session.scalars(select(OntologyClass).where(OntologyClass.domain_id == row.id))}
    by_synset: dict[str, OntologyClass] = {}
    for c in dom.classes:
        obj = existing.get(c.synset)
        want = {"kind": c.kind, "name": c.name, "origin_synset": c.origin_synset, "category_id": c.category_id}
        if obj is None:
            obj = OntologyClass(domain_id=row.id, synset=c.synset, **want)
            session.add(obj)
            res.classes_added += 1
        elif any(getattr(obj, k) != v for k, v in want.items()):
            for k, v in want.items():
                setattr(obj, k, v)
            res.classes_updated += 1
        by_synset[c.synset] = obj
    session.flush()

    for synset, obj in sorted(existing.items()):
        if synset in by_synset:
            continue
        used = session.scalar(select(func.count()).select_from(Annotation).where(Annotation.class_id == obj.id)) or 0
        used += session.scalar(select(func.count()).select_from(HarvestQuery).where(HarvestQuery.class_id == obj.id)) or 0
        if used:
            res.classes_kept_stale.append(synset)
        else:
            session.delete(obj)
            res.classes_removed += 1
    session.flush()

    ids = {s: o.id for s, o in by_synset.items()}
    _sync_labels(session, dom, ids, res)
    _sync_relations(session, dom, ids, res)
    session.flush()
    return res


def _sync_labels(session: Session, dom: DomainOntology, ids: dict[str, int], res: LoadResult) -> None:
    class_ids = list(ids.values())
    current = {
        (l.class_id, l.lang): l
        for l in session.scalars(select(Label).where(Label.class_id.in_(class_ids)))
    } if class_ids else {}
    wanted: set[tuple[int, str]] = set()
    for c in dom.classes:
        for lang, label in sorted(c.labels.items()):
            if not label.lemmas:
                continue
            key = (ids[c.synset], lang)
            wanted.add(key)
            want = {
                "lemmas": list(label.lemmas), "definition": label.definition, "source": label.source,
                "name": label.key, "provenance": [p.to_dict() for p in label.provenance],
            }
            row = current.get(key)
            if row is None:
                session.add(Label(class_id=key[0], lang=lang, **want))
                res.labels_written += 1
            elif any(_norm(getattr(row, k)) != v for k, v in want.items()):
                for k, v in want.items():
                    setattr(row, k, v)
                res.labels_written += 1
    for key, row in current.items():
        if key not in wanted:
            session.delete(row)
            res.labels_removed += 1


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _sync_relations(session: Session, dom: DomainOntology, ids: dict[str, int], res: LoadResult) -> None:
    wanted: set[tuple[int, int, str]] = set()
    for c in dom.classes:
        for p in c.parents:
            if p in ids:
                wanted.add((ids[c.synset], ids[p], "hypernym"))
        for d in c.attribute_of:
            if d in ids:
                wanted.add((ids[c.synset], ids[d], "attribute_of"))
    class_ids = list(ids.values())
    current = {
        (r[0], r[1], r[2]) for r in session.execute(
            select(ClassRelation.class_id, ClassRelation.related_id, ClassRelation.relation)
            .where(ClassRelation.class_id.in_(class_ids))
        )
    } if class_ids else set()
    for cid, rid, rel in sorted(current - wanted):
        session.execute(delete(ClassRelation).where(
            ClassRelation.class_id == cid, ClassRelation.related_id == rid, ClassRelation.relation == rel))
        res.relations_removed += 1
    for cid, rid, rel in sorted(wanted - current):
        session.add(ClassRelation(class_id=cid, related_id=rid, relation=rel))
        res.relations_added += 1
