"""Export built domains as JSON, CSV (one row per class and language) or SKOS (Turtle).

SKOS is what thesaurus tools expect: one ``skos:Concept`` per class with a ``skos:prefLabel``
per language (the first lemma) and the other lemmas as ``skos:altLabel``, ``skos:broader`` for
parent classes and ``skos:related`` between an attribute and its dominant class.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable
from urllib.parse import quote

from corpus.errors import UsageError
from ontology.languages import LANGUAGES
from ontology.model import DomainOntology, domain_to_doc, dumps

FORMATS = ("json", "csv", "skos")
BASE_IRI = "https://w3id.org/mic-corpus/ontology/"
CSV_COLUMNS = (
    "domain", "synset", "kind", "name", "category_id", "origin_synset", "parents", "attribute_of",
    "lang", "lemmas", "definition", "source",
)


def export(domains: Iterable[DomainOntology], fmt: str, langs: Iterable[str] | None = None) -> str:
    langs = tuple(langs) if langs else LANGUAGES
    unknown = [l for l in langs if l not in LANGUAGES]
    if unknown:
        raise UsageError(f"unknown language(s) {', '.join(unknown)}; use some of: {' '.join(LANGUAGES)}")
    domains = list(domains)
    if fmt == "json":
        return to_json(domains)
    if fmt == "csv":
        return to_csv(domains, langs)
    if fmt == "skos":
        return to_skos(domains, langs)
    raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def to_json(domains: list[DomainOntology]) -> str:
    return dumps({"domains": [domain_to_doc(d) for d in domains]})


def to_csv(domains: list[DomainOntology], langs: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for dom in domains:
        for c in dom.classes:
            for lang in langs:
                label = c.labels.get(lang)
                w.writerow([
                    dom.name, c.synset, c.kind, c.name, c.category_id, c.origin_synset or "",
                    ";".join(c.parents), ";".join(c.attribute_of), lang,
                    "|".join(label.lemmas) if label else "", (label.definition or "") if label else "",
                    label.source if label else "",
                ])
    return buf.getvalue()


def _iri(kind: str, *parts: str) -> str:
    return f"<{BASE_IRI}{kind}/" + "/".join(quote(p, safe="._-") for p in parts) + ">"


def _lit(text: str, lang: str | None = None) -> str:
    esc = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{esc}"@{lang}' if lang else f'"{esc}"'


def to_skos(domains: list[DomainOntology], langs: tuple[str, ...]) -> str:
    out = [
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
        "",
    ]
    for dom in domains:
        scheme = _iri("domain", dom.name)
        in_domain = {c.synset for c in dom.classes}
        out += [
            f"{scheme} a skos:ConceptScheme ;",
            f"    skos:prefLabel {_lit(dom.name, 'en')} ;",
            f"    dct:description {_lit(dom.description, 'en')} ;",
            f"    dct:hasVersion {_lit(dom.version)} .",
            "",
        ]
        for c in dom.classes:
            # Concepts are per domain: the same synset may sit differently in two domains.
            props = [
                "a skos:Concept",
                f"skos:inScheme {scheme}",
                f"skos:notation {_lit(str(c.category_id))}",
                f"dct:identifier {_lit(c.synset)}",
                f"dct:type {_lit(c.kind)}",
            ]
            for lang in langs:
                label = c.labels.get(lang)
                if not label or not label.lemmas:
                    continue
                props.append(f"skos:prefLabel {_lit(label.lemmas[0], lang)}")
                props += [f"skos:altLabel {_lit(l, lang)}" for l in label.lemmas[1:]]
                if label.definition:
                    props.append(f"skos:definition {_lit(label.definition, lang)}")
            parents = [p for p in c.parents if p in in_domain]
            props += [f"skos:broader {_iri('concept', dom.name, p)}" for p in parents]
            if not parents:
                props.append(f"skos:topConceptOf {scheme}")
            props += [f"skos:related {_iri('concept', dom.name, d)}" for d in c.attribute_of]
            out.append(f"{_iri('concept', dom.name, c.synset)} " + " ;\n    ".join(props) + " .")
            out.append("")
    return "\n".join(out)
