"""Read-only queries shared by commands (counts, summaries)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus.errors import NotFoundError
from corpus.store.models import Annotation, Domain, HarvestQuery, Image, ImageHit, OntologyClass, Proposal
from corpus.store.models import Source as SourceRow


class UnknownDomain(NotFoundError):
    """No such domain in the store (a NotFoundError: a LookupError and a ValueError)."""


def annotations_of_classes(class_ids):
    """``Annotation.class_id IN (class_ids)`` for scans over a domain's annotations (exports).

    Written as ``class_id + 0`` so that SQLite does not answer it through the review queue's
    ``ix_annotations_progress`` (class_id, status, reviewed_by) index: probing it once per class
    and status, then sorting, made a 100,000-annotation export's scan 4x slower than the status
    index it used before that index existed (bench/stages.py). PostgreSQL plans by statistics
    either way."""
    return (Annotation.class_id + 0).in_(list(class_ids))


def resolve_domain(session: Session, name: str | None) -> Domain:
    """The named domain, or the only one in the store when no name is given; a clear error otherwise."""
    if name is None:
        domains = session.scalars(select(Domain).order_by(Domain.name)).all()
        if len(domains) == 1:
            return domains[0]
        if not domains:
            raise UnknownDomain("the store has no domain yet: load one from the ontology first", param="domain")
        known = ", ".join(d.name for d in domains)
        raise UnknownDomain(f"the store has several domains ({known}): choose one", param="domain")
    dom = session.scalar(select(Domain).where(Domain.name == name))
    if dom is None:
        known = ", ".join(session.scalars(select(Domain.name).order_by(Domain.name))) or "none"
        raise UnknownDomain(f"unknown domain {name!r}: {name!r} is not in the store (it has: {known}); "
                            "load its ontology first", param="domain")
    return dom


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    classes: int
    images: int
    proposals: int
    annotations: dict[str, int]
    # Stored images per language of the queries that found them (one found in two languages
    # counts for both) and per source, as (name, images) in display order.
    languages: list[tuple[str, int]] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)


def domain_status(session: Session) -> list[DomainStatus]:
    """Per domain: classes, stored images, proposals, annotations per review status, and stored
    images per language and per source."""
    out: list[DomainStatus] = []
    for dom in session.scalars(select(Domain).order_by(Domain.name)):
        n_classes = session.scalar(select(func.count()).select_from(OntologyClass).where(OntologyClass.domain_id == dom.id))
        image_ids = (
            select(ImageHit.image_id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
            .join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
            .where(OntologyClass.domain_id == dom.id)
            .distinct()
        )
        n_images = session.scalar(
            select(func.count()).select_from(Image).where(Image.id.in_(image_ids), Image.status == "stored")
        )
        n_props = session.scalar(
            select(func.count()).select_from(Proposal)
            .join(OntologyClass, OntologyClass.id == Proposal.class_id)
            .where(OntologyClass.domain_id == dom.id)
        )
        rows = session.execute(
            select(Annotation.status, func.count())
            .join(OntologyClass, OntologyClass.id == Annotation.class_id)
            .where(OntologyClass.domain_id == dom.id)
            .group_by(Annotation.status)
        ).all()
        out.append(DomainStatus(dom.name, n_classes or 0, n_images or 0, n_props or 0, {s: n for s, n in rows},
                                images_per_language(session, dom.name), images_per_source(session, dom.name)))
    return out


def images_per_class(session: Session, domain: str) -> list[tuple[str, int]]:
    """Stored images per class of ``domain`` (an image found for two classes counts for both)."""
    rows = session.execute(
        select(OntologyClass.name, func.count(func.distinct(Image.id)))
        .join(Domain, Domain.id == OntologyClass.domain_id)
        .join(HarvestQuery, HarvestQuery.class_id == OntologyClass.id)
        .join(ImageHit, ImageHit.query_id == HarvestQuery.id)
        .join(Image, Image.id == ImageHit.image_id)
        .where(Domain.name == domain, Image.status == "stored")
        .group_by(OntologyClass.name)
    ).all()
    return sorted(((name, n) for name, n in rows), key=lambda r: (-r[1], r[0]))


def images_per_language(session: Session, domain: str | None = None) -> list[tuple[str, int]]:
    """Stored images per language of the queries that found them (an image found in two languages
    counts for both), optionally for one domain; languages in the ontology's order."""
    q = (select(HarvestQuery.lang, func.count(func.distinct(Image.id)))
         .join(ImageHit, ImageHit.query_id == HarvestQuery.id)
         .join(Image, Image.id == ImageHit.image_id)
         .where(Image.status == "stored"))
    if domain is not None:
        q = (q.join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
             .join(Domain, Domain.id == OntologyClass.domain_id).where(Domain.name == domain))
    rows = session.execute(q.group_by(HarvestQuery.lang)).all()
    try:
        from ontology import LANGUAGES
    except ImportError:  # pragma: no cover
        LANGUAGES = ()
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    return sorted(((lang, n) for lang, n in rows), key=lambda r: (order.get(r[0], len(order)), r[0]))


def images_per_source(session: Session, domain: str | None = None) -> list[tuple[str, int]]:
    """Stored images per source they were downloaded from, optionally for one domain."""
    q = select(SourceRow.name, func.count(func.distinct(Image.id))).join(Image, Image.source_id == SourceRow.id) \
        .where(Image.status == "stored")
    if domain is not None:
        q = (q.join(ImageHit, ImageHit.image_id == Image.id)
             .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
             .join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
             .join(Domain, Domain.id == OntologyClass.domain_id).where(Domain.name == domain))
    rows = session.execute(q.group_by(SourceRow.name)).all()
    return sorted(((name, n) for name, n in rows), key=lambda r: (-r[1], r[0]))


def images_per_license(session: Session, domain: str | None = None) -> list[tuple[str, int]]:
    """Stored images per normalised license code, optionally for one domain."""
    q = select(Image.license_code, func.count(func.distinct(Image.id))).where(Image.status == "stored")
    if domain is not None:
        q = (
            q.join(ImageHit, ImageHit.image_id == Image.id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
            .join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
            .join(Domain, Domain.id == OntologyClass.domain_id)
            .where(Domain.name == domain)
        )
    rows = session.execute(q.group_by(Image.license_code)).all()
    return sorted(((code, n) for code, n in rows), key=lambda r: (-r[1], r[0]))
