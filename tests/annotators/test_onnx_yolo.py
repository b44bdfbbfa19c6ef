import numpy as np
import pytest

from corpus import masks
from annotators.base import AnnotatorError, load_rgb
from annotators.onnx_yolo import OnnxYoloSeg, detect_layout
from annotators.registry import load_annotator
from tests.annotators import graphs


@pytest.fixture(scope="module")
def yolov5s(yolo_onnx):
    return OnnxYoloSeg(yolo_onnx, score_threshold=0.25)


def _mask_in_box(inst, slack=1):
    box = masks.box_of_mask(inst.mask_array())
    assert box is not None, f"{inst.label} has an empty mask"
    x0, y0, x1, y1 = inst.box
    assert box[0] >= np.floor(x0) - slack and box[1] >= np.floor(y0) - slack
    assert box[2] <= np.ceil(x1) + slack and box[3] <= np.ceil(y1) + slack


@pytest.mark.slow
def test_real_yolov5s_seg_finds_the_bus_and_the_people(yolov5s, assets):
    img = load_rgb(assets / "bus.jpg")
    assert img.shape == (1080, 810, 3)
    (found,) = yolov5s.annotate([img])
    labels = [i.label for i in found]
    assert labels.count("bus") == 1
    assert labels.count("person") >= 3
    bus = next(i for i in found if i.label == "bus")
    assert bus.score > 0.5
    x0, y0, x1, y1 = bus.box
    assert x1 - x0 > 600 and y1 - y0 > 400  # the bus fills most of the photo
    for inst in found:
        _mask_in_box(inst)
        rle = inst.rle()
        assert rle["size"] == [1080, 810]
        m = masks.rle_to_mask(rle)
        assert np.array_equal(masks.rle_to_mask(masks.mask_to_rle(m)), m)
        assert masks.rle_area(rle) == m.sum() == inst.area
        bx, by, bw, bh = inst.box_xywh
        assert inst.area <= bw * bh + bw + bh + 1  # a mask fits in its box
        assert inst.area > 0.2 * bw * bh  # and covers a good part of it


@pytest.mark.slow
def test_real_model_batch_matches_single_images(yolov5s, assets):
    bus, zidane = load_rgb(assets / "bus.jpg"), load_rgb(assets / "zidane.jpg")
    both = yolov5s.annotate([bus, zidane])
    assert len(both) == 2
    assert [i.label for i in both[0]] == [i.label for i in yolov5s.annotate([bus])[0]]
    zl = [i.label for i in both[1]]
    assert zl.count("person") == 2 and "tie" in zl
    assert yolov5s.annotate([]) == []


def test_real_model_identity(yolov5s):
    assert yolov5s.layout == "v5"
    assert yolov5s.name == "onnx-yolo-v5:yolov5s-seg"
    assert yolov5s.version == "sha256:03fee0ad2229b786"  # shared/models/README.md
    assert yolov5s.labels[0] == "person" and len(yolov5s.labels) == 80
    assert yolov5s.params["imgsz"] == [640, 640]


def test_v8_layout_geometry_through_letterbox(tmp_path):
    # A 1280x960 image is letterboxed at ratio 0.5 with 80 px bands top and bottom.
    path = graphs.yolo_v8_seg(tmp_path / "v8.onnx", [(320, 320, 200, 100, 38, 0.9), (100, 200, 50, 50, 0, 0.1)])
    model = OnnxYoloSeg(path, score_threshold=0.25)
    assert model.layout == "v8"
    (found,) = model.annotate([np.zeros((960, 1280, 3), dtype=np.uint8)])
    assert len(found) == 1
    inst = found[0]
    assert inst.label == "tennis racket" and inst.score == pytest.approx(0.9)
    assert inst.box == pytest.approx((440.0, 380.0, 840.0, 580.0))
    m = inst.mask_array()
    assert m.shape == (960, 1280)
    assert masks.box_of_mask(m) == (440.0, 380.0, 840.0, 580.0)
    assert inst.area == 400 * 200


def test_v8_names_come_from_metadata(tmp_path):
    path = graphs.yolo_v8_seg(tmp_path / "m.onnx", [(320, 320, 64, 64, 1, 0.8)], names=["ball", "racket"])
    model = load_annotator(f"onnx:{path}")
    assert model.labels == ["ball", "racket"]
    (found,) = model.annotate([np.zeros((640, 640, 3), np.uint8)])
    assert [i.label for i in found] == ["racket"]


def test_v5_layout_multiplies_objectness(tmp_path):
    path = graphs.yolo_v5_seg(tmp_path / "v5.onnx", [
        (320, 320, 100, 100, 5, 0.9, 0.9),   # bus 0.81
        (100, 100, 40, 40, 0, 0.4, 0.9),     # person 0.36 < 0.5
        (322, 322, 100, 100, 5, 0.9, 0.8),   # overlapping bus: suppressed by NMS
        (330, 330, 100, 100, 0, 0.9, 0.8),   # overlapping, other class: kept (class-aware NMS)
    ])
    model = OnnxYoloSeg(path, score_threshold=0.5)
    assert model.layout == "v5"
    (found,) = model.annotate([np.zeros((640, 640, 3), np.uint8)])
    assert [(i.label, round(i.score, 2)) for i in found] == [("bus", 0.81), ("person", 0.72)]


def test_layout_detection_and_errors(tmp_path):
    assert detect_layout([1, 25200, 117], 32, None) == ("v5", 80, False)
    assert detect_layout([1, 116, 8400], 32, None) == ("v8", 80, True)
    assert detect_layout([1, 38, 8400], 32, 2) == ("v8", 2, True)
    with pytest.raises(AnnotatorError, match="give the class names"):
        detect_layout([1, 8400, 40], 32, None)
    with pytest.raises(AnnotatorError, match="not found"):
        OnnxYoloSeg(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(AnnotatorError, match="cannot load ONNX model"):
        OnnxYoloSeg(bad)
