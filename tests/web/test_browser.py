"""The review app in a real browser: Debian's chromium driven by Playwright.

One server for the module (tests/web/conftest.py), one store per test. Each test does what a
reviewer does (keys, clicks, drags) and then reads the store: annotation rows, image review
state and the review log must hold exactly what was done.

Screenshots for docs/review.md: CORPUS_SCREENSHOTS=docs/img python -m pytest tests/web/test_browser.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from corpus import review as rv
from corpus.store import models as m
from tests.web.conftest import serve

CHROMIUM = os.environ.get("CORPUS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).is_file():
        msg = f"no chromium at {CHROMIUM} (apt-get install chromium)"
        pytest.fail(msg) if os.environ.get("CORPUS_REQUIRE_BROWSER") == "1" else pytest.skip(msg)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1100, "height": 720}, "locale": "bg-BG"}


def shot(page, name: str, tmp_path: Path) -> None:
    """A screenshot; kept for the docs when CORPUS_SCREENSHOTS names a folder."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 1000
    if target := os.environ.get("CORPUS_SCREENSHOTS"):
        from PIL import Image as PILImage

        Path(target).mkdir(parents=True, exist_ok=True)
        # a 128-colour palette keeps the docs' PNGs small and the text sharp
        PILImage.open(path).convert("RGB").quantize(colors=128).save(Path(target) / path.name, optimize=True)


def login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.select_option("#lang", "bg")
    page.click("#login button[type=submit]")
    page.wait_for_url(f"{base}/")


def to_screen(page, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        """([x, y]) => { const s = document.getElementById("canvas"); const p = s.createSVGPoint();
             p.x = x; p.y = y; const q = p.matrixTransform(s.getScreenCTM()); return [q.x, q.y]; }""", [x, y]))


def click_at(page, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y))


def drag(page, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*to_screen(page, *a))
    page.mouse.down()
    page.mouse.move(*to_screen(page, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2), steps=3)
    page.mouse.move(*to_screen(page, *b), steps=3)
    page.mouse.up()


def press(page, key: str, url_part: str) -> dict:
    """Press a shortcut and wait for the API call it makes; returns the JSON answer."""
    with page.expect_response(lambda r: url_part in r.url and r.request.method == "POST") as resp:
        page.keyboard.press(key)
    return resp.value.json()


def pick(page, query: str, url_part: str) -> dict:
    """Type into the class picker and take the first match with Enter."""
    page.wait_for_selector("#picker:not([hidden])")
    page.fill("#picker-q", query)
    page.wait_for_function("q => document.getElementById('picker-list').dataset.q === q", arg=query)
    with page.expect_response(lambda r: url_part in r.url and r.request.method == "POST") as resp:
        page.keyboard.press("Enter")
    return resp.value.json()


def _log(store) -> list[tuple]:
    with Session(store.engine) as s:
        return [(e.action, e.annotation_id, e.image_id, e.who, e.origin) for e in
                s.scalars(select(m.ReviewEvent).order_by(m.ReviewEvent.id))]


S = 8  # image 5 is redrawn 8x larger than the builder's, for readable pages and screenshots


