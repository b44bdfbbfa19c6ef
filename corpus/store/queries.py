"""Read-only queries shared by commands (counts, summaries)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus.store.models import Annotation, Domain, HarvestQuery, Image, ImageHit, OntologyClass, Proposal


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    classes: int
    images: int
    proposals: int
    annotations: dict[str, int]


def domain_status(session: Session) -> list[DomainStatus]:
    """Per domain: classes, stored images, proposals and annotations per review status."""
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
        out.append(DomainStatus(dom.name, n_classes or 0, n_images or 0, n_props or 0, {s: n for s, n in rows}))
    return out
