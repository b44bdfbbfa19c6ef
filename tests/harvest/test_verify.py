"""Image checks on real bytes: formats, truncation, HTML, bombs, size, EXIF orientation, hashes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from corpus.harvest.hashing import hamming, phash_hex, sha1_hex
from corpus.harvest.verify import Limits, Rejected, check, sniff
from tests.harvest.support import make_bomb, make_jpeg, make_png


def reason(data: bytes, content_type: str | None = "image/jpeg", limits: Limits = Limits()) -> str:
    with pytest.raises(Rejected) as ei:
        check(data, content_type, limits)
    return ei.value.reason


def test_good_jpeg_and_png_pass_with_their_sizes():
    c = check(make_jpeg(1), "image/jpeg")
    assert (c.format, c.ext, c.mime, c.width, c.height) == ("JPEG", "jpg", "image/jpeg", 640, 480)
    p = check(make_png(2), "image/png")
    assert (p.format, p.width, p.height) == ("PNG", 400, 300)


def test_truncated_jpeg_is_rejected():
    data = make_jpeg(3)
    assert reason(data[: len(data) // 2]) == "truncated"


def test_truncated_png_is_rejected():
    data = make_png(4)
    assert reason(data[: len(data) // 2], "image/png") in ("truncated", "corrupt_image")


def test_html_served_as_jpeg_is_not_an_image():
    with pytest.raises(Rejected) as ei:
        check(b"<!DOCTYPE html><html><body>Not found</body></html>", "image/jpeg")
    assert ei.value.reason == "not_an_image"
    assert "HTML" in ei.value.detail


def test_html_content_type_is_rejected_before_looking_at_bytes():
    assert reason(make_jpeg(5), "text/html; charset=utf-8") == "not_an_image"


def test_octet_stream_with_image_bytes_passes():
    assert check(make_jpeg(6), "application/octet-stream").format == "JPEG"


def test_decompression_bomb_is_rejected_without_decoding():
    bomb = make_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(Rejected) as ei:
        check(bomb, "image/png")
    assert ei.value.reason == "decompression_bomb"
    assert "64000000" in ei.value.detail


def test_too_small_uses_the_shorter_side():
    assert reason(make_jpeg(7, (800, 100))) == "too_small"
    assert check(make_jpeg(7, (800, 300)), limits=Limits(min_size=300)).height == 300


def test_gif_is_an_unsupported_format():
    out = io.BytesIO()
    Image.new("RGB", (300, 300)).save(out, "GIF")
    assert reason(out.getvalue(), "image/gif") == "unsupported_format"


def test_sniff_magic_numbers():
    assert sniff(make_jpeg(1)) == "JPEG"
    assert sniff(make_png(1)) == "PNG"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff(b"<html>") is None


def test_exif_orientation_is_applied_to_the_pixels():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = make_jpeg(8, (640, 480), exif=exif)
    c = check(data, "image/jpeg")
    assert c.reoriented and (c.width, c.height) == (480, 640)
    stored = Image.open(io.BytesIO(c.data))
    assert stored.size == (480, 640)
    assert stored.getexif().get(0x0112, 1) == 1


def test_sha1_and_phash_are_stable_and_draft_phash_is_close_to_full_phash():
    data = make_jpeg(9)
    c = check(data)
    assert sha1_hex(c.data) == sha1_hex(data) and len(sha1_hex(data)) == 40
    small = phash_hex(c.small)
    full = phash_hex(Image.open(io.BytesIO(data)))
    assert len(small) == 16
    assert hamming(small, full) <= 4
    other = phash_hex(check(make_jpeg(10)).small)
    assert hamming(small, other) > 10


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animations_are_an_unsupported_format(fmt):
    """An APNG or animated WebP would be annotated on its first frame while viewers play it."""
    frames = [Image.new("RGB", (300, 300), (i * 20, 0, 0)) for i in range(10)]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=40)
    with pytest.raises(Rejected) as ei:
        check(buf.getvalue(), f"image/{fmt.lower()}")
    assert ei.value.reason == "unsupported_format" and "animated" in ei.value.detail
    still = io.BytesIO()
    frames[0].save(still, fmt)
    assert check(still.getvalue(), f"image/{fmt.lower()}").format == fmt


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "LA", "1"])
def test_uncommon_modes_are_read_and_hashed(mode):
    import numpy as np

    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    im = rgb.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else rgb.convert(mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG" if mode == "CMYK" else "PNG")
    c = check(buf.getvalue(), None)
    assert (c.width, c.height) == (400, 300)
    assert len(phash_hex(c.small)) == 16
