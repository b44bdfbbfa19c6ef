import pytest

from annotators.base import Annotator, AnnotatorError
from annotators.registry import load_annotator, resolve


def test_resolve_forms():
    assert resolve("yolo11n-seg.pt") == ("ultralytics", "yolo11n-seg.pt")
    assert resolve("/m/yolov8x-seg.yaml") == ("ultralytics", "/m/yolov8x-seg.yaml")
    assert resolve("/m/yolov5s-seg.onnx") == ("onnx", "/m/yolov5s-seg.onnx")
    assert resolve("onnx-yolact:/m/y.onnx") == ("onnx-yolact", "/m/y.onnx")
    assert resolve("torchvision") == ("torchvision", "")
    assert resolve("torchvision:/m/w.pth") == ("torchvision", "/m/w.pth")
    assert resolve("/m/w.pth") == ("torchvision", "/m/w.pth")
    assert resolve("detectron2:COCO-InstanceSegmentation/x.yaml@/w.pkl") == (
        "detectron2", "COCO-InstanceSegmentation/x.yaml@/w.pkl")
    with pytest.raises(AnnotatorError, match="which backend"):
        resolve("something")


def test_real_onnx_model_through_the_registry(yolo_onnx):
    model = load_annotator(f"onnx:{yolo_onnx}", score_threshold=0.6, iou_threshold=0.5)
    assert isinstance(model, Annotator)
    assert model.params["score_threshold"] == 0.6 and model.params["iou_threshold"] == 0.5


def test_missing_onnx_file(tmp_path):
    with pytest.raises(AnnotatorError, match="not found"):
        load_annotator(str(tmp_path / "x.onnx"))
