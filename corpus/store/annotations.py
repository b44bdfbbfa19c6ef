"""Writes every stage shares on annotations: a proposal becoming a pending annotation to review.

``corpus annotate`` does it for the first model that sees an image; ``review open`` (and the
COCO Annotator export with ``open_proposals``) does it later for proposals on images nobody has
annotated yet. One writer, so both record the same annotation and the same ``create`` event.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.orm import Session

from corpus import shapes
from corpus.store.models import Annotation, Proposal, ReviewEvent

__all__ = ["snapshot", "open_proposals_as_annotations"]


def snapshot(ann: Annotation) -> dict[str, Any]:
    """The reviewable state of an annotation, as stored in review events."""
    return {
        "status": ann.status,
        "class_id": ann.class_id,
        "bbox": [ann.bbox_x, ann.bbox_y, ann.bbox_w, ann.bbox_h],
        "area": ann.area,
        "segmentation": ann.segmentation,
        "version": ann.version,
    }


def open_proposals_as_annotations(
    session: Session,
    proposals: Sequence[Proposal],
    *,
    who: str,
    origin: str | None = None,
) -> list[Annotation]:
    """A pending annotation per proposal (which must have an id and a class), plus its ``create``
    review event, whose ``after`` is the annotation's snapshot with the proposal's id and score.
    ``origin`` defaults to ``proposal:<model name>``. Flushes; the caller commits."""
    made: list[tuple[Annotation, Proposal]] = []
    for p in proposals:
        ann = Annotation(image_id=p.image_id, class_id=p.class_id, bbox_x=p.bbox_x, bbox_y=p.bbox_y,
                         bbox_w=p.bbox_w, bbox_h=p.bbox_h, segmentation=p.mask_rle if shapes.is_rle(p.mask_rle) else None,
                         area=p.area if p.area is not None else p.bbox_w * p.bbox_h, iscrowd=False,
                         origin="proposal", proposal_id=p.id, status="pending")
        session.add(ann)
        made.append((ann, p))
    session.flush()  # annotation ids and versions
    for ann, p in made:
        session.add(ReviewEvent(annotation_id=ann.id, who=who, action="create", before=None,
                                after={**snapshot(ann), "proposal_id": p.id, "score": p.score},
                                origin=origin or f"proposal:{p.model_name}"))
    session.flush()
    return [ann for ann, _ in made]
