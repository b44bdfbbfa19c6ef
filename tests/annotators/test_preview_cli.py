"""`corpus annotate` and `corpus preview` end to end through the CLI, on a real store."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import func, select
from typer.testing import CliRunner

from corpus.store import models as m
from corpus.store.db import session_scope
from tests.annotators import graphs


def _cli(*args):
    from cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_annotate_then_preview(store, tmp_path):
    engine, data, ids = store
    db = str(engine.url)
    model = graphs.yolo_v8_seg(tmp_path / "toy.onnx", [(320, 320, 200, 300, 0, 0.9), (320, 300, 50, 50, 38, 0.8),
                                                      (320, 330, 60, 60, 5, 0.7)])
    res = _cli("--db", db, "--data-dir", str(data), "annotate", "--domain", "testsport", "--model", f"onnx:{model}",
               "--batch-size", "2")
    assert res.exit_code == 0, res.output
    assert "images annotated" in res.output and "tennis player" in res.output and "failed" in res.output
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Proposal)) == 9
    again = _cli("--db", db, "--data-dir", str(data), "annotate", "--domain", "testsport", "--model", f"onnx:{model}")
    assert again.exit_code == 0 and "skipped (done before)" in again.output

    out = tmp_path / "previews"
    res = _cli("--db", db, "--data-dir", str(data), "preview", "--domain", "testsport", str(out))
    assert res.exit_code == 0, res.output
    pngs = sorted(p.name for p in (out / "images").glob("*.png"))
    assert pngs == sorted(f"{ids[k]}.png" for k in ("bus", "zidane", "blank"))
    sheets = sorted(p.name for p in (out / "classes").glob("*.png"))
    assert sheets == ["tennis_player.png", "tennis_racket.png", "unclassified.png"]
    drawn = np.asarray(PILImage.open(out / "images" / f"{ids['blank']}.png"))
    assert drawn.shape == (240, 320, 3) and drawn.any()  # the black picture got coloured masks
    sheet = PILImage.open(out / "classes" / "tennis_player.png")
    assert sheet.width > 3 * 160  # three tiles side by side


def test_cli_errors_are_clear(store, tmp_path):
    engine, data, _ = store
    db = str(engine.url)
    res = CliRunner().invoke(__import__("cli").app, ["--db", db, "annotate", "--domain", "testsport", "--model",
                                                    str(tmp_path / "nope.onnx")])
    assert res.exit_code == 1 and "not found" in res.output
    model = graphs.yolo_v8_seg(tmp_path / "toy.onnx", [])
    res = CliRunner().invoke(__import__("cli").app, ["--db", db, "annotate", "--domain", "nope", "--model", str(model)])
    assert res.exit_code == 1 and "not in the store" in res.output
    res = CliRunner().invoke(__import__("cli").app, ["--db", db, "preview", "--domain", "nope", str(tmp_path / "o")])
    assert res.exit_code == 1 and "not in the store" in res.output


def test_a_mask_of_another_size_draws_the_box_alone():
    from corpus.masks import mask_to_rle
    from corpus.instances import Instance
    from corpus.preview import _tile, draw_items

    img = np.full((60, 80, 3), 100, dtype=np.uint8)
    wrong = np.zeros((10, 10), dtype=bool)
    wrong[2:8, 2:8] = True
    item = Instance("person", 0.9, (5.0, 5.0, 25.0, 35.0), mask_to_rle(wrong), id=1, image_id=1, class_name="tennis player")
    out = draw_items(img, [item])
    assert out.shape == img.shape and (out != img).any()  # the box and caption are drawn
    assert _tile(img, item, 64).shape == (64 + 18, 64, 3)


def test_per_class_below_one_is_a_clear_error(tmp_path):
    import pytest

    from corpus.preview import write_previews
    from corpus.store.db import make_engine

    with pytest.raises(ValueError, match="per_class must be at least 1"):
        write_previews(make_engine(f"sqlite:///{tmp_path / 'x.db'}"), "sport", tmp_path, tmp_path, per_class=0)
