"""corpus.annotate against a real migrated SQLite store and the real yolov5s-seg model."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from corpus.masks import rle_area, rle_to_mask
from annotators.onnx_yolo import OnnxYoloSeg
from corpus.annotate import AnnotateOptions, UnknownDomain, annotate_domain
from corpus.store import models as m
from corpus.store.db import session_scope
from tests.annotators import graphs


@pytest.fixture(scope="module")
def yolov5s(yolo_onnx):
    return OnnxYoloSeg(yolo_onnx, score_threshold=0.4)


def _count(engine, model, *where):
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.slow
def test_annotate_stores_maps_and_skips_on_rerun(store, yolov5s):
    engine, data, ids = store
    seen = []
    summary = annotate_domain(engine, yolov5s, "testsport", data, AnnotateOptions(batch_size=2),
                              progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert summary.to_do == 4 and summary.annotated == 3
    assert [i for i, _ in summary.failed] == [ids["missing"]]
    assert "missing" in summary.failed[0][1]
    # Person refinement: bus.jpg's four pedestrians and zidane.jpg's two men (similar prominence,
    # no racket anywhere) are not taken for tennis players although harvested as such.
    assert summary.per_class["person"] >= 6 and summary.per_rule["refined"] >= 6
    assert summary.per_class["(unclassified)"] >= 2  # the bus, zidane's tie
    with session_scope(engine) as s:
        done = {a.image_id: a for a in s.scalars(select(m.AnnotatedImage))}
        assert set(done) == {ids["bus"], ids["zidane"], ids["blank"]}
        assert done[ids["blank"]].n_proposals == 0  # recorded although nothing was found
        assert done[ids["bus"]].model_version == "sha256:03fee0ad2229b786"
        assert done[ids["bus"]].params["score_threshold"] == 0.4
        props = list(s.scalars(select(m.Proposal).where(m.Proposal.image_id == ids["bus"])))
        assert len(props) == done[ids["bus"]].n_proposals
        bus = next(p for p in props if p.detector_label == "bus")
        assert bus.class_id is None and bus.params["mapping"] == "unmapped"
        people = [p for p in props if p.detector_label == "person"]
        assert len(people) == 4 and all(p.class_id == ids["person"] and p.params["mapping"] == "refined" for p in people)
        for p in props:
            assert p.mask_rle["size"] == [1080, 810] and isinstance(p.mask_rle["counts"], str)
            assert rle_area(p.mask_rle) == p.area == rle_to_mask(p.mask_rle).sum()
            assert p.model_name == "onnx-yolo-v5:yolov5s-seg"
        anns = list(s.scalars(select(m.Annotation).where(m.Annotation.image_id == ids["bus"])))
        # one pending annotation per classified proposal, linked to it
        assert sorted(a.proposal_id for a in anns) == sorted(p.id for p in people)
        assert all(a.status == "pending" and a.origin == "proposal" and a.class_id == ids["person"] for a in anns)
        assert anns[0].segmentation == next(p.mask_rle for p in people if p.id == anns[0].proposal_id)
        events = list(s.scalars(select(m.ReviewEvent)))
        assert len(events) == summary.annotations and {e.action for e in events} == {"create"}

    n_props = _count(engine, m.Proposal)
    again = annotate_domain(engine, yolov5s, "testsport", data, AnnotateOptions(batch_size=2))
    assert again.already_done == 3 and again.annotated == 0 and again.to_do == 1  # only the missing file is retried
    assert _count(engine, m.Proposal) == n_props
    assert _count(engine, m.AnnotatedImage) == 3


@pytest.mark.slow
def test_second_model_adds_proposals_and_leaves_reviewed_work_alone(store, yolov5s, tmp_path):
    engine, data, ids = store
    first = annotate_domain(engine, yolov5s, "testsport", data, AnnotateOptions(limit=1))
    assert first.annotated == 1  # bus.jpg only
    with session_scope(engine) as s:
        ann = s.scalars(select(m.Annotation).where(m.Annotation.image_id == ids["bus"])).first()
        ann.status, ann.bbox_w, ann.reviewed_by = "accepted", 123.0, "reviewer"
        s.flush()
        reviewed = (ann.id, ann.version)
        n_bus_anns = s.scalar(select(func.count()).select_from(m.Annotation).where(m.Annotation.image_id == ids["bus"]))

    # a second model: a YOLOv8-seg layout graph that finds one person and one tennis racket
    second = OnnxYoloSeg(graphs.yolo_v8_seg(tmp_path / "second.onnx", [(320, 320, 200, 300, 0, 0.9),
                                                                      (320, 300, 50, 50, 38, 0.8)]))
    summary = annotate_domain(engine, second, "testsport", data, AnnotateOptions(batch_size=8))
    assert summary.annotated == 3 and summary.proposals == 6
    assert summary.per_class == {"tennis player": 3, "tennis racket": 3}
    with session_scope(engine) as s:
        a = s.get(m.Annotation, reviewed[0])
        assert (a.status, a.bbox_w, a.version) == ("accepted", 123.0, reviewed[1])
        # bus.jpg had annotations: proposals only; zidane.jpg and the blank one had none: annotations too
        assert s.scalar(select(func.count()).select_from(m.Annotation).where(m.Annotation.image_id == ids["bus"])) == n_bus_anns
        for key in ("zidane", "blank"):
            anns = list(s.scalars(select(m.Annotation).where(m.Annotation.image_id == ids[key])))
            assert len(anns) == 2 and {x.status for x in anns} == {"pending"}
        models = set(s.execute(select(m.Proposal.model_name).distinct()).scalars())
        assert models == {"onnx-yolo-v5:yolov5s-seg", "onnx-yolo-v8:second"}


def test_drop_policy_and_unknown_domain(store, tmp_path):
    engine, data, ids = store
    model = OnnxYoloSeg(graphs.yolo_v8_seg(tmp_path / "m.onnx", [(320, 320, 100, 100, 5, 0.9),  # bus
                                                                  (200, 200, 50, 80, 0, 0.8)]))  # person
    summary = annotate_domain(engine, model, "testsport", data, AnnotateOptions(unmapped="drop", limit=1))
    assert summary.dropped == 1 and summary.proposals == 1 and summary.per_class == {"tennis player": 1}
    with pytest.raises(UnknownDomain, match="'nope' is not in the store.*testsport"):
        annotate_domain(engine, model, "nope", data)


def test_paths_outside_the_data_folder_are_refused(store, tmp_path):
    engine, data, ids = store
    with session_scope(engine) as s:
        s.get(m.Image, ids["zidane"]).local_path = "../../etc/passwd"
    model = OnnxYoloSeg(graphs.yolo_v8_seg(tmp_path / "m.onnx", []))
    summary = annotate_domain(engine, model, "testsport", data)
    reasons = dict(summary.failed)
    assert "outside the data folder" in reasons[ids["zidane"]]
    assert summary.annotated == 2  # bus and blank
