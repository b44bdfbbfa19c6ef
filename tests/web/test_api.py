"""The review app's endpoints over a real server and a real store: what each returns, what it
writes (annotation rows and review events), and what it refuses."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from corpus.store import models as m
from tests.web.conftest import Reviewer, serve


def _events(store, ann_id=None):
    with Session(store.engine) as s:
        q = select(m.ReviewEvent).order_by(m.ReviewEvent.id)
        if ann_id is not None:
            q = q.where(m.ReviewEvent.annotation_id == ann_id)
        return list(s.scalars(q))


def _ann(store, ann_id) -> m.Annotation:
    with Session(store.engine) as s:
        return s.get(m.Annotation, ann_id)


def _other_domain(store) -> tuple[int, int]:
    """A second domain with one class and one annotation on image 0: (class id, annotation id)."""
    with Session(store.engine) as s:
        dom = m.Domain(name="music", root_synsets=[])
        s.add(dom)
        s.flush()
        cls = m.OntologyClass(domain_id=dom.id, synset="guitar.n.01", kind="dominant", name="guitar")
        s.add(cls)
        s.flush()
        ann = m.Annotation(image_id=store.images[0], class_id=cls.id, bbox_x=1, bbox_y=1, bbox_w=5, bbox_h=5,
                           area=25, origin="manual", status="pending")
        s.add(ann)
        s.commit()
        return cls.id, ann.id


# -- signing in ---------------------------------------------------------------------------------

def test_nothing_without_a_name(anon, store):
    assert anon.get("/api/queue").status_code == 401
    assert anon.get(f"/files/{store.images[0]}").status_code == 401
    r = anon.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    page = anon.get("/login")
    assert "Кой преглежда?" in page.text  # the app's default language is Bulgarian here


def test_login_needs_a_name_and_the_csrf_token(anon, store):
    page = anon.get("/login")
    r = anon.post("/login", data={"name": "ivan", "csrf": "forged"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = anon.login("   ")
    assert "Въведете името си" in r.text and anon.get("/api/queue").status_code == 401
    r = anon.login("x" * 65)
    assert anon.get("/api/queue").status_code == 401
    assert page.status_code == 200


def test_token_is_required_when_set(live, store):
    serve(live, store, token="s3cret-token")
    with Reviewer(base_url=live.url, follow_redirects=True) as c:
        assert 'name="token"' in c.get("/login").text
        r = c.login("maria", token="wrong")
        assert "Грешен ключ" in r.text and c.get("/api/queue").status_code == 401
        c.login("maria", token="s3cret-token")
        assert c.get("/api/queue").status_code == 200


def test_sign_out(client):
    assert client.get("/api/queue").status_code == 200
    r = client.post("/logout", data={"csrf": client.csrf})
    assert r.status_code == 200 and "Кой преглежда?" in r.text  # back at the start page
    assert client.get("/api/queue").status_code == 401


def test_unknown_host_header_is_refused(client):
    # DNS rebinding: a page on another site whose name resolves to 127.0.0.1.
    r = client.get("/api/queue", headers={"Host": "evil.example:8765"})
    assert r.status_code == 400


# -- queue and progress -------------------------------------------------------------------------

def test_queue_most_doubtful_first_and_filters(client, store):
    with Session(store.engine) as s:
        # Image 5's ball is the least certain proposal of all; image 4's player next.
        for key, score in (("5:ball", 0.05), ("4:player", 0.1)):
            pid = s.get(m.Annotation, store.anns[key]).proposal_id
            s.execute(update(m.Proposal).where(m.Proposal.id == pid).values(score=score))
        s.commit()
    images = client.get("/api/queue").json()["images"]
    ids = [i["id"] for i in images]
    assert ids[:2] == [store.images[5], store.images[4]]
    assert images[0]["min_score"] == 0.05 and images[0]["counts"] == {"pending": 3}
    # every image listed has a pending annotation, none twice
    with Session(store.engine) as s:
        pending = set(s.scalars(select(m.Annotation.image_id).where(m.Annotation.status == "pending")))
    assert set(ids) == pending and len(ids) == len(set(ids))
    # by class: only images with a pending racket
    racket = client.get("/api/queue", params={"class_id": store.classes["racket"]}).json()["images"]
    with Session(store.engine) as s:
        want = set(s.scalars(select(m.Annotation.image_id).where(
            m.Annotation.status == "pending", m.Annotation.class_id == store.classes["racket"])))
    assert {i["id"] for i in racket} == want and all(i["classes"] == [store.classes["racket"]] for i in racket)
    # by status and model
    rejected = client.get("/api/queue", params={"status": "rejected"}).json()["images"]
    assert rejected and all(i["counts"].get("rejected") for i in rejected)
    assert client.get("/api/queue", params={"model": "nope"}).json()["images"] == []
    assert len(client.get("/api/queue", params={"model": "yolo"}).json()["images"]) == len(ids)
    # paging
    page2 = client.get("/api/queue", params={"limit": 2, "offset": 2}).json()["images"]
    assert [i["id"] for i in page2] == ids[2:4]
    r = client.get("/api/queue", params={"status": "bogus"})
    assert r.status_code == 400 and "unknown status bogus" in r.json()["error"]


def test_queue_page_and_progress(client, store):
    a = store.anns["4:player"]
    client.act(f"/api/annotations/{a}/accept", {"version": 1})
    page = client.get("/")
    assert page.status_code == 200 and "Изображения за преглед" in page.text
    assert f'data-image="{store.images[5]}"' in page.text and "тенисист" in page.text
    prog = client.get("/api/progress").json()
    by_class = {p["id"]: p["counts"] for p in prog["classes"]}
    with Session(store.engine) as s:
        rows = s.execute(select(m.Annotation.class_id, m.Annotation.status)).all()
    for cid, counts in by_class.items():
        assert counts == {st: sum(1 for c, x in rows if c == cid and x == st) for st in counts}
    assert prog["reviewers"] == [{"who": "ivan", "counts": {"accepted": 1}, "images_done": 0}]
    assert 'data-who="ivan"' in page.text


# -- the image view -----------------------------------------------------------------------------

def test_image_state_names_license_and_shapes(client, store):
    state = client.get(f"/api/images/{store.images[0]}").json()
    img = state["image"]
    assert img["license"] == "CC-BY-SA-4.0" and img["author"] == "Автор 0" and "Автор 0" in img["attribution"]
    by_class = {i["synset"]: i for i in state["instances"]}
    assert by_class["tennis_player.n.01"]["name"] == "тенисист" and not by_class["tennis_player.n.01"]["fallback"]
    racket = by_class["tennis_racket.n.01"]
    assert racket["name"] == "tennis racket" and racket["fallback"] and racket["shape"] == "box"
    ball = by_class["tennis_ball.n.01"]
    assert ball["shape"] == "mask" and ball["polygons"]  # RLE traced for drawing
    xs = ball["polygons"][0][0::2]
    assert min(xs) >= 49 and max(xs) <= 60
    page = client.get(f"/image/{store.images[0]}")
    assert page.status_code == 200 and "Автор 0" in page.text and "CC-BY-SA-4.0" in page.text
    assert client.get("/api/images/999999").status_code == 404
    assert client.get("/image/999999").status_code == 404


def test_image_page_escapes_harvested_text(client, store):
    with Session(store.engine) as s:
        s.execute(update(m.Image).where(m.Image.id == store.images[0]).values(
            title="</script><script>alert(1)</script>", author="<b>x</b>"))
        s.commit()
    page = client.get(f"/image/{store.images[0]}").text
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page


def test_names_are_the_ontologys_unique_names(client, store):
    with Session(store.engine) as s:
        s.execute(update(m.Label).where(m.Label.class_id == store.classes["ball"], m.Label.lang == "bg")
                  .values(name="тенис топка (уред)", provenance=[{"source": "omw:bul", "method": "wordnet"}]))
        # only an activity's lemmas in Bulgarian: search words, not a name
        s.add(m.Label(class_id=store.classes["racket"], lang="bg", lemmas=["тенис"], name=None,
                      provenance=[{"source": "activity:tennis.n.01", "method": "activity"}]))
        s.commit()
    by_class = {i["class_id"]: i for i in client.get(f"/api/images/{store.images[0]}").json()["instances"]}
    assert by_class[store.classes["ball"]]["name"] == "тенис топка (уред)"
    racket = by_class[store.classes["racket"]]
    assert (racket["name"], racket["fallback"]) == ("tennis racket", True)
    found = {c["id"]: c for c in client.get("/api/classes", params={"q": "тенис"}).json()["classes"]}
    assert store.classes["racket"] in found and found[store.classes["racket"]]["fallback"]


def test_class_picker_searches_names_and_synonyms(client, store):
    def ids(q):
        return [c["id"] for c in client.get("/api/classes", params={"q": q}).json()["classes"]]

    assert ids("тенисист") == [store.classes["player"]]
    assert set(ids("тенис")) == {store.classes["player"], store.classes["ball"]}
    assert ids("ball") == [store.classes["ball"]]  # English
    assert ids("tennis_racket") == [store.classes["racket"]]  # synset
    assert ids("TENNIS PLAYER") == [store.classes["player"]]
    assert ids("zzz") == []
    everything = client.get("/api/classes").json()["classes"]
    assert len(everything) == 4 and {c["fallback"] for c in everything} == {True, False}


# -- decisions ----------------------------------------------------------------------------------

def test_accept_and_reject_record_events(client, store):
    a, b = store.anns["4:player"], store.anns["4:ball"]
    r = client.act(f"/api/annotations/{a}/accept", {"version": 1})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["version"] == 2
    r = client.act(f"/api/annotations/{b}/reject", {"version": 1, "note": "reflection"})
    assert r.json()["status"] == "rejected"
    evs = _events(store)
    assert [(e.annotation_id, e.action, e.who, e.origin) for e in evs] == [(a, "accept", "ivan", "web"),
                                                                         (b, "reject", "ivan", "web")]
    assert evs[1].note == "reflection" and evs[1].before["status"] == "pending"
    assert _ann(store, a).reviewed_by == "ivan"


def test_stale_version_is_a_conflict_and_changes_nothing(client, store):
    a = store.anns["4:racket"]
    assert client.act(f"/api/annotations/{a}/reject", {"version": 1}).status_code == 200
    r = client.act(f"/api/annotations/{a}/accept", {"version": 1})
    assert r.status_code == 409 and r.json()["conflict"]
    assert "is at version 2, not 1" in r.json()["error"] and "ivan" in r.json()["error"]
    current = {i["id"]: i for i in r.json()["state"]["instances"]}[a]
    assert current["status"] == "rejected" and current["version"] == 2
    assert _ann(store, a).status == "rejected" and len(_events(store, a)) == 1


def test_relabel_by_class_id_of_the_domain(client, store):
    a = store.anns["4:racket"]
    r = client.act(f"/api/annotations/{a}/relabel", {"version": 1, "class_id": store.classes["ball"]})
    assert r.status_code == 200 and r.json()["class_id"] == store.classes["ball"] and r.json()["name"] == "тенис топка"
    assert _events(store, a)[-1].action == "relabel"
    other_class, other_ann = _other_domain(store)
    for body, ann in (({"version": 2, "class_id": other_class}, a), ({"version": 2, "class_id": 424242}, a),
                      ({"version": 1, "class_id": store.classes["ball"]}, other_ann)):
        r = client.act(f"/api/annotations/{ann}/relabel", body)
        assert r.status_code == 404 and "does not exist" in r.json()["error"]
    assert _ann(store, a).version == 2 and len(_events(store)) == 1


def test_edit_polygon_and_refuse_bad_shapes(client, store):
    a = store.anns["4:player"]
    r = client.act(f"/api/annotations/{a}/edit", {"version": 1, "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]]})
    assert r.status_code == 200 and r.json()["status"] == "edited" and r.json()["bbox"] == [10, 10, 20, 20]
    ann = _ann(store, a)
    assert ann.segmentation == [[10, 10, 30, 10, 30, 30, 10, 30]] and ann.version == 2
    bad = [
        '{"version": 2, "segmentation": [[10, 10, NaN, 10, 30, 30]]}',
        '{"version": 2, "segmentation": [[10, 10, Infinity, 10, 30, 30]]}',
        '{"version": 2, "bbox": [1, 2, -Infinity, 4]}',
        '{"version": 2, "bbox": [1, 2, 3]}',
        '{"version": 2, "segmentation": "[[1,2,3]]"}',
        '{"version": 2, "segmentation": [[1, 2, 3, 4]]}',
        '{"version": 2}',
    ]
    for body in bad:
        r = client.post(f"/api/annotations/{a}/edit", content=body,
                        headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/json"})
        assert r.status_code == 400, body
        assert "nothing was changed" in r.json()["error"]
    for body in ('{"version": "two"}', '{"version": 2, "bbox": 5}', '{"version": 2, "evil": 1}', "not json"):
        r = client.post(f"/api/annotations/{a}/edit", content=body,
                        headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/json"})
        assert r.status_code == 422, body
    assert _ann(store, a).version == 2 and len(_events(store, a)) == 1


def test_shapes_are_checked_like_the_cli(client, store):
    """corpus.shapes, through corpus.review: inside the image, a bounded number of points."""
    a = store.anns["4:player"]
    img = store.images[4]
    outside = [[10, 10, 5000, 10, 30, 30]]  # the image is 80 x 60
    many = [[float(v) for i in range(25_000) for v in (10 + (i % 50), 10 + (i % 40))]]
    for path, body in ((f"/api/annotations/{a}/edit", {"version": 1, "segmentation": outside}),
                       (f"/api/annotations/{a}/edit", {"version": 1, "bbox": [70, 50, 400, 400]}),
                       (f"/api/annotations/{a}/edit", {"version": 1, "segmentation": many}),
                       (f"/api/images/{img}/annotations", {"class_id": store.classes["ball"], "segmentation": outside})):
        r = client.act(path, body)
        assert r.status_code == 400 and "nothing was changed" in r.json()["error"], (path, r.text[:200])
    with Session(store.engine) as s:
        from corpus import shapes

        assert shapes.shape_problem(outside, None, 80, 60)  # the same check, the same verdict
    assert _events(store) == [] and _ann(store, a).version == 1


def test_unknown_and_foreign_annotations(client, store):
    _, foreign = _other_domain(store)
    for ann in (987654, foreign):
        for action in ("accept", "reject"):
            r = client.act(f"/api/annotations/{ann}/{action}", {"version": 1})
            assert r.status_code == 404 and "does not exist" in r.json()["error"]
    assert client.act("/api/annotations/abc/accept", {"version": 1}).status_code == 422
    assert _events(store) == []


def test_add_polygon_and_box(client, store):
    img = store.images[1]
    r = client.act(f"/api/images/{img}/annotations",
                   {"class_id": store.classes["ball"], "segmentation": [[60, 40, 70, 40, 70, 50]]})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["shape"] == "polygon"
    r2 = client.act(f"/api/images/{img}/annotations", {"class_id": store.classes["person"], "bbox": [2, 3, 10, 12]})
    assert r2.json()["shape"] == "box" and r2.json()["bbox"] == [2, 3, 10, 12]
    with Session(store.engine) as s:
        added = s.get(m.Annotation, r.json()["id"])
        assert (added.image_id, added.origin, added.reviewed_by) == (img, "manual", "ivan")
    assert [e.action for e in _events(store)] == ["add", "add"]
    for path, body, code in (
        ("/api/images/999999/annotations", {"class_id": store.classes["ball"], "bbox": [1, 1, 2, 2]}, 404),
        (f"/api/images/{img}/annotations", {"class_id": 424242, "bbox": [1, 1, 2, 2]}, 404),
        (f"/api/images/{img}/annotations", {"class_id": store.classes["ball"]}, 400),
        (f"/api/images/{img}/annotations", {"class_id": store.classes["ball"], "bbox": [1, 1, 0, 2]}, 400),
    ):
        assert client.act(path, body).status_code == code, body
    assert len(_events(store)) == 2


def test_undo_takes_back_the_last_decision(client, store):
    a, b = store.anns["4:player"], store.anns["4:ball"]
    assert client.act("/api/undo").status_code == 404  # nothing yet
    client.act(f"/api/annotations/{a}/accept", {"version": 1})
    client.act(f"/api/annotations/{b}/edit", {"version": 1, "bbox": [1, 1, 5, 5]})
    r = client.act("/api/undo")
    assert r.status_code == 200 and r.json()["annotation_id"] == b
    ann = _ann(store, b)
    assert ann.status == "pending" and (ann.bbox_x, ann.bbox_w) == (50, 10) and ann.version == 3
    assert client.act("/api/undo").json()["annotation_id"] == a  # and the one before
    assert _ann(store, a).status == "pending"
    added = client.act(f"/api/images/{store.images[4]}/annotations", {"class_id": store.classes["ball"], "bbox": [1, 1, 4, 4]})
    client.act("/api/undo")
    assert _ann(store, added.json()["id"]).status == "rejected"
    actions = [(e.action, e.note) for e in _events(store)]
    assert actions[-1][0] == "delete" and actions[-1][1].startswith("undo of event")
    # someone else decided after my last decision: my undo is refused
    client.act(f"/api/annotations/{a}/reject", {"version": 3})
    with Session(store.engine) as s:
        from corpus import review as rv
        rv.accept(s, a, "maria")
        s.commit()
    r = client.act("/api/undo")
    assert r.status_code == 409 and "maria" in r.json()["error"]
    assert _ann(store, a).status == "accepted"


def test_reviewers_undo_only_their_own(live, client, store):
    a = store.anns["4:player"]
    client.act(f"/api/annotations/{a}/accept", {"version": 1})
    with Reviewer(base_url=live.url, follow_redirects=True) as maria:
        maria.login("maria")
        assert maria.act("/api/undo").status_code == 404
    assert _ann(store, a).status == "accepted"


def test_mark_image_done_leaves_the_queue(client, store):
    img = store.images[5]
    assert img in [i["id"] for i in client.get("/api/queue").json()["images"]]
    r = client.act(f"/api/images/{img}/done", {})
    assert r.status_code == 200 and r.json() == {"image_id": img, "done": True, "changed": True, "pending": 3}
    assert client.get(f"/api/images/{img}").json()["done"] is True
    assert img not in [i["id"] for i in client.get("/api/queue").json()["images"]]
    assert [i["id"] for i in client.get("/api/queue", params={"done": "done"}).json()["images"]] == [img]
    assert img in [i["id"] for i in client.get("/api/queue", params={"done": "all"}).json()["images"]]
    assert client.get("/api/queue", params={"done": "maybe"}).status_code == 400
    assert client.act(f"/api/images/{img}/done", {}).json()["changed"] is False  # already done: nothing recorded
    prog = client.get("/api/progress").json()["reviewers"]
    assert prog == [{"who": "ivan", "counts": {}, "images_done": 1}]
    with Session(store.engine) as s:
        from corpus import review as rv
        assert rv.done_image_ids(s) == {img}
    evs = _events(store)
    assert [(e.action, e.image_id, e.who, e.origin) for e in evs] == [("done", img, "ivan", "web")]
    # undo takes it back; so does done: false
    assert client.act("/api/undo").json()["image_id"] == img
    assert client.get(f"/api/images/{img}").json()["done"] is False
    client.act(f"/api/images/{img}/done", {"done": True})
    client.act(f"/api/images/{img}/done", {"done": False})
    assert [e.action for e in _events(store)] == ["done", "undone", "done", "undone"]
    assert client.act("/api/images/999999/done", {}).status_code == 404
    assert client.act(f"/api/images/{img}/done", {"done": "perhaps"}).status_code == 422


# -- cross-site requests ------------------------------------------------------------------------

def test_every_write_needs_the_csrf_token_and_our_origin(client, store):
    a = store.anns["4:player"]
    img = store.images[0]
    writes = [(f"/api/annotations/{a}/accept", {"version": 1}), (f"/api/annotations/{a}/reject", {"version": 1}),
              (f"/api/annotations/{a}/relabel", {"version": 1, "class_id": store.classes["ball"]}),
              (f"/api/annotations/{a}/edit", {"version": 1, "bbox": [1, 1, 2, 2]}),
              (f"/api/images/{img}/annotations", {"class_id": store.classes["ball"], "bbox": [1, 1, 2, 2]}),
              (f"/api/images/{img}/done", {}), ("/api/undo", {})]
    for path, body in writes:
        assert client.post(path, json=body).status_code == 403, path
        assert client.act(path, body, headers={"X-CSRF-Token": "x" + client.csrf}).status_code == 403, path
        r = client.act(path, body, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "cross-site" in r.json()["error"], path
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert _events(store) == [] and _ann(store, a).version == 1
    ok = client.act(f"/api/annotations/{a}/accept", {"version": 1}, headers={"Origin": client.base_url.join("/").__str__().rstrip("/")})
    assert ok.status_code == 200


def test_oversized_bodies_and_odd_tokens_are_refused(client, store):
    a = store.anns["4:player"]
    huge = {"version": 1, "segmentation": [[float(i % 50) for i in range(300_000)]]}
    r = client.act(f"/api/annotations/{a}/edit", huge)
    assert r.status_code == 413 and "nothing was changed" in r.json()["error"]

    def chunks():  # no Content-Length: counted while read
        yield b'{"version": 1, "segmentation": [['
        for _ in range(200):
            yield b"1.0, " * 2000
        yield b"1.0]]}"

    r = client.post(f"/api/annotations/{a}/edit", content=chunks(),
                    headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/json"})
    assert r.status_code in (400, 413)
    r = client.act(f"/api/annotations/{a}/accept", {"version": 1}, headers={"X-CSRF-Token": "жаба".encode()})
    assert r.status_code == 403
    assert _events(store) == [] and _ann(store, a).version == 1


# -- image files --------------------------------------------------------------------------------

def test_images_are_served_by_store_id_only(client, store, tmp_path):
    img = store.images[0]
    r = client.get(f"/files/{img}")
    with Session(store.engine) as s:
        path = store.data_dir / s.get(m.Image, img).local_path
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content == path.read_bytes()
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    attempts = ["/files/..%2F..%2Fsecret.txt", "/files/../../secret.txt", f"/files/{img}/../../../secret.txt",
                f"/files/{img}%2F..%2F..%2Fsecret.txt", "/files/%2e%2e/secret.txt", "/files/-1", "/files/999999",
                "/static/../app.py", "/static/..%2Fapp.py", "/static/%2e%2e/app.py", "/static/..%5Capp.py",
                "/files/" + str(tmp_path / "secret.txt")]
    for url in attempts:
        r = client.get(url)
        assert r.status_code in (404, 422), url
        assert b"top secret" not in r.content and b"create_app" not in r.content, url
    # a store row pointing outside the data folder (a hostile or broken store) is not followed
    with Session(store.engine) as s:
        s.execute(update(m.Image).where(m.Image.id == store.images[1]).values(local_path="../secret.txt"))
        s.execute(update(m.Image).where(m.Image.id == store.images[2]).values(local_path=str(secret)))
        s.commit()
    for i in (1, 2):
        r = client.get(f"/files/{store.images[i]}")
        assert r.status_code == 404 and b"top secret" not in r.content


def test_thumbnails_for_the_queue(client, store, tmp_path):
    import io

    from PIL import Image as PILImage

    img = store.images[0]
    with Session(store.engine) as s:
        path = store.data_dir / s.get(m.Image, img).local_path
    PILImage.new("RGB", (1200, 800), (200, 30, 30)).save(path)  # a big photo
    r = client.get(f"/thumbs/{img}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    thumb = PILImage.open(io.BytesIO(r.content))
    assert thumb.size == (160, 107) and thumb.getpixel((80, 50))[0] > 150
    assert client.get(f"/thumbs/{img}").content == r.content  # from memory the second time
    assert client.get("/thumbs/999999").status_code == 404
    path.write_bytes(b"not an image")
    assert client.get(f"/thumbs/{store.images[1]}").status_code == 200
    with Session(store.engine) as s:
        broken = store.data_dir / s.get(m.Image, store.images[2]).local_path
    broken.write_bytes(b"not an image")
    r = client.get(f"/thumbs/{store.images[2]}")
    assert r.status_code == 404 and "cannot be read" in r.json()["error"]
    assert 'src="/thumbs/' in client.get("/").text


def test_static_files_are_served(client):
    assert "use strict" in client.get("/static/review.js").text
    assert client.get("/static/app.css").status_code == 200


def test_behind_a_reverse_proxy_the_public_origin_may_write(live, store):
    """An HTTPS proxy forwards to the app on 127.0.0.1: the browser's Origin is the public
    address, not the app's own scheme and Host. With public_url that origin may write (and the
    public Host is answered); other origins are still refused."""
    public = "https://review.example.org"
    serve(live, store, public_url=public + "/")
    a = store.anns["4:player"]
    with Reviewer(base_url=live.url, follow_redirects=True, timeout=30) as c:
        assert c.login("ivan").status_code == 200
        refused = c.act(f"/api/annotations/{a}/accept", {"version": 1}, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403 and "cross-site" in refused.json()["error"]
        ok = c.act(f"/api/annotations/{a}/accept", {"version": 1}, headers={"Origin": public})
        assert ok.status_code == 200 and _ann(store, a).status == "accepted"
        # A proxy that keeps the public Host header is answered too; an unknown Host is not.
        assert c.get("/login", headers={"Host": "review.example.org"}).status_code == 200
        assert c.get("/login", headers={"Host": "evil.example"}).status_code == 400
    # Without it, the proxy's requests are cross-site.
    serve(live, store)
    with Reviewer(base_url=live.url, follow_redirects=True, timeout=30) as c:
        assert c.login("ivan").status_code == 200
        assert c.act(f"/api/annotations/{a}/reject", {"version": 2}, headers={"Origin": public}).status_code == 403


@pytest.mark.parametrize("bad", ["review.example.org", "ftp://review.example.org", "https://", "https://x.org/review?a=1"])
def test_a_public_url_must_be_an_http_origin(store, bad):
    from corpus.web.server import ServeError, build as build_app

    with pytest.raises(ServeError, match="public URL") as err:
        build_app(store.engine, store.data_dir, domain=None, lang="en", host="127.0.0.1", token=None, public_url=bad)
    assert err.value.param == "public_url"
