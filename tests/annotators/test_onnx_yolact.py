import numpy as np
import pytest

from corpus import masks
from annotators.base import AnnotatorError
from annotators.onnx_yolact import OnnxYolact, decode_boxes, identify_outputs
from annotators.registry import load_annotator
from tests.annotators import graphs


def test_decoder_on_a_yolact_layout_graph(tmp_path):
    path = graphs.yolact(tmp_path / "yolact.onnx", [
        (0.5, 0.5, 0.5, 0.25, 0, 0.9),      # person, centre, half the width, a quarter of the height
        (0.2, 0.2, 0.1, 0.1, 38, 0.6),      # tennis racket
        (0.505, 0.5, 0.5, 0.25, 0, 0.8),    # duplicate person: NMS removes it
        (0.8, 0.8, 0.1, 0.1, 32, 0.1),      # sports ball below the threshold
    ])
    model = load_annotator(str(path), score_threshold=0.3)  # sniffed as YOLACT by its outputs
    assert isinstance(model, OnnxYolact)
    assert model.input_hw == (550, 550)
    img = np.zeros((400, 800, 3), dtype=np.uint8)  # not square: YOLACT does not keep the ratio
    (found,) = model.annotate([img])
    assert [(i.label, round(i.score, 2)) for i in found] == [("person", 0.9), ("tennis racket", 0.6)]
    person = found[0]
    assert person.box == pytest.approx((200.0, 150.0, 600.0, 250.0))
    m = person.mask_array()
    assert m.shape == (400, 800)
    assert masks.box_of_mask(m) == (200.0, 150.0, 600.0, 250.0)
    assert person.area == 400 * 100
    assert found[1].box == pytest.approx((120.0, 60.0, 200.0, 100.0))


def test_outputs_found_by_shape_when_unnamed(tmp_path):
    path = graphs.yolact(tmp_path / "y.onnx", [(0.5, 0.5, 0.2, 0.2, 2, 0.7)], names=("a", "b", "c", "d", "e"))
    model = OnnxYolact(path)
    assert model.roles == {"loc": "a", "conf": "b", "mask": "c", "priors": "d", "proto": "e"}
    (found,) = model.annotate([np.zeros((100, 100, 3), np.uint8)])
    assert [i.label for i in found] == ["car"]


def test_identify_outputs_errors():
    with pytest.raises(AnnotatorError, match="cannot find YOLACT outputs"):
        identify_outputs([("x", [1, 10, 4]), ("p", [1, 20, 20, 4])])


def test_box_decoding_matches_yolact():
    priors = np.array([[0.5, 0.5, 0.2, 0.4]])
    loc = np.array([[1.0, -1.0, np.log(2) / 0.2, 0.0]])
    # cx = .5 + 1*.1*.2 = .52, cy = .5 - .1*.4 = .46, w = .2*2 = .4, h = .4
    assert decode_boxes(loc, priors)[0] == pytest.approx([0.32, 0.26, 0.72, 0.66])
