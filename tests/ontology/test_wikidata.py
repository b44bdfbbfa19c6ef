"""`corpus ontology enrich --from wikidata` against a real local HTTP server that replays the
documented Wikidata response shapes (../shared/docs/api-examples/wikidata, docs/wikidata.md)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ontology import wikidata as WD


class Replay:
    """Answers wbgetentities (GET /w/api.php) and SPARQL (POST /sparql) like Wikidata does; the
    first ``fail_first`` API calls get a 429 and then a maxlag error, each with Retry-After."""

    def __init__(self, shared_dir, qid_of_ili: dict[str, str], labels: dict[str, dict[str, str]]):
        ex = shared_dir / "docs" / "api-examples"
        self.maxlag_body = json.loads((ex / "commons_error_maxlag.json").read_text(encoding="utf-8"))
        self.no_such = json.loads((ex / "wikidata" / "wbgetentities_error_no_such_entity.json").read_text(encoding="utf-8"))
        self.fallback = json.loads((ex / "wikidata" / "wbgetentities_languagefallback_RECONSTRUCTED.json").read_text(encoding="utf-8"))
        self.redirect = json.loads((ex / "wikidata" / "wbgetentities_redirect.json").read_text(encoding="utf-8"))
        self.qid_of_ili, self.labels = qid_of_ili, labels
        self.calls: list[dict] = []
        self.script: list[str] = ["429", "maxlag"]  # what the next API calls get, then normal answers

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        if method == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            params = {k: v[0] for k, v in parse_qs(h.rfile.read(n).decode("utf-8")).items()}
        else:
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append({"path": url.path, "method": method, "params": params, "ua": h.headers.get("User-Agent")})
        if url.path == "/sparql":
            bindings = [{"item": {"type": "uri", "value": f"http://www.wikidata.org/entity/{q}"},
                         "ili": {"type": "literal", "value": ili}}
                        for ili, q in self.qid_of_ili.items() if f'"{ili}"' in params["query"]]
            return self._json(h, 200, {"head": {"vars": ["item", "ili", "ssid"]}, "results": {"bindings": bindings}})
        if self.script:
            what = self.script.pop(0)
            if what == "429":
                return self._json(h, 429, {"error": "too many requests"}, {"Retry-After": "2"})
            return self._json(h, 200, self.maxlag_body, {"Retry-After": "3", "X-Database-Lag": "6"})
        ids = params["ids"].split("|")
        if "Qbad" in ids:  # the client validates ids: this answer means it did not
            return self._json(h, 200, self.no_such)
        langs = params["languages"].split("|")
        ents = {}
        for q in ids:
            if q == "Q146":
                ents[q] = self.fallback["entities"]["Q146"]
            elif q == "Q53265341":
                ents[q] = self.redirect["entities"]["Q53265341"]
            elif q in self.labels:
                ents[q] = {"type": "item", "id": q,
                           "labels": {l: {"language": l, "value": v} for l, v in self.labels[q].items() if l in langs},
                           "aliases": {"de": [{"language": "de", "value": f"{self.labels[q].get('de', 'x')}-Alias"}]}}
            else:
                ents[q] = {"id": q, "missing": ""}
        return self._json(h, 200, {"entities": ents, "success": 1})

    @staticmethod
    def _json(h, status, body, headers=None):
        raw = json.dumps(body).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)


@pytest.fixture
def replay(shared_dir):
    holder: dict = {}

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            holder["r"].handle(self, "GET")

        def do_POST(self):
            holder["r"].handle(self, "POST")

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()

    def make(qid_of_ili, labels):
        holder["r"] = Replay(shared_dir, qid_of_ili, labels)
        holder["r"].base = f"http://127.0.0.1:{server.server_address[1]}"
        return holder["r"]

    yield make
    server.shutdown()
    server.server_close()


def _client(r, tmp_path, waits=None):
    return WD.Client("tests@example.org", f"{r.base}/w/api.php", f"{r.base}/sparql", tmp_path / "cache",
                     sleep=(waits.append if waits is not None else (lambda s: None)))


def test_labels_are_batched_by_50_with_user_agent_maxlag_and_backoff(replay, tmp_path):
    labels = {f"Q{i}": {"en": f"thing {i}", "de": f"Ding {i}"} for i in range(1000, 1051)}  # 51 ids
    r = replay({}, labels)
    waits: list[float] = []
    with _client(r, tmp_path, waits) as c:
        got = c.labels(list(labels))
    api = [x for x in r.calls if x["path"] == "/w/api.php"]
    assert len(api) == 4  # 429, maxlag, then 50 + 1 ids
    assert waits == [2.0, 3.0]  # Retry-After of the 429, then of the maxlag answer
    sizes = [len(x["params"]["ids"].split("|")) for x in api[2:]]
    assert sizes == [50, 1]
    for x in api:
        assert x["params"]["maxlag"] == "5" and x["params"]["action"] == "wbgetentities"
        assert x["ua"].startswith("mic-corpus-ontology/") and "tests@example.org" in x["ua"]
        assert set(x["params"]["languages"].split("|")) == set(WD.LANGUAGES)
    assert got["Q1000"]["de"] == ["Ding 1000", "Ding 1000-Alias"] and got["Q1050"]["en"] == ["thing 1050"]
    # the cache answers a rerun without a request
    with _client(r, tmp_path) as c:
        assert c.labels(list(labels)) == got
    assert len([x for x in r.calls if x["path"] == "/w/api.php"]) == 4


def test_fallback_labels_redirects_missing_and_bad_ids(replay, tmp_path):
    r = replay({}, {"Q44": {"en": "beer"}})
    r.script = []
    with _client(r, tmp_path) as c:
        got = c.labels(["Q146", "Q53265341", "Q10908976", "Q44"], langs=["en", "sr", "sq"])
    assert got["Q146"] == {"en": ["house cat"], "sr": ["мачка"]}  # the English "sq" fallback is refused
    assert got["Q53265341"]["en"] == ["The Rolling Stones"]  # filed under the id asked for
    assert "Q10908976" not in got and got["Q44"] == {"en": ["beer"]}
    assert "Qbad" not in WD.QID.pattern and not WD.QID.match("Qbad")  # malformed ids never go out


def test_enrich_writes_wikidata_lemmas_into_the_built_data(replay, tmp_path, ontology_dir, wordnet_ready, monkeypatch):
    from typer.testing import CliRunner

    from cli import app
    from ontology import load_domain

    monkeypatch.delenv("CORPUS_FREEDICT", raising=False)
    runner = CliRunner()
    res = runner.invoke(app, ["ontology", "build", "--ontology-dir", str(ontology_dir)])
    assert res.exit_code == 0, res.output
    dom = load_domain("mini", ontology_dir / "data")
    tennis = dom.get("tennis_player.n.01")
    assert tennis.ili == "i93599"
    r = replay({"i93599": "Q10833314"}, {"Q10833314": {"en": "tennis player", "is": "tennisleikari", "de": "Tennisspieler"}})
    res = runner.invoke(app, [
        "ontology", "enrich", "--from", "wikidata", "--contact", "tests@example.org",
        "--api-url", f"{r.base}/w/api.php", "--sparql-url", f"{r.base}/sparql", "--cache", str(tmp_path / "c"),
        "--ontology-dir", str(ontology_dir),
    ], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "1 of" in res.output
    sparql = [x for x in r.calls if x["path"] == "/sparql"]
    assert len(sparql) == 1 and sparql[0]["method"] == "POST" and '"i93599"' in sparql[0]["params"]["query"]
    assert "P5063" in sparql[0]["params"]["query"] and "P8814" in sparql[0]["params"]["query"]
    assert '"10720829-n"' in sparql[0]["params"]["query"]  # the WordNet 3.1 id, through CILI
    enrichment = json.loads((ontology_dir / "enrichment" / "wikidata.json").read_text(encoding="utf-8"))
    assert enrichment["items"]["tennis_player.n.01"]["qid"] == "Q10833314"
    dom = load_domain("mini", ontology_dir / "data")
    label = dom.get("tennis_player.n.01").labels["is"]
    assert label.lemmas[0] == "tennisleikari"
    p = label.provenance[0]
    assert (p.source, p.method, p.license, p.share_alike) == ("wikidata:Q10833314", "wikidata", "CC0 1.0", False)
    de = dict(dom.get("tennis_player.n.01").labels["de"].lemma_sources())
    assert de["Tennisspieler"].method in ("wikidata", "wiktionary") and "Tennisspieler-Alias" in de
    assert any(e["source"] == "wikidata" for e in json.loads(
        (ontology_dir / "data" / "mini.json").read_text(encoding="utf-8"))["sources"]["is"])


def test_enrich_needs_a_contact(ontology_dir):
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, ["ontology", "enrich", "--ontology-dir", str(ontology_dir)], env={"CORPUS_CONTACT": ""})
    assert res.exit_code != 0 and "--contact" in res.output
