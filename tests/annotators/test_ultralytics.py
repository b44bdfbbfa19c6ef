"""The ultralytics backend on a real YOLO11-seg network built from its yaml (random weights:
no pretrained weights can be fetched here), checking our conversion of its real Results."""

import numpy as np
import pytest

from corpus import masks
from annotators.base import AnnotatorError, load_rgb

pytest.importorskip("ultralytics", reason="needs the yolo extra (pip install 'mic-corpus[yolo]')")


@pytest.fixture(scope="module")
def model(torch_threads):
    from annotators.ultralytics import UltralyticsYoloSeg

    torch = torch_threads
    torch.manual_seed(0)
    model = UltralyticsYoloSeg("yolo11n-seg.yaml", score_threshold=0.0, imgsz=640, max_det=20)
    # Random class logits sit near -9 (ultralytics' prior for rare objects) and give no detections;
    # raising the class biases makes the untrained network produce real Results to convert.
    with torch.no_grad():
        for branch in model.model.model.model[-1].cv3:
            branch[-1].bias.fill_(1.0)
    return model


@pytest.mark.slow
def test_real_results_convert_to_instances(model, assets):
    img = load_rgb(assets / "bus.jpg")
    (found,) = model.annotate([img])
    assert model.name == "ultralytics:yolo11n-seg"
    assert model.version.startswith("random:")
    assert model.labels[:2] == ["person", "bicycle"] and len(model.labels) == 80
    assert 0 < len(found) <= 20
    scores = [i.score for i in found]
    assert scores == sorted(scores, reverse=True)
    for inst in found:
        assert inst.label in model.labels
        m = inst.mask_array()
        assert m.shape == img.shape[:2] and m.dtype == bool
        box = masks.box_of_mask(m)
        if box is not None:  # random weights may give empty masks; any pixel must be inside the box
            x0, y0, x1, y1 = inst.box
            assert box[0] >= np.floor(x0) and box[2] <= np.ceil(x1)
            assert box[1] >= np.floor(y0) and box[3] <= np.ceil(y1)
        assert masks.rle_area(inst.rle()) == m.sum()


@pytest.mark.slow
def test_batch_gives_one_list_per_image(model, assets):
    imgs = [load_rgb(assets / "zidane.jpg"), np.zeros((200, 300, 3), np.uint8)]
    out = model.annotate(imgs)
    assert len(out) == 2
    assert all(i.mask_array().shape == (200, 300) for i in out[1])


def test_offline_error_names_the_file(tmp_path, monkeypatch):
    from annotators.ultralytics import UltralyticsYoloSeg

    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnnotatorError, match=r"yolo11x-seg\.pt.*model=/path/to/yolo11x-seg\.pt"):
        UltralyticsYoloSeg("yolo11x-seg.pt")
    with pytest.raises(AnnotatorError, match="not found"):
        UltralyticsYoloSeg(str(tmp_path / "nowhere" / "best.pt"))


def test_cli_names_the_model_flag_for_weights_it_cannot_fetch(store, db_url, tmp_path, monkeypatch):
    """The library's message speaks of the ``model`` argument; the CLI's rendering of the same error
    names ``--model`` with the path to give (the assertion the library test had before it lost the flag)."""
    import re

    from typer.testing import CliRunner

    from cli import app

    _, data, _ = store
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["--db", db_url, "--data-dir", str(data), "annotate", "--domain", "testsport",
                                 "--model", "yolo11x-seg.pt"], terminal_width=300)
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "Traceback" not in text, text
    assert re.search(r"yolo11x-seg\.pt.*--model /path/to/yolo11x-seg\.pt", text), text
