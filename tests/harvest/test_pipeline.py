"""The whole pipeline against a real local HTTP server and a real SQLite store."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corpus.harvest.hashing import sha1_hex
from corpus.harvest.run import HarvestOptions, ProgressSink, harvest
from corpus.store.models import HarvestQuery, HarvestRun, Image, ImageHit
from tests.harvest.support import Item, LocalSource, make_bomb, make_jpeg, serve_image

OPTS = HarvestOptions("sport", languages=("en",), per_class=100, per_page=10, retry_backoff_s=0.01)


def images(engine) -> list[Image]:
    with Session(engine) as s:
        return list(s.scalars(select(Image).order_by(Image.id)))


def hits(engine) -> list[ImageHit]:
    with Session(engine) as s:
        return list(s.scalars(select(ImageHit)))


def assert_store_consistent(engine, data_dir: Path) -> None:
    """Every stored row's file exists and hashes to its sha1; no other file; no temp file."""
    rows = [i for i in images(engine) if i.status == "stored"]
    paths = set()
    for r in rows:
        p = data_dir / r.local_path
        assert p.is_file(), r.local_path
        assert sha1_hex(p.read_bytes()) == r.sha1
        paths.add(r.local_path)
    on_disk = {str(p.relative_to(data_dir)) for p in (data_dir / "images").rglob("*") if p.is_file()} if (data_dir / "images").exists() else set()
    assert on_disk == paths
    keys = [(i.source_id, i.source_image_id) for i in images(engine)]
    assert len(keys) == len(set(keys))
    sha1s = [i.sha1 for i in images(engine) if i.sha1]
    assert len(sha1s) == len(set(sha1s))


def publish(httpserver, api, source: str, query: str, n: int, start: int = 0, license: str = "CC-BY-4.0") -> list[Item]:
    items = []
    for i in range(start, start + n):
        serve_image(httpserver, f"/img/{i}.jpg", make_jpeg(i))
        items.append(Item(f"{source}-{i}", f"/img/{i}.jpg", license=license, title=f"photo {i}"))
    api.add(source, query, items)
    return items


def alpha(httpserver, api) -> LocalSource:
    api.install(httpserver, "alpha")
    return LocalSource("alpha", httpserver.url_for("/"))


def image_requests(httpserver) -> list[str]:
    return [req.path for req, _ in httpserver.log if req.path.startswith("/img")]


def test_harvest_stores_images_with_provenance_and_exhausts_the_query(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 12)
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.status == "done" and rep.kept == 12 and rep.found == 12
    rows = images(engine)
    assert len(rows) == 12 and {r.status for r in rows} == {"stored"}
    r = rows[0]
    assert r.license_code == "CC-BY-4.0" and r.attribution.startswith('"photo') and "CC BY 4.0" in r.attribution
    assert (r.width, r.height, r.mime) == (640, 480, "image/jpeg")
    assert r.local_path == f"images/{r.sha1[:2]}/{r.sha1[2:4]}/{r.sha1}.jpg" and len(r.phash) == 16
    assert len(hits(engine)) == 12
    with Session(engine) as s:
        q = s.scalar(select(HarvestQuery))
        assert q.exhausted and q.page_state is None and q.hits_seen == 12 and q.lang == "en"
        run = s.scalar(select(HarvestRun))
        assert run.status == "done" and run.summary["kept"] == 12
    assert_store_consistent(engine, hsettings.data_dir)
    # A rerun has nothing to do and fetches nothing.
    n_before = len(httpserver.log)
    rep2 = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep2.kept == 0 and len(httpserver.log) == n_before


def test_multilingual_queries_use_each_language(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 2)
    publish(httpserver, api, "alpha", "тенисист", 3, start=10)
    src = alpha(httpserver, api)
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport", per_class=100))
    assert rep.kept == 5
    assert sorted((q, lang) for q, lang, _ in src.calls) == [("tennis player", "en"), ("тенисист", "bg")]
    with Session(engine) as s:
        assert sorted(s.scalars(select(HarvestQuery.lang))) == ["bg", "en"]


