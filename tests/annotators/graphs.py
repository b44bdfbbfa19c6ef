"""Small ONNX graphs with real detector output layouts, built with onnx.helper for the tests.

Each graph takes an image tensor and returns fixed tensors (plus 0 x the input's sum, so the input
is really consumed): a test knows exactly which instances a correct decoder must find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COCO_NC = 80


def _graph(path: Path, input_shape: list[int], outputs: dict[str, np.ndarray], opset: int = 17) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceSum", ["images"], ["sum"], keepdims=0),
        helper.make_node("Mul", ["sum", "zero"], ["nothing"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, "layout", [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
                              outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def yolo_v8_seg(path: Path, detections: list[tuple[float, float, float, float, int, float]], nm: int = 4,
                n: int = 64, names: list[str] | None = None) -> Path:
    """YOLOv8/11-seg layout: output0 ``[1, 4+nc+nm, n]`` channels first, protos ``[1, nm, 160, 160]``.

    ``detections``: (cx, cy, w, h, class, score) in the 640 input; each uses prototype 0 (all +10),
    so its mask is its whole box.
    """
    nc = len(names) if names else COCO_NC
    pred = np.zeros((4 + nc + nm, n), dtype=np.float32)
    pred[0:4, :] = 10.0  # harmless tiny boxes with score 0 for the other candidates
    for i, (cx, cy, w, h, cls, score) in enumerate(detections):
        pred[0:4, i] = (cx, cy, w, h)
        pred[4 + cls, i] = score
        pred[4 + nc, i] = 1.0
    protos = np.zeros((1, nm, 160, 160), dtype=np.float32)
    protos[0, 0] = 10.0
    _graph(path, [1, 3, 640, 640], {"output0": pred[None], "protos": protos})
    if names:
        import onnx

        model = onnx.load(str(path))
        entry = model.metadata_props.add()
        entry.key, entry.value = "names", repr(dict(enumerate(names)))
        onnx.save(model, str(path))
    return path


def yolo_v5_seg(path: Path, detections: list[tuple[float, float, float, float, int, float, float]], nm: int = 4,
                n: int = 64) -> Path:
    """YOLOv5/v7-seg layout: output0 ``[1, n, 5+80+nm]``; (cx, cy, w, h, class, objectness, class score)."""
    pred = np.zeros((n, 5 + COCO_NC + nm), dtype=np.float32)
    for i, (cx, cy, w, h, cls, obj, score) in enumerate(detections):
        pred[i, 0:5] = (cx, cy, w, h, obj)
        pred[i, 5 + cls] = score
        pred[i, 5 + COCO_NC] = 1.0
    protos = np.zeros((1, nm, 160, 160), dtype=np.float32)
    protos[0, 0] = 10.0
    return _graph(path, [1, 3, 640, 640], {"output0": pred[None], "protos": protos})


def yolact(path: Path, detections: list[tuple[float, float, float, float, int, float]], k: int = 4, p: int = 20,
           n: int = 16, names: tuple[str, ...] = ("loc", "conf", "mask", "priors", "proto")) -> Path:
    """YOLACT layout: loc ``[1,n,4]``, conf ``[1,n,81]`` (col 0 background), mask ``[1,n,k]``,
    priors ``[n,4]``, proto ``[1,p,p,k]``. ``detections``: (cx, cy, w, h) in 0..1, class, score;
    their loc offsets are zero, so the boxes are the priors; prototype 0 is +10 everywhere."""
    loc = np.zeros((1, n, 4), dtype=np.float32)
    conf = np.zeros((1, n, COCO_NC + 1), dtype=np.float32)
    conf[0, :, 0] = 1.0
    coef = np.zeros((1, n, k), dtype=np.float32)
    priors = np.tile(np.array([[0.5, 0.5, 0.01, 0.01]], dtype=np.float32), (n, 1))
    for i, (cx, cy, w, h, cls, score) in enumerate(detections):
        priors[i] = (cx, cy, w, h)
        conf[0, i, 0] = 1 - score
        conf[0, i, 1 + cls] = score
        coef[0, i, 0] = 1.0
    proto = np.zeros((1, p, p, k), dtype=np.float32)
    proto[..., 0] = 10.0
    values = dict(zip(names, (loc, conf, coef, priors, proto)))
    return _graph(path, [1, 3, 550, 550], values)
