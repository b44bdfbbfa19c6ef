"""torchvision's real maskrcnn_resnet50_fpn_v2 (random weights: none can be fetched here),
checking the conversion that detectron2's Mask R-CNN shares on its real output types."""

import numpy as np
import pytest

from corpus import masks
from annotators.base import AnnotatorError, load_rgb

pytest.importorskip("torchvision", reason="needs the torchvision extra")


@pytest.mark.slow
def test_random_maskrcnn_output_converts(torch_threads, assets):
    from annotators.torchvision import TorchvisionMaskRCNN

    torch_threads.manual_seed(0)
    model = TorchvisionMaskRCNN("random", score_threshold=0.0, min_size=320, max_size=480)
    assert model.labels[0] == "__background__" and "tennis racket" in model.labels
    img = load_rgb(assets / "zidane.jpg")
    (found,) = model.annotate([img])
    assert len(found) > 0
    assert [i.score for i in found] == sorted((i.score for i in found), reverse=True)
    for inst in found[:20]:
        m = inst.mask_array()
        assert m.shape == img.shape[:2] and m.dtype == bool
        box = masks.box_of_mask(m)
        if box is not None:
            x0, y0, x1, y1 = inst.box
            assert box[0] >= np.floor(x0) and box[2] <= np.ceil(x1)
            assert box[1] >= np.floor(y0) and box[3] <= np.ceil(y1)
    # our score threshold applies after the model's own
    model.score_threshold = found[0].score
    assert len(model.annotate([img])[0]) >= 1


def test_missing_weights_file_says_what_to_provide(tmp_path):
    from annotators.torchvision import CHECKPOINT, TorchvisionMaskRCNN

    with pytest.raises(AnnotatorError, match=CHECKPOINT.replace(".", r"\.")):
        TorchvisionMaskRCNN(str(tmp_path / "none.pth"))


def test_wrong_state_dict_is_refused(tmp_path, torch_threads):
    from annotators.torchvision import TorchvisionMaskRCNN

    bad = tmp_path / "bad.pth"
    torch_threads.save({"conv.weight": torch_threads.zeros(1)}, bad)
    with pytest.raises(AnnotatorError, match="not a maskrcnn_resnet50_fpn_v2"):
        TorchvisionMaskRCNN(str(bad))
