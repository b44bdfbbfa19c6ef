"""A domain's classes with their lemmas per language: from the store, or from the built ontology
(for a dry run on a store that has not loaded the domain yet)."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.store.classes import domain_classes
from corpus.store.models import Domain
from ontology.languages import LANGUAGES
from ontology.model import OntologyClassData

__all__ = ["load_classes", "classes_from_ontology", "ensure_domain", "languages_of"]


def load_classes(session: Session, domain: str) -> list[OntologyClassData]:
    """The domain's classes with their lemmas per language, as stored (each with its ``class_id``)."""
    dom = session.scalar(select(Domain).where(Domain.name == domain))
    if dom is None:
        return []
    return domain_classes(session, dom)


def classes_from_ontology(domain: str) -> list[OntologyClassData]:
    """The domain's classes straight from the built ontology data (no store needed; no ``class_id``)."""
    from ontology import load_domain

    return list(load_domain(domain).classes)


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


def languages_of(classes: Iterable[OntologyClassData]) -> list[str]:
    """Every language with lemmas, in the ontology's order (English first)."""
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    found = {lang for c in classes for lang, label in c.labels.items() if label.lemmas}
    return sorted(found, key=lambda lang: (order.get(lang, len(order)), lang))