def test_bad_files_are_rejected_with_reasons_and_not_refetched(engine, seeded, hsettings, httpserver, api):
    good = make_jpeg(1)
    serve_image(httpserver, "/img/good.jpg", good)
    serve_image(httpserver, "/img/trunc.jpg", make_jpeg(2)[:3000])
    serve_image(httpserver, "/img/html.jpg", b"<!doctype html><html>login</html>", content_type="image/jpeg")
    serve_image(httpserver, "/img/bomb.png", make_bomb(), content_type="image/png")
    serve_image(httpserver, "/img/tiny.jpg", make_jpeg(3, (120, 90)))
    httpserver.expect_request("/img/gone.jpg").respond_with_data("", status=404)
    api.add("alpha", "tennis player", [Item(n, f"/img/{n}") for n in
                                       ("good.jpg", "trunc.jpg", "html.jpg", "bomb.png", "tiny.jpg", "gone.jpg")])
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    by_id = {i.source_image_id: i for i in images(engine)}
    assert by_id["good.jpg"].status == "stored"
    assert {k: (v.status, v.reject_reason) for k, v in by_id.items() if k != "good.jpg"} == {
        "trunc.jpg": ("rejected", "truncated"),
        "html.jpg": ("rejected", "not_an_image"),
        "bomb.png": ("rejected", "decompression_bomb"),
        "tiny.jpg": ("rejected", "too_small"),
        "gone.jpg": ("rejected", "http_404"),
    }
    assert rep.rejected == {"truncated": 1, "not_an_image": 1, "decompression_bomb": 1, "too_small": 1, "http_404": 1}
    assert_store_consistent(engine, hsettings.data_dir)


def test_license_policy_applies_before_download(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 2)
    publish(httpserver, api, "alpha", "tennis player", 2, start=50, license="CC-BY-NC-4.0")
    publish(httpserver, api, "alpha", "tennis player", 1, start=60, license="CC-BY-ND-4.0")
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.kept == 2
    assert rep.rejected == {"license:non-commercial": 2, "license:no-derivatives": 1}
    assert sorted(image_requests(httpserver)) == ["/img/0.jpg", "/img/1.jpg"]
    nc = [i for i in images(engine) if i.license_code == "CC-BY-NC-4.0"]
    assert len(nc) == 2 and all(i.status == "rejected" and i.local_path is None for i in nc)


def test_research_policy_admits_non_commercial(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 2, license="CC-BY-NC-4.0")
    opts = HarvestOptions("sport", languages=("en",), license_policy="research")
    assert harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, opts).kept == 2


def test_same_image_at_two_sources_is_one_row_with_two_hits(engine, seeded, hsettings, httpserver, api):
    data = make_jpeg(7)
    serve_image(httpserver, "/a/7.jpg", data)
    serve_image(httpserver, "/b/7.jpg", data)
    api.add("alpha", "tennis player", [Item("A7", "/a/7.jpg")])
    api.add("beta", "tennis player", [Item("B7", "/b/7.jpg", license="CC0-1.0")])
    api.install(httpserver, "alpha")
    api.install(httpserver, "beta")
    srcs = {n: LocalSource(n, httpserver.url_for("/")) for n in ("alpha", "beta")}
    rep = harvest(engine, hsettings, srcs, OPTS)
    rows = images(engine)
    assert len(rows) == 1 and rows[0].status == "stored"
    hs = hits(engine)
    assert sorted(h.source_image_id for h in hs) == ["A7", "B7"] and {h.image_id for h in hs} == {rows[0].id}
    other = rows[0].extra["also_at"]
    assert [(o["source"], o["source_image_id"], o["license"]) for o in other] in (
        [("beta", "B7", "CC0-1.0")], [("alpha", "A7", "CC-BY-4.0")])
    assert rep.kept == 1 and rep.rejected["duplicate"] == 1
    assert_store_consistent(engine, hsettings.data_dir)
    # A rerun recognises both items without fetching either.
    n = len(image_requests(httpserver))
    harvest(engine, hsettings, srcs, OPTS)
    assert len(image_requests(httpserver)) == n and len(images(engine)) == 1


