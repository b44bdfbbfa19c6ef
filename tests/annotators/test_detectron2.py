"""detectron2 has no wheel for our Python and builds only from its source repository: its
adapter is tested where it imports; elsewhere we check the clear error its absence gives."""

import importlib.util

import numpy as np
import pytest

from annotators.base import AnnotatorError

HAVE_D2 = importlib.util.find_spec("detectron2") is not None


@pytest.mark.skipif(HAVE_D2, reason="detectron2 is installed; the missing-package error cannot happen")
def test_missing_detectron2_error_says_how_to_install():
    from annotators.registry import load_annotator

    with pytest.raises(AnnotatorError, match="detectron2 is not installed.*install it from source"):
        load_annotator("detectron2")


@pytest.mark.skipif(not HAVE_D2, reason="detectron2 is not installed (no PyPI wheel; build it from its source "
                    "repository, see docs/annotate.md)")
def test_detectron2_instances_convert():
    import torch
    from detectron2.structures import Boxes, Instances

    from annotators.detectron2 import detectron2_instances_to_instances

    inst = Instances((40, 50))
    inst.pred_boxes = Boxes(torch.tensor([[5.0, 6.0, 20.0, 30.0]]))
    inst.scores = torch.tensor([0.95])
    inst.pred_classes = torch.tensor([38])
    m = torch.zeros((1, 40, 50), dtype=torch.bool)
    m[0, 0:40, 0:50] = True
    inst.pred_masks = m
    (out,) = detectron2_instances_to_instances(inst, __import__("annotators.base").base.COCO80)
    assert out.label == "tennis racket" and out.score == pytest.approx(0.95)
    assert out.area == 15 * 24
    assert np.asarray(out.mask).shape == (40, 50)
