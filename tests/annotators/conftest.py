"""Fixtures for the annotator tests: the real ONNX model, real photos, an offline ultralytics."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# ultralytics must never reach the network here and needs its fonts locally (it would download
# Arial.ttf); set before any test imports it.
_YOLO_DIR = Path(tempfile.gettempdir()) / "mic-corpus-yolo-config"
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", str(_YOLO_DIR))


def _fonts() -> None:
    target = Path(os.environ["YOLO_CONFIG_DIR"])
    target.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib
    except ImportError:
        return
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if font.is_file() and not (target / name).exists():
            shutil.copyfile(font, target / name)


_fonts()


@pytest.fixture(scope="session")
def yolo_onnx(shared_dir) -> Path:
    """The real COCO yolov5s-seg ONNX model (shared/models/README.md)."""
    path = Path(os.environ.get("CORPUS_TEST_ONNX_MODEL", shared_dir / "models" / "yolov5s-seg.onnx"))
    if not path.is_file():
        pytest.fail(f"test model {path} not found; set CORPUS_TEST_ONNX_MODEL or provide ../shared/models/")
    return path


@pytest.fixture(scope="session")
def assets() -> Path:
    """Real photos shipped inside the ultralytics package (bus.jpg, zidane.jpg)."""
    ultralytics = pytest.importorskip("ultralytics", reason="the sample photos ship with ultralytics (the yolo extra)")
    path = Path(ultralytics.__file__).parent / "assets"
    if not (path / "bus.jpg").is_file():
        pytest.fail(f"{path}/bus.jpg not found in the installed ultralytics package")
    return path


@pytest.fixture(scope="session")
def torch_threads():
    torch = pytest.importorskip("torch", reason="needs the torchvision extra")
    torch.set_num_threads(2)
    return torch
