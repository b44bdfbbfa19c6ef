"""Writes every stage shares: an instance becoming a proposal row, and a proposal becoming a
pending annotation to review.

``corpus annotate`` (local and Ray) writes each mapped :class:`~corpus.instances.Instance` with
:func:`proposal_row`, and opens the first model's proposals on an image for review; ``review
open`` (and the COCO Annotator export with ``open_proposals``) opens proposals later on images
nobody has annotated yet. One writer each, so all record the same rows and the same ``create``
event. Reading goes the other way through ``Instance.from_proposal`` / ``from_annotation``.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.orm import Session

from corpus import masks
from corpus.instances import Instance
from corpus.store.models import Annotation, Proposal, ReviewEvent

__all__ = ["snapshot", "proposal_row", "open_proposals_as_annotations"]


def proposal_row(inst: Instance, *, image_id: int, class_id: int | None, model_name: str, model_version: str,
                 params: dict[str, Any]) -> Proposal:
    """The stored proposal of a detected instance: its box, its mask as RLE and the mask's area
    (so exports need not rasterise it again), with the model that proposed it."""
    x, y, w, h = inst.box_xywh
    return Proposal(
        image_id=image_id, class_id=class_id, detector_label=inst.label[:64], model_name=model_name,
        model_version=model_version, params=params, score=float(inst.score if inst.score is not None else 0.0),
        bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h, mask_rle=inst.rle(), area=inst.area,
    )


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
        inst = Instance.from_proposal(p)
        x, y, w, h = inst.box_xywh
        ann = Annotation(image_id=inst.image_id, class_id=inst.class_id, bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h,
                         segmentation=inst.mask if masks.is_rle(inst.mask) else None,
                         area=inst.area if masks.is_rle(inst.mask) else w * h, iscrowd=False,
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