def _first_in_queue(store) -> int:
    """Image 5 (all three instances pending) becomes a 640x480 drawing of a tennis player with a
    ball and a racket, instances scaled to match, and the most doubtful image of the queue."""
    from PIL import Image as PILImage, ImageDraw

    from tests.coco.builder import poly

    w, h = 80 * S, 60 * S
    pic = PILImage.new("RGB", (w, h), (58, 120, 168))
    d = ImageDraw.Draw(pic)
    d.rectangle([0, 0, w, 110], fill=(196, 214, 228))
    for y in (110, 470):
        d.line([0, y, w, y], fill="white", width=4)
    d.line([w // 2, 110, w // 2, h], fill="white", width=3)
    d.ellipse([110, 50, 190, 130], fill=(224, 172, 140))  # head
    d.rounded_rectangle([85, 130, 225, 270], 30, fill=(236, 236, 236))  # shirt
    d.rectangle([100, 270, 140, 355], fill=(40, 40, 60))
    d.rectangle([165, 270, 205, 355], fill=(40, 40, 60))  # legs
    d.ellipse([405, 85, 475, 155], fill=(214, 232, 60))  # ball
    d.ellipse([345, 245, 455, 320], outline=(30, 30, 30), width=8)  # racket head
    d.line([350, 320, 330, 355], fill=(120, 60, 30), width=12)  # handle
    with Session(store.engine) as s:
        img = s.get(m.Image, store.images[5])
        pic.save(store.data_dir / img.local_path, quality=88)
        img.width, img.height = w, h
        for key, box in (("player", (5, 5, 30, 40)), ("ball", (50, 10, 10, 10)), ("racket", (40, 30, 20, 15))):
            x, y, bw, bh = (v * S for v in box)
            values = {"bbox_x": x, "bbox_y": y, "bbox_w": bw, "bbox_h": bh, "area": float(bw * bh)}
            if key == "player":
                values["segmentation"] = poly(x, y, bw, bh)
            elif key == "ball":
                mask = np.zeros((h, w), dtype=np.uint8, order="F")
                yy, xx = np.ogrid[:h, :w]
                mask[(xx - 440) ** 2 + (yy - 120) ** 2 <= 35 ** 2] = 1
                values["segmentation"] = {"size": [h, w], "counts": mask_utils.encode(mask)["counts"].decode()}
            # a plain UPDATE: the annotations stay at version 1, as proposed
            s.execute(update(m.Annotation).where(m.Annotation.id == store.anns[f"5:{key}"]).values(**values))
        pid = s.get(m.Annotation, store.anns["5:player"]).proposal_id
        s.execute(update(m.Proposal).where(m.Proposal.id == pid).values(score=0.1))
        s.commit()
    return store.images[5]


def test_a_review_session_in_bulgarian(live, store, page, tmp_path):
    serve(live, store)
    img = _first_in_queue(store)
    player, ball, racket = (store.anns[f"5:{k}"] for k in ("player", "ball", "racket"))
    login(page, live.url, "Мария")
    assert page.inner_text("h1") == "Изображения за преглед"
    rows = page.locator("#queue tbody tr")
    assert rows.first.get_attribute("data-image") == str(img)
    shot(page, "review-queue", tmp_path)

    rows.first.locator("a.open").click()
    page.wait_for_selector("body[data-ready='1']")
    assert "Автор 5" in page.inner_text("#credit") and "CC-BY-NC-4.0" in page.inner_text("#license")
    names = page.locator("#instances .name").all_inner_texts()
    assert "тенисист" in names and "tennis racket (en)" in names  # the fallback is marked
    assert page.locator("#instances li.selected").get_attribute("data-id") == str(player)
    shot(page, "review-image", tmp_path)

    # accept (A) the player, reject (X) the ball: the selection moves to the next pending one
    assert press(page, "a", f"/api/annotations/{player}/accept")["status"] == "accepted"
    assert press(page, "x", f"/api/annotations/{ball}/reject")["status"] == "rejected"
    # relabel (L) the racket through the picker, searching in Bulgarian
    page.keyboard.press("l")
    page.wait_for_selector("#picker:not([hidden])")
    page.fill("#picker-q", "топ")
    page.wait_for_selector("#picker-list[data-q='топ'] li[data-id='%d']" % store.classes["ball"])
    shot(page, "review-picker", tmp_path)
    out = pick(page, "топка", f"/api/annotations/{racket}/relabel")
    assert out["class_id"] == store.classes["ball"] and out["name"] == "тенис топка"

    # edit (E) the player's polygon: drag the vertex at (280, 40) to (304, 64), Enter saves
    page.locator(f"#instances li[data-id='{player}']").click()
    page.keyboard.press("e")
    page.wait_for_selector("#canvas circle.handle")
    page.mouse.move(*to_screen(page, 160, 160))
    page.mouse.wheel(0, -100)  # zoom in around (160, 160): image coordinates stay exact
    page.wait_for_function("() => document.getElementById('canvas').getAttribute('viewBox') !== '0 0 640 480'")
    drag(page, (280, 40), (304, 64))
    page.mouse.dblclick(*to_screen(page, 160, 360))  # a new vertex on the bottom edge
    page.mouse.dblclick(*to_screen(page, 40, 40))  # the top-left vertex goes
    with page.expect_response(lambda r: f"/api/annotations/{player}/edit" in r.url):
        page.keyboard.press("Enter")

    # draw a polygon (P): three clicks, Enter, then its class in the picker
    page.keyboard.press("0")  # the whole image again
    assert page.get_attribute("#canvas", "viewBox") == "0 0 640 480"
    page.keyboard.press("p")
    for x, y in ((480, 320), (600, 320), (600, 440)):
        click_at(page, x, y)
    page.keyboard.press("Enter")
    added = pick(page, "тенисист", f"/api/images/{img}/annotations")
    # draw a box (B), class searched in English
    page.keyboard.press("b")
    drag(page, (16, 384), (96, 464))
    boxed = pick(page, "ball", f"/api/images/{img}/annotations")

    # undo (U) takes the box back
    assert press(page, "u", "/api/undo")["annotation_id"] == boxed["id"]
    page.wait_for_function(f"() => !document.querySelector(\"#instances li[data-id='{boxed['id']}']\")")

    with Session(store.engine) as s:
        p = s.get(m.Annotation, player)
        assert p.status == "edited" and p.version == 3
        # dragged (280, 40) -> (304, 64), added (160, 360) on the bottom edge, removed (40, 40)
        assert p.segmentation[0] == pytest.approx([304, 64, 280, 360, 160, 360, 40, 360], abs=1.5)
        assert s.get(m.Annotation, ball).status == "rejected"
        r = s.get(m.Annotation, racket)
        assert (r.status, r.class_id) == ("edited", store.classes["ball"])
        a = s.get(m.Annotation, added["id"])
        assert (a.status, a.class_id, a.origin) == ("accepted", store.classes["player"], "manual")
        assert a.segmentation[0] == pytest.approx([480, 320, 600, 320, 600, 440], abs=1.5)
        b = s.get(m.Annotation, boxed["id"])
        assert b.status == "rejected" and b.segmentation is None
        assert [b.bbox_x, b.bbox_y, b.bbox_w, b.bbox_h] == pytest.approx([16, 384, 80, 80], abs=1.5)

    # mark done (D): the image leaves the queue and the next one opens
    next_url = page.get_attribute("#next", "href")
    with page.expect_navigation():
        assert press(page, "d", f"/api/images/{img}/done")["done"] is True
    assert page.url.endswith(next_url)
    with Session(store.engine) as s:
        assert rv.done_image_ids(s) == {img}
    me = "Мария"
    assert _log(store) == [
        ("accept", player, None, me, "web"), ("reject", ball, None, me, "web"), ("relabel", racket, None, me, "web"),
        ("edit", player, None, me, "web"), ("add", added["id"], None, me, "web"), ("add", boxed["id"], None, me, "web"),
        ("delete", boxed["id"], None, me, "web"), ("done", None, img, me, "web")]

    # next / previous image with the arrow keys
    page.wait_for_selector("body[data-ready='1']")
    here = page.url
    nxt = page.get_attribute("#next", "href")
    if nxt and nxt != "#":
        with page.expect_navigation():
            page.keyboard.press("ArrowRight")
        assert page.url.endswith(nxt)
        page.wait_for_selector("body[data-ready='1']")
        with page.expect_navigation():
            page.keyboard.press("ArrowLeft")
        assert page.url == here


def test_two_reviewers_on_one_annotation_get_a_conflict(live, store, browser, tmp_path):
    serve(live, store)
    img = _first_in_queue(store)
    player = store.anns["5:player"]
    pages = []
    for name in ("ivan", "maria"):
        ctx = browser.new_context(viewport={"width": 1100, "height": 720})
        pg = ctx.new_page()
        login(pg, live.url, name)
        pg.goto(f"{live.url}/image/{img}")
        pg.wait_for_selector("body[data-ready='1']")
        pages.append(pg)
    ivan, maria = pages
    assert press(ivan, "a", f"/api/annotations/{player}/accept")["version"] == 2
    # maria still sees version 1: her reject is refused, with a message, and her page catches up
    out = press(maria, "x", f"/api/annotations/{player}/reject")
    assert out["conflict"] and "ivan" in out["error"]
    msg = maria.locator("#message")
    assert "Някой друг промени тази анотация" in msg.inner_text() and "conflict" in msg.get_attribute("class")
    row = maria.locator(f"#instances li[data-id='{player}']")
    assert row.locator(".status").inner_text() == "прието" and "ivan" in row.inner_text()
    shot(maria, "review-conflict", tmp_path)
    with Session(store.engine) as s:
        assert s.get(m.Annotation, player).status == "accepted"
    assert _log(store) == [("accept", player, None, "ivan", "web")]
    # having seen ivan's decision, maria may still overrule it: an explicit, recorded decision
    maria.locator(f"#instances li[data-id='{player}']").click()
    assert press(maria, "x", f"/api/annotations/{player}/reject")["version"] == 3
    assert _log(store)[-1] == ("reject", player, None, "maria", "web")
    for pg in pages:
        pg.context.close()