def test_same_item_from_two_queries_is_fetched_once(engine, seeded, hsettings, httpserver, api, tmp_path):
    items = publish(httpserver, api, "alpha", "tennis player", 3)
    api.add("alpha", "тенисист", items)
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, HarvestOptions("sport"))
    assert rep.kept == 3 and len(images(engine)) == 3
    assert len(hits(engine)) == 6
    assert sorted(image_requests(httpserver)) == ["/img/0.jpg", "/img/1.jpg", "/img/2.jpg"]


def test_near_duplicate_is_rejected_and_points_at_the_first(engine, seeded, hsettings, httpserver, api):
    first = make_jpeg(11, quality=90)
    again = PILImage.open(io.BytesIO(first)).resize((600, 450))
    buf = io.BytesIO()
    again.save(buf, "JPEG", quality=60)
    serve_image(httpserver, "/img/first.jpg", first)
    serve_image(httpserver, "/img/again.jpg", buf.getvalue())
    api.add("alpha", "tennis player", [Item("first", "/img/first.jpg"), Item("again", "/img/again.jpg")])
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    by_id = {i.source_image_id: i for i in images(engine)}
    kept = [i for i in by_id.values() if i.status == "stored"]
    dup = [i for i in by_id.values() if i.status == "rejected"]
    assert len(kept) == 1 and len(dup) == 1
    assert dup[0].reject_reason == "near_duplicate" and dup[0].duplicate_of_id == kept[0].id
    assert dup[0].local_path is None and dup[0].sha1 and dup[0].phash
    assert rep.rejected == {"near_duplicate": 1}
    assert_store_consistent(engine, hsettings.data_dir)


def test_per_class_limit_then_a_larger_limit_continues(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 25)
    src = alpha(httpserver, api)
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport", languages=("en",), per_class=4, per_page=10))
    assert rep.kept == 4 and len(images(engine)) == 4
    with Session(engine) as s:
        q = s.scalar(select(HarvestQuery))
        assert q.page_state is None and not q.exhausted  # page 1 was not used up: it is fetched again
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport", languages=("en",), per_class=15, per_page=10))
    assert rep.kept == 11
    rows = images(engine)
    assert len(rows) == 15 and len(image_requests(httpserver)) == 15
    with Session(engine) as s:
        assert s.scalar(select(HarvestQuery)).page_state == {"page": 2}
    assert_store_consistent(engine, hsettings.data_dir)


class StopAfter(ProgressSink):
    def __init__(self, n: int, stop: threading.Event) -> None:
        self.n, self.stop, self.seen = n, stop, 0

    def kept(self, synset: str, kept: int) -> None:
        self.seen += 1
        if self.seen >= self.n:
            self.stop.set()


def test_interrupted_run_resumes_without_duplicates_or_losses(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 30)
    src = alpha(httpserver, api)
    stop = threading.Event()
    rep = harvest(engine, hsettings, {"alpha": src}, OPTS, progress=StopAfter(7, stop), stop=stop)
    assert rep.status == "interrupted"
    n_first = len(images(engine))
    assert 7 <= n_first < 30
    with Session(engine) as s:
        assert s.scalar(select(HarvestRun.status)) == "interrupted"
    assert_store_consistent(engine, hsettings.data_dir)
    rep = harvest(engine, hsettings, {"alpha": src}, OPTS)
    assert rep.status == "done"
    rows = images(engine)
    assert len(rows) == 30 and {r.status for r in rows} == {"stored"}
    assert len(hits(engine)) == 30
    assert_store_consistent(engine, hsettings.data_dir)


def test_transient_failures_are_retried_by_the_next_run(engine, seeded, hsettings, httpserver, api):
    state = {"broken": True}
    data = make_jpeg(21)
    from werkzeug.wrappers import Response

    def flaky(request):
        return Response("down", status=500) if state["broken"] else Response(data, content_type="image/jpeg")

    httpserver.expect_request("/img/flaky.jpg").respond_with_handler(flaky)
    api.add("alpha", "tennis player", [Item("flaky", "/img/flaky.jpg")])
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.failed == {"http_500": 1}
    row = images(engine)[0]
    assert (row.status, row.reject_reason, row.extra["attempts"]) == ("failed", "http_500", 1)
    state["broken"] = False
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.retried == 1
    row = images(engine)[0]
    assert row.status == "stored" and row.sha1 == sha1_hex(data)
    assert_store_consistent(engine, hsettings.data_dir)


