import json

import numpy as np
import pytest
from pycocotools import mask as coco

from corpus import masks
from annotators.base import Instance, instances_from_arrays


def _random_mask(rng, h=61, w=83):
    m = np.zeros((h, w), dtype=bool)
    m[10:40, 5:50] = True
    m[20:30, 20:30] = False  # a hole
    m |= rng.random((h, w)) > 0.97
    return m


def test_rle_round_trip_is_exact_and_json():
    rng = np.random.default_rng(0)
    m = _random_mask(rng)
    rle = masks.mask_to_rle(m)
    assert rle["size"] == [61, 83] and isinstance(rle["counts"], str)
    back = masks.rle_to_mask(json.loads(json.dumps(rle)))
    assert back.dtype == bool and np.array_equal(back, m)
    assert masks.rle_area(rle) == m.sum()
    # pycocotools itself reads what we store
    assert coco.area({"size": rle["size"], "counts": rle["counts"].encode()}) == m.sum()


def test_uncompressed_rle_is_read():
    m = np.zeros((4, 5), dtype=bool)
    m[1:3, 2:4] = True
    # column-major run lengths, as COCO iscrowd annotations store them
    flat = m.flatten(order="F")
    counts, cur, run = [], False, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    assert np.array_equal(masks.rle_to_mask({"size": [4, 5], "counts": counts}), m)


def test_bbox_polygons_and_back():
    m = np.zeros((50, 60), dtype=bool)
    m[10:30, 15:45] = True
    assert masks.rle_to_bbox(masks.mask_to_rle(m)) == (15.0, 10.0, 30.0, 20.0)
    assert masks.box_of_mask(m) == (15.0, 10.0, 45.0, 30.0)
    assert masks.box_of_mask(np.zeros((3, 3), bool)) is None
    polys = masks.mask_to_polygons(m)
    assert len(polys) == 1
    back = masks.rle_to_mask(masks.polygons_to_rle(polys, 50, 60))
    # polygon rasterisation differs from the pixel mask by at most the boundary
    assert abs(int(back.sum()) - int(m.sum())) <= 2 * (20 + 30)
    assert (back & m).sum() >= 0.9 * m.sum()


def test_mask_must_be_2d():
    with pytest.raises(ValueError, match="2-D"):
        masks.mask_to_rle(np.zeros((2, 2, 2)))


def test_instance_converts_between_array_and_rle():
    m = np.zeros((20, 30), dtype=bool)
    m[2:8, 3:9] = True
    a = Instance("person", 0.9, (3.0, 2.0, 9.0, 8.0), m)
    r = Instance("person", 0.9, (3.0, 2.0, 9.0, 8.0), a.rle())
    assert a.area == r.area == 36
    assert np.array_equal(r.mask_array(), m)
    assert a.box_xywh == (3.0, 2.0, 6.0, 6.0)
    assert Instance("x", 1.0, (0, 0, 2, 3)).area == 6


def test_instances_from_arrays_sorts_thresholds_and_crops():
    masks_prob = np.zeros((2, 1, 20, 20), dtype=np.float32)
    masks_prob[:, 0, 0:20, 0:20] = 0.9  # the whole image: must be cut to each box
    boxes = np.array([[2, 2, 10, 10], [-5, 0, 30, 12]], dtype=np.float32)
    out = instances_from_arrays(boxes, [0.4, 0.8], [1, 0], masks_prob, ["a", "b"], score_threshold=0.3)
    assert [i.label for i in out] == ["a", "b"]  # best score first
    assert out[0].box == (0.0, 0.0, 20.0, 12.0)  # clipped to the image
    assert out[1].area == 64
    assert masks.box_of_mask(out[1].mask) == (2.0, 2.0, 10.0, 10.0)
    assert len(instances_from_arrays(boxes, [0.4, 0.8], [1, 0], masks_prob, ["a", "b"], score_threshold=0.5)) == 1
    with pytest.raises(ValueError, match="outside"):
        instances_from_arrays(boxes, [0.4, 0.8], [1, 7], masks_prob, ["a", "b"])


@pytest.mark.parametrize("x0,y0,ph,pw", [(0, 0, 61, 83), (5, 3, 10, 7), (0, 10, 20, 1), (82, 60, 1, 1), (10, 0, 61, 20)])
def test_band_rle_equals_full_image_rle(x0, y0, ph, pw):
    rng = np.random.default_rng(x0 + y0)
    patch = rng.random((ph, pw)) > 0.5
    full = np.zeros((61, 83), dtype=bool)
    full[y0:y0 + ph, x0:x0 + pw] = patch
    assert masks.band_to_rle(patch, x0, y0, 61, 83) == masks.mask_to_rle(full)
    ones = np.ones((ph, pw), bool)
    full[:] = False
    full[y0:y0 + ph, x0:x0 + pw] = True
    assert masks.band_to_rle(ones, x0, y0, 61, 83) == masks.mask_to_rle(full)
    assert masks.band_to_rle(np.zeros((0, 0), bool), 0, 0, 61, 83) == masks.mask_to_rle(np.zeros((61, 83), bool))


def test_mask_to_polygons_honours_min_points():
    m = np.zeros((20, 20), bool)
    m[2:8, 2:8] = True  # a square: 4 corner points
    m[10:18, 10:13] = True
    m[15:18, 13:18] = True  # an L: 6 corner points
    assert len(masks.mask_to_polygons(m)) == 2
    only_l = masks.mask_to_polygons(m, min_points=5)
    assert len(only_l) == 1 and len(only_l[0]) >= 10  # the L stays, the square goes
    assert len(masks.mask_to_polygons(m, min_area=0.0, min_points=5)) == 1


def test_rle_runs_decodes_as_pycocotools_and_refuses_what_it_cannot():
    """The numpy decoder of RLE strings (what the shape checks read before pycocotools sees a
    mask) gives pycocotools' runs for real masks, and the exact character loop's for any other
    string: truncated, negative, non-ASCII, numbers too large for a mask."""
    import random

    rng = np.random.default_rng(7)
    for t in range(60):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        m = rng.random((h, w)) < rng.random()
        rle = masks.mask_to_rle(m)
        runs = masks.rle_runs(rle["counts"])
        # the runs COCO defines: alternating zeros and ones, column by column, zeros first
        flat = m.ravel(order="F").astype(np.int8)
        cuts = np.flatnonzero(np.diff(flat)) + 1
        expected = np.diff(np.concatenate(([0], cuts, [h * w]))).tolist()
        if flat[0]:
            expected.insert(0, 0)
        assert runs.tolist() == expected and masks.runs_fill(runs, h * w)
        assert masks.rle_area(rle) == sum(expected[1::2])  # and pycocotools reads the same mask
    rnd = random.Random(3)
    for _ in range(3000):
        s = "".join(chr(rnd.randint(33, 126)) for _ in range(rnd.randint(1, 25)))
        fast, exact = masks.rle_runs(s), masks._rle_runs_exact(s)
        assert (fast is None and exact is None) or fast.tolist() == exact.tolist(), s
    assert masks.rle_runs("0P") is None  # ends mid-number
    assert not masks.runs_fill(masks.rle_runs("o" * 40 + "1"), 100)  # a huge number: exact loop, refused
    assert masks.rle_runs("é1") is not None and not masks.runs_fill(masks.rle_runs("é1"), 4)
