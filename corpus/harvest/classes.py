"""A domain's classes with their lemmas per language: from the store, or from the built ontology
(for a dry run on a store that has not loaded the domain yet)."""

from __future__ import annotations

import collections
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.harvest.plan import ClassSpec
from corpus.store.models import Domain, Label, OntologyClass

__all__ = ["load_classes", "classes_from_ontology", "ensure_domain", "languages_of"]


def load_classes(session: Session, domain: str) -> list[ClassSpec]:
    """The domain's classes with their lemmas per language, as stored."""
    dom = session.scalar(select(Domain).where(Domain.name == domain))
    if dom is None:
        return []
    rows = session.scalars(select(OntologyClass).where(OntologyClass.domain_id == dom.id).order_by(OntologyClass.id)).all()
    labels: dict[int, dict[str, tuple[str, ...]]] = collections.defaultdict(dict)
    for lab in session.scalars(select(Label).join(OntologyClass).where(OntologyClass.domain_id == dom.id)):
        labels[lab.class_id][lab.lang] = tuple(lab.lemmas or ())
    return [ClassSpec(c.synset, c.name, c.kind, labels.get(c.id, {}), c.id) for c in rows]


def classes_from_ontology(domain: str) -> list[ClassSpec]:
    """The domain's classes straight from the built ontology data (no store needed)."""
    from ontology import load_domain

    onto = load_domain(domain)
    return [
        ClassSpec(c.synset, c.name, c.kind, {lang: tuple(lab.lemmas) for lang, lab in c.labels.items()})
        for c in onto.classes
    ]


def ensure_domain(engine: Engine, domain: str) -> bool:
    """Load the domain's built ontology into the store when it is not there yet (True if loaded).

    Raises LookupError (``ontology.OntologyDataError``) for a domain that has no built data."""
    with Session(engine) as s:
        if s.scalar(select(Domain.id).where(Domain.name == domain)) is not None:
            return False
    from corpus.ontology_load import load_domain_into_store
    from ontology import load_domain

    onto = load_domain(domain)
    with Session(engine) as s:
        load_domain_into_store(s, onto)
        s.commit()
    return True


def languages_of(classes: Iterable[ClassSpec]) -> list[str]:
    """Every language with lemmas, in the ontology's order (English first)."""
    try:
        from ontology import LANGUAGES
    except ImportError:  # the harvest does not need the ontology package to run
        LANGUAGES = ("en",)
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    found = {lang for c in classes for lang, lemmas in c.lemmas.items() if lemmas}
    return sorted(found, key=lambda lang: (order.get(lang, len(order)), lang))