def test_unknown_files_in_the_images_folder_are_left_alone(engine, seeded, hsettings, httpserver, api):
    """A file no row refers to may be another store's or the user's: the start-up clean-up only
    removes this store's own leftovers (tests/harvest/test_integrity.py)."""
    publish(httpserver, api, "alpha", "tennis player", 2)
    d = hsettings.data_dir / "images" / "ab" / "cd"
    d.mkdir(parents=True)
    (d / ("ab" + "cd" + "0" * 36 + ".jpg")).write_bytes(b"not ours")
    (d / ".tmp-partial").write_bytes(b"not ours either")
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, OPTS)
    assert rep.kept == 2 and (rep.cleaned.orphans, rep.cleaned.temp_files) == (0, 0)
    assert sorted(p.name for p in d.iterdir()) == [".tmp-partial", "abcd" + "0" * 36 + ".jpg"]


def test_an_unreachable_source_ends_with_a_message(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 2)
    dead = LocalSource("beta", "http://127.0.0.1:9")
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api), "beta": dead}, OPTS)
    assert rep.status == "done" and rep.kept == 2
    assert "beta" in rep.source_errors and "ConnectError" in rep.source_errors["beta"]
    assert len(dead.calls) == 1  # given up at once: no point in trying every query


def test_dry_run_plans_without_touching_network_or_store(engine, seeded, hsettings, httpserver, api):
    src = alpha(httpserver, api)
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport", dry_run=True))
    assert rep.status == "dry_run"
    assert [(p.lang, p.text) for p in rep.planned] == [("en", "tennis player"), ("bg", "тенисист")]
    assert src.calls == [] and len(httpserver.log) == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(HarvestQuery)) == 0


def test_a_failing_search_is_left_for_the_next_run(engine, seeded, hsettings, httpserver, api):
    publish(httpserver, api, "alpha", "tennis player", 2)
    publish(httpserver, api, "alpha", "тенисист", 2, start=10)
    from werkzeug.wrappers import Response

    httpserver.expect_ordered_request("/alpha/search", query_string={"q": "tennis player", "page": "1", "per_page": "50"}
                                      ).respond_with_response(Response("{not json", content_type="application/json"))
    src = alpha(httpserver, api)
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport"))
    assert rep.kept == 2 and "alpha" in rep.query_errors and "1 search(es) failed" in rep.query_errors["alpha"]
    with Session(engine) as s:
        by_lang = {q.lang: q for q in s.scalars(select(HarvestQuery))}
    assert not by_lang["en"].exhausted and by_lang["bg"].exhausted
    rep = harvest(engine, hsettings, {"alpha": src}, HarvestOptions("sport"))
    assert rep.kept == 2 and not rep.query_errors and len(images(engine)) == 4


def test_an_interrupted_download_keeps_its_page_even_when_later_pages_are_done(engine, seeded, hsettings, httpserver, api):
    """Page 1 waits on a slow download while pages 2 and 3 (no downloads: license rejections) are
    settled; a stop then interrupts the download. The query must not advance past page 1, or the
    interrupted image would never be fetched by any later run."""
    serve_image(httpserver, "/img/slow.jpg", make_jpeg(40), delay_s=2.5)
    api.add("alpha", "tennis player", [Item("slow", "/img/slow.jpg"), Item("nc-0", "/img/x.jpg", license="CC-BY-NC-4.0")]
            + [Item(f"nc-{i}", "/img/x.jpg", license="CC-BY-NC-4.0") for i in range(1, 5)])
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    opts = HarvestOptions("sport", languages=("en",), per_class=100, per_page=2, retry_backoff_s=0.01)
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, opts, stop=stop)
    timer.join()
    assert rep.status == "interrupted"
    assert "slow" not in {r.source_image_id for r in images(engine)}
    with Session(engine) as s:
        q = s.scalar(select(HarvestQuery))
        assert q.page_state is None and not q.exhausted
    rep = harvest(engine, hsettings, {"alpha": alpha(httpserver, api)}, opts)
    assert rep.status == "done"
    stored = [r.source_image_id for r in images(engine) if r.status == "stored"]
    assert stored == ["slow"]
    assert len(images(engine)) == 6
    assert_store_consistent(engine, hsettings.data_dir)
