"""How good were the proposals? COCOeval of each model's proposals against reviewed truth.

Truth is what reviewers kept: annotations with status accepted or edited, on images whose review
is finished (no pending annotation of the domain left; an image whose every proposal was rejected
counts, with no truth on it). Per model (name + version), on the reviewed images it processed:
AP, AP50, AP75 and AR@100 for boxes and masks, class-aware and class-agnostic, AP per class, and
the share of its proposals reviewers kept unchanged (accepted as is, not edited, not rejected).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from corpus.instances import Instance
from corpus.coco.categories import domain_categories, resolve_domain
from corpus.store.models import AnnotatedImage, Annotation, Image, ImageReview, Proposal

METRICS = ("AP", "AP50", "AP75", "AR100")
_STAT_INDEX = {"AP": 0, "AP50": 1, "AP75": 2, "AR100": 8}


@dataclass
class ClassScore:
    name: str
    category_id: int
    gt: int
    proposals: int
    ap_bbox: float | None
    ap_segm: float | None


@dataclass
class ModelEvaluation:
    model_name: str
    model_version: str
    images: int
    truth: int
    proposals: int
    bbox: dict[str, float | None] = field(default_factory=dict)
    segm: dict[str, float | None] = field(default_factory=dict)
    bbox_agnostic: dict[str, float | None] = field(default_factory=dict)
    segm_agnostic: dict[str, float | None] = field(default_factory=dict)
    per_class: list[ClassScore] = field(default_factory=list)
    reviewed: dict[str, int] = field(default_factory=dict)  # status -> proposals' annotations

    @property
    def kept_unchanged(self) -> float | None:
        n = sum(self.reviewed.get(s, 0) for s in ("accepted", "edited", "rejected"))
        return self.reviewed.get("accepted", 0) / n if n else None

    @property
    def label(self) -> str:
        return f"{self.model_name}@{self.model_version[:12]}"


def _coco(images: list[dict], cats: list[dict], anns: list[dict]):
    from pycocotools.coco import COCO

    c = COCO()
    c.dataset = {"images": images, "categories": cats, "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        c.createIndex()
    return c


def _run(gt, dt, iou_type: str, agnostic: bool) -> tuple[dict[str, float | None], Any]:
    from pycocotools.cocoeval import COCOeval

    if not gt.dataset["annotations"] and not dt.dataset["annotations"]:
        return {k: None for k in METRICS}, None
    ev = COCOeval(gt, dt, iou_type)
    ev.params.imgIds = sorted(gt.getImgIds())
    if agnostic:
        ev.params.useCats = 0
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: (None if ev.stats[i] < 0 else float(ev.stats[i])) for k, i in _STAT_INDEX.items()}, ev


def _per_class_ap(ev, cat_ids: list[int]) -> dict[int, float | None]:
    if ev is None:
        return {}
    prec = ev.eval["precision"]  # [T, R, K, A, M]
    out: dict[int, float | None] = {}
    for k, cid in enumerate(ev.params.catIds):
        p = prec[:, :, k, 0, -1]
        p = p[p > -1]
        out[cid] = float(np.mean(p)) if p.size else None
    return out


def reviewed_images(session: Session, class_ids: list[int]) -> set[int]:
    """Images with at least one annotation of the domain and none still pending."""
    has = set(session.scalars(select(Annotation.image_id).distinct().where(Annotation.class_id.in_(class_ids))))
    pending = set(session.scalars(select(Annotation.image_id).distinct().where(
        Annotation.class_id.in_(class_ids), Annotation.status == "pending")))
    return has - pending


def evaluate(engine: Engine, domain: str | None = None, models: list[str] | None = None,
             images: Collection[int] | None = None, done_only: bool = False) -> list[ModelEvaluation]:
    """One :class:`ModelEvaluation` per model that made proposals in the domain; with ``images``,
    on those images only (e.g. the ones a trained model held out: ``trained_models.held_out_images``).

    Truth comes from images whose review is finished: by default those with no pending
    annotation left; with ``done_only``, the images a reviewer marked done (pending leftovers
    there are not truth)."""
    with Session(engine) as session:
        dom = resolve_domain(session, domain)
        cats = domain_categories(session, dom)
        class_ids = [c.class_id for c in cats]
        cat_entries = [{"id": c.class_id, "name": c.name} for c in cats]
        if done_only:  # the reviewer's word, pending leftovers or not (they are not truth)
            done = set(session.scalars(select(Annotation.image_id).distinct().where(
                Annotation.class_id.in_(class_ids),
                Annotation.image_id.in_(select(ImageReview.image_id).where(ImageReview.done.is_(True))))))
        else:
            done = reviewed_images(session, class_ids)
        if images is not None:
            done &= set(images)
        pairs = session.execute(
            select(Proposal.model_name, Proposal.model_version).where(Proposal.class_id.in_(class_ids))
            .group_by(Proposal.model_name, Proposal.model_version).order_by(Proposal.model_name, Proposal.model_version)
        ).all()
        results = []
        for name, version in pairs:
            if models and name not in models and f"{name}@{version}" not in models:
                continue
            ran = set(session.scalars(select(AnnotatedImage.image_id).where(
                AnnotatedImage.model_name == name, AnnotatedImage.model_version == version)))
            ran |= set(session.scalars(select(Proposal.image_id).distinct().where(
                Proposal.model_name == name, Proposal.model_version == version)))
            img_ids = sorted(done & ran)
            imgs = [{"id": i, "width": w or 1, "height": h or 1} for i, w, h in session.execute(
                select(Image.id, Image.width, Image.height).where(Image.id.in_(img_ids)))]
            size = {im["id"]: (im["width"], im["height"]) for im in imgs}
            truth = []
            for a in session.scalars(select(Annotation).where(
                    Annotation.image_id.in_(img_ids), Annotation.class_id.in_(class_ids),
                    Annotation.status.in_(("accepted", "edited")))):
                # Ground truth as the export writes it (checked, area from the mask, box = its
                # bounds), kept as stored (RLE or polygons).
                entry, _ = Instance.from_annotation(a).coco(*size[a.image_id], "any", category_id=a.class_id)
                if entry is not None:
                    truth.append(entry)
            dets = []
            for p in session.scalars(select(Proposal).where(
                    Proposal.image_id.in_(img_ids), Proposal.model_name == name, Proposal.model_version == version)):
                # A detection's box is what the model predicted (box AP scores that); its mask and
                # area are the mask's.
                entry, _ = Instance.from_proposal(p).coco(*size[p.image_id], "any", category_id=p.class_id or 0,
                                                          prediction=True)
                if entry is not None:
                    dets.append(entry)
            gt = _coco(imgs, cat_entries, truth)
            dt_ = _coco(imgs, cat_entries, dets)
            me = ModelEvaluation(name, version, len(img_ids), len(truth), len(dets))
            me.bbox, ev_bbox = _run(gt, dt_, "bbox", False)
            me.segm, ev_segm = _run(gt, dt_, "segm", False)
            me.bbox_agnostic, _ = _run(gt, dt_, "bbox", True)
            me.segm_agnostic, _ = _run(gt, dt_, "segm", True)
            ap_b, ap_s = _per_class_ap(ev_bbox, class_ids), _per_class_ap(ev_segm, class_ids)
            n_gt = {c: 0 for c in class_ids}
            n_dt = {c: 0 for c in class_ids}
            for t in truth:
                n_gt[t["category_id"]] += 1
            for d in dets:
                if d["category_id"] in n_dt:
                    n_dt[d["category_id"]] += 1
            me.per_class = [ClassScore(c.name, c.id, n_gt[c.class_id], n_dt[c.class_id], ap_b.get(c.class_id),
                                       ap_s.get(c.class_id)) for c in cats if n_gt[c.class_id] or n_dt[c.class_id]]
            rows = session.execute(
                select(Annotation.status, Annotation.id).join(Proposal, and_(
                    Proposal.id == Annotation.proposal_id, Proposal.model_name == name,
                    Proposal.model_version == version)).where(Annotation.class_id.in_(class_ids))
            ).all()
            for status, _ in rows:
                me.reviewed[status] = me.reviewed.get(status, 0) + 1
            results.append(me)
    return results


def plot(results: list[ModelEvaluation], path: Path) -> Path:
    """Bars per model (AP for boxes and masks, class-aware and agnostic, share kept) and AP per
    class; written as PNG with the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    groups = [("box AP", lambda r: r.bbox["AP"]), ("mask AP", lambda r: r.segm["AP"]),
              ("box AP agn.", lambda r: r.bbox_agnostic["AP"]), ("mask AP agn.", lambda r: r.segm_agnostic["AP"]),
              ("kept unchanged", lambda r: r.kept_unchanged)]
    width = 0.8 / max(1, len(results))
    x = np.arange(len(groups))
    for i, r in enumerate(results):
        vals = [g(r) or 0.0 for _, g in groups]
        ax1.bar(x + i * width, vals, width, label=r.label)
    ax1.set_xticks(x + width * (len(results) - 1) / 2, [g for g, _ in groups], rotation=20)
    ax1.set_ylim(0, 1)
    ax1.set_title("Proposals against reviewed truth")
    ax1.legend(fontsize=8)
    names = sorted({c.name for r in results for c in r.per_class})
    y = np.arange(len(names))
    height = 0.8 / max(1, len(results))
    for i, r in enumerate(results):
        by = {c.name: c.ap_bbox or 0.0 for c in r.per_class}
        ax2.barh(y + i * height, [by.get(n, 0.0) for n in names], height, label=r.label)
    ax2.set_yticks(y + height * (len(results) - 1) / 2, names, fontsize=8)
    ax2.set_xlim(0, 1)
    ax2.set_title("Box AP per class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
