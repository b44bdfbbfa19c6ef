# The real model and photos, and an offline ultralytics, as the annotator tests have them.
from tests.annotators.conftest import assets, yolo_onnx  # noqa: F401
