"""Numbers out of range: the library refuses them in its own words, with the value given
("epochs must be at least 1, got -1", ``param="epochs"``), and the CLI adds the flag; never the
option parser's wording ("Input should be greater than or equal to 1") and never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from corpus import Corpus
from corpus.errors import UsageError

runner = CliRunner()
SPORT = ("--domain", "sport")


pytestmark = pytest.mark.usefixtures("wide_console")  # tests/conftest.py


CASES = [
    (("train", "--epochs", "-1"), "epochs must be at least 1, got -1 (--epochs)"),
    (("train", "--imgsz", "16"), "imgsz must be at least 32, got 16 (--imgsz)"),
    (("train", "--batch", "0"), "batch must be at least 1, got 0 (--batch)"),
    (("train", "--min-annotations", "0"), "min_annotations must be at least 1, got 0 (--min-annotations)"),
    (("train", "--patience", "0"), "patience must be at least 1, got 0 (--patience)"),
    (("annotate", *SPORT, "--batch-size", "0"), "batch_size must be at least 1, got 0 (--batch-size)"),
    (("annotate", *SPORT, "--limit", "0"), "limit must be at least 1, got 0 (--limit)"),
    (("annotate", *SPORT, "--score-threshold", "1.5"), "score_threshold must be between 0 and 1, got 1.5 (--score-threshold)"),
    (("annotate", *SPORT, "--iou-threshold", "-0.5"), "iou_threshold must be between 0 and 1, got -0.5 (--iou-threshold)"),
    (("annotate", *SPORT, "--workers", "0"), "workers must be at least 1, got 0 (--workers)"),
    (("annotate", *SPORT, "--gpus-per-worker", "-1"), "gpus_per_worker must be at least 0, got -1 (--gpus-per-worker)"),
    (("export", "coco-annotator", "--chunk", "0", "{out}"), "chunk must be at least 1, got 0 (--chunk)"),
    (("export", "coco-annotator", "--min-score", "2", "{out}"), "min_score must be between 0 and 1, got 2 (--min-score)"),
    (("preview", *SPORT, "--min-score", "nan", "{out}"), "min_score must be between 0 and 1, got nan (--min-score)"),
    (("preview", *SPORT, "--limit", "0", "{out}"), "limit must be at least 1, got 0 (--limit)"),
    (("preview", *SPORT, "--per-class", "0", "{out}"), "per_class must be at least 1, got 0 (--per-class)"),
    (("harvest", *SPORT, "--per-class", "0"), "per_class must be at least 1, got 0 (--per-class)"),
    (("harvest", *SPORT, "--per-language", "0"), "per_language must be at least 1, got 0 (--per-language)"),
    (("harvest", *SPORT, "--min-size", "0"), "min_size must be at least 1, got 0 (--min-size)"),
    (("harvest", *SPORT, "--near-dup-bits", "33"), "near_dup_bits must be between 0 and 32, got 33 (--near-dup-bits)"),
    (("harvest", *SPORT, "--per-page", "501"), "per_page must be between 1 and 500, got 501 (--per-page)"),
    (("harvest", *SPORT, "--download-deadline", "0.5"),
     "download_deadline_s must be at least 1, got 0.5 (--download-deadline)"),
]


@pytest.mark.parametrize("args, expected", CASES, ids=[e.split(" must")[0] + "-" + a[0] for a, e in CASES])
def test_out_of_range_numbers_are_one_clear_line(db_url, tmp_path, args, expected):
    out = tmp_path / "out"
    args = [a.format(out=out) for a in args]
    r = runner.invoke(app, ["--db", db_url, "--data-dir", str(tmp_path / "data"), *args])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 1 and lines == [f"error: {expected}"], r.output
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("method, kwargs, param, message", [
    ("train", {"epochs": -1}, "epochs", "epochs must be at least 1, got -1"),
    ("train", {"batch": 0}, "batch", "batch must be at least 1, got 0"),
    ("annotate", {"domain": "sport", "score_threshold": 2.0}, "score_threshold",
     "score_threshold must be between 0 and 1, got 2"),
    ("harvest", {"domain": "sport", "per_class": 0}, "per_class", "per_class must be at least 1, got 0"),
    ("export_coco_annotator", {"out_dir": "x", "chunk": 0}, "chunk", "chunk must be at least 1, got 0"),
    # A percent for a score: max_score=90 would bulk-accept every pending annotation.
    ("review.accept_matching", {"max_score": 90}, "max_score", "max_score must be between 0 and 1, got 90"),
    ("review.list", {"min_score": -0.1}, "min_score", "min_score must be between 0 and 1, got -0.1"),
])
def test_the_library_names_the_argument(db_url, tmp_path, method, kwargs, param, message):
    with Corpus.open(db_url=db_url, data_dir=tmp_path / "data") as c:
        target = c
        for part in method.split("."):
            target = getattr(target, part)
        with pytest.raises(UsageError) as info:
            target(**kwargs)
    assert str(info.value) == message and info.value.param == param


def test_help_still_says_the_range():
    r = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert r.exit_code == 0 and "at least 1" in " ".join(r.output.split())
