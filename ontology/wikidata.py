"""Names from Wikidata (labels and aliases are CC0), for `corpus ontology enrich --from wikidata`.

Path: a class's ILI id (in the built data, from CILI) -> Wikidata items carrying it as P5063, or
carrying its WordNet 3.1 offset as P8814 (CILI maps the ILI to 3.1; 3.0 offsets are never compared
with 3.1 ones) -> ``wbgetentities`` labels and aliases in our 25 languages.

Politeness (https://meta.wikimedia.org/wiki/User-Agent_policy, API:Etiquette): a User-Agent with
a contact, one request at a time, ``maxlag=5`` on every Action API call, at most 50 ids per
``wbgetentities`` call, one SPARQL query per few hundred values (POST), backoff on HTTP 429/5xx
and on ``maxlag`` errors honouring ``Retry-After``, and an on-disk cache so a rerun asks nothing
twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import httpx

from corpus.errors import RemoteError
from corpus.retry_after import parse_retry_after

from ontology.languages import LANGUAGES

API_URL = "https://www.wikidata.org/w/api.php"
SPARQL_URL = "https://query.wikidata.org/sparql"
MAX_IDS = 50  # wbgetentities limit for clients without apihighlimits
SPARQL_BATCH = 200  # values per SPARQL query (POST)
MAXLAG = 5
QID = re.compile(r"^Q[1-9]\d*$")
# Our ISO 639-1 codes are Wikidata's codes for all 25 languages; Wikidata's "sr" is Cyrillic.
WIKIDATA_LANG = {lang: lang for lang in LANGUAGES}


class WikidataError(RemoteError):
    pass


@dataclass
class Client:
    """One polite client for the Action API and the Query Service."""

    contact: str
    api_url: str = API_URL
    sparql_url: str = SPARQL_URL
    cache_dir: Path | None = None
    max_retries: int = 6
    timeout_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.contact or "@" not in self.contact and "://" not in self.contact:
            raise WikidataError("Wikimedia asks every client for a contact: give an e-mail address or URL "
                                "(you@example.org)", param="contact")
        self.user_agent = f"mic-corpus-ontology/0.1 ({self.contact}) httpx/{httpx.__version__}"
        self._http = httpx.Client(timeout=self.timeout_s, headers={"User-Agent": self.user_agent})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return Path(self.cache_dir) / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".json")

    def _request(self, method: str, url: str, params: Mapping[str, str], accept: str) -> Any:
        key = method + " " + url + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        cached = self._cache_path(key)
        if cached is not None and cached.is_file():
            try:
                return json.loads(cached.read_text(encoding="utf-8"))
            except ValueError:
                pass  # a torn cache file: ask again
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                if method == "POST":
                    r = self._http.post(url, data=dict(params), headers={"Accept": accept})
                else:
                    r = self._http.get(url, params=dict(params), headers={"Accept": accept})
            except httpx.TransportError as exc:
                self._wait(None, attempt, f"{url}: {exc}")
                continue
            if r.status_code == 429 or r.status_code >= 500:
                self._wait(_retry_after(r), attempt, f"{url}: HTTP {r.status_code}")
                continue
            if r.status_code != 200:
                raise WikidataError(f"{url}: HTTP {r.status_code}: {r.text[:200]}")
            try:
                body = r.json()
            except ValueError:
                raise WikidataError(f"{url}: the answer is not JSON: {r.text[:200]!r}") from None
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict) and err.get("code") == "maxlag":
                # HTTP 200 with a maxlag error: the servers are lagging, come back later
                lag = _float(err.get("lag"))
                self._wait(_retry_after(r) or lag, attempt, f"{url}: maxlag ({err.get('info', '')})")
                continue
            if cached is not None and not err:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp")
                tmp.write_text(json.dumps(body), encoding="utf-8")
                tmp.replace(cached)
            return body
        raise WikidataError(f"{url}: gave up after {self.max_retries + 1} tries (rate limited or lagging)")

    def _wait(self, server_wait: float | None, attempt: int, what: str) -> None:
        if attempt >= self.max_retries:
            raise WikidataError(f"{what}; gave up after {attempt + 1} tries")
        wait = server_wait if server_wait is not None else min(60.0, 2.0 ** attempt)
        self.waits.append(wait)
        self.sleep(wait)

    # --- queries -----------------------------------------------------------------------------

    def items(self, ilis: Iterable[str], wn31: Mapping[str, str] | None = None) -> dict[str, list[tuple[str, int]]]:
        """ILI id -> [(QID, evidence)] where evidence counts the properties that agree (P5063 by
        the ILI, P8814 by its WordNet 3.1 offset)."""
        ilis = sorted(set(ilis))
        wn31 = dict(wn31 or {})
        back = {v: k for k, v in wn31.items()}
        found: dict[str, dict[str, int]] = {}
        for i in range(0, len(ilis), SPARQL_BATCH):
            batch = ilis[i:i + SPARQL_BATCH]
            ssids = [wn31[x] for x in batch if x in wn31]
            query = (
                "SELECT ?item ?ili ?ssid WHERE { { VALUES ?ili { " + " ".join(f'"{x}"' for x in batch)
                + " } ?item wdt:P5063 ?ili } UNION { VALUES ?ssid { " + " ".join(f'"{x}"' for x in ssids)
                + " } ?item wdt:P8814 ?ssid } }"
            )
            body = self._request("POST", self.sparql_url, {"query": query, "format": "json"},
                                 "application/sparql-results+json")
            try:
                bindings = body["results"]["bindings"]
            except (KeyError, TypeError):
                raise WikidataError(f"{self.sparql_url}: not SPARQL JSON results") from None
            for b in bindings:
                qid = str(b.get("item", {}).get("value", "")).rsplit("/", 1)[-1]
                if not QID.match(qid):
                    continue
                ili = b.get("ili", {}).get("value") or back.get(b.get("ssid", {}).get("value", ""))
                if ili in batch:
                    found.setdefault(ili, {})
                    found[ili][qid] = found[ili].get(qid, 0) + 1
        return {ili: sorted(qs.items(), key=lambda t: (-t[1], int(t[0][1:]))) for ili, qs in found.items()}

    def labels(self, qids: Iterable[str], langs: Iterable[str] = LANGUAGES) -> dict[str, dict[str, list[str]]]:
        """QID -> language -> [label, aliases...], in batches of at most 50 ids. A merged item is
        filed under the QID asked for; a label that fell back to another language is refused."""
        qids = [q for q in dict.fromkeys(qids) if QID.match(q)]
        langs = list(langs)
        out: dict[str, dict[str, list[str]]] = {}
        for i in range(0, len(qids), MAX_IDS):
            batch = qids[i:i + MAX_IDS]
            self._labels_batch(batch, langs, out)
        return out

    def _labels_batch(self, batch: list[str], langs: list[str], out: dict[str, dict[str, list[str]]]) -> None:
        codes = [WIKIDATA_LANG[l] for l in langs]
        body = self._request("GET", self.api_url, {
            "action": "wbgetentities", "format": "json", "ids": "|".join(batch), "props": "labels|aliases",
            "languages": "|".join(codes), "maxlag": str(MAXLAG),
        }, "application/json")
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            if err.get("code") == "no-such-entity" and len(batch) > 1:
                for q in batch:  # one bad id spoils the batch: ask one by one
                    self._labels_batch([q], langs, out)
                return
            if err.get("code") == "no-such-entity":
                return
            raise WikidataError(f"wbgetentities: {err.get('code')}: {err.get('info', '')}")
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, dict):
            raise WikidataError("wbgetentities: the answer has no 'entities'")
        for asked, ent in entities.items():
            if not isinstance(ent, dict) or "missing" in ent:
                continue
            per: dict[str, list[str]] = {}
            labels = ent.get("labels") or {}
            aliases = ent.get("aliases") or {}
            for lang, code in zip(langs, codes):
                texts: list[str] = []
                lab = labels.get(code) if isinstance(labels, dict) else None
                if isinstance(lab, dict) and lab.get("language") == code and lab.get("value"):
                    texts.append(str(lab["value"]))
                als = aliases.get(code, []) if isinstance(aliases, dict) else []
                for a in als if isinstance(als, list) else []:
                    if isinstance(a, dict) and a.get("language") == code and a.get("value") and a["value"] not in texts:
                        texts.append(str(a["value"]))
                if texts:
                    per[lang] = texts
            out[asked] = per


def _retry_after(r: httpx.Response) -> float | None:
    return parse_retry_after(r.headers.get("Retry-After"), time.time())


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f >= 0 else None


def fetch(classes: Iterable[Any], client: Client, wn31: Mapping[str, str] | None = None,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The enrichment table for ``classes`` (objects with ``synset`` and ``ili``): synset ->
    {"qid", "candidates", "labels"}."""
    by_ili: dict[str, list[str]] = {}
    for c in classes:
        if getattr(c, "ili", None):
            by_ili.setdefault(c.ili, []).append(c.synset)
    if progress:
        progress(f"finding items for {len(by_ili)} synsets")
    items = client.items(by_ili, {k: v for k, v in (wn31 or {}).items() if k in by_ili})
    chosen = {ili: qs[0][0] for ili, qs in items.items() if qs}
    if progress:
        progress(f"fetching labels of {len(chosen)} items")
    labels = client.labels(sorted(set(chosen.values()), key=lambda q: int(q[1:])))
    out: dict[str, Any] = {}
    for ili, qid in sorted(chosen.items()):
        for synset in sorted(by_ili[ili]):
            out[synset] = {
                "qid": qid, "ili": ili,
                "candidates": [q for q, _ in items[ili]],  # several items per synset happen (doc §7.2)
                "labels": labels.get(qid, {}),
            }
    return out


def write_enrichment(path: Path, items: Mapping[str, Any], merge: bool = True) -> dict[str, Any]:
    """Write (merging with what is there) the enrichment file the build reads."""
    path = Path(path)
    old: dict[str, Any] = {}
    if merge and path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8")).get("items", {})
        except ValueError:
            old = {}
    merged = {**old, **items}
    doc = {
        "about": "Wikidata labels and aliases (CC0 1.0) per synset, fetched by `corpus ontology enrich "
                 "--from wikidata` through the Interlingual Index (P5063) and WordNet 3.1 ids (P8814).",
        "license": "CC0 1.0",
        "items": dict(sorted(merged.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return doc
