"""Export built domains as JSON, CSV (one row per class and language) or SKOS (Turtle).

SKOS is what thesaurus tools expect: one ``skos:Concept`` per class with a ``skos:prefLabel``
per language (the class's unique name) and the lemmas as ``skos:altLabel``, ``skos:broader`` for
parent classes and ``skos:related`` between an attribute and its dominant class. Every lemma is
also a SKOS-XL label (``skosxl:altLabel``) that carries its provenance: ``dct:source``,
``dct:license``, the method (``mic:method``) and ``mic:shareAlike``. Activity lemmas (queries,
not names) are SKOS-XL hidden labels.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable
from urllib.parse import quote

from corpus.errors import UsageError
from ontology.languages import LANGUAGES, check_languages
from ontology.model import DomainOntology, domain_to_doc, dumps

FORMATS = ("json", "csv", "skos")
BASE_IRI = "https://w3id.org/mic-corpus/ontology/"
CSV_COLUMNS = (
    "domain", "synset", "kind", "name", "category_id", "origin_synset", "parents", "attribute_of",
    "lang", "lemmas", "definition", "source", "name", "lemma_sources",
)


def export(domains: Iterable[DomainOntology], fmt: str, langs: Iterable[str] | None = None) -> str:
    langs = check_languages(langs) if langs else LANGUAGES
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
                    (label.key or "") if label else "",
                    "|".join(f"{p.source};{p.method};{p.license};{'sa' if p.share_alike else ''}"
                             for p in label.provenance) if label else "",
                ])
    return buf.getvalue()


def _iri(kind: str, *parts: str) -> str:
    return f"<{BASE_IRI}{kind}/" + "/".join(quote(p, safe="._-") for p in parts) + ">"


def _lit(text: str, lang: str | None = None) -> str:
    esc = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{esc}"@{lang}' if lang else f'"{esc}"'


def _xl_label(lemma: str, lang: str, p) -> str:
    pred = "skosxl:hiddenLabel" if p is not None and p.method == "activity" else "skosxl:altLabel"
    parts = ["a skosxl:Label", f"skosxl:literalForm {_lit(lemma, lang)}"]
    if p is not None:
        parts += [f"dct:source {_lit(p.source)}", f"mic:method {_lit(p.method)}",
                  f"dct:license {_lit(p.license)}", f"mic:shareAlike {'true' if p.share_alike else 'false'}"]
    return f"{pred} [ " + " ; ".join(parts) + " ]"


def to_skos(domains: list[DomainOntology], langs: tuple[str, ...]) -> str:
    out = [
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
        "@prefix skosxl: <http://www.w3.org/2008/05/skos-xl#> .",
        f"@prefix mic: <{BASE_IRI}vocab#> .",
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
                if label.key:
                    props.append(f"skos:prefLabel {_lit(label.key, lang)}")
                    props += [f"skos:altLabel {_lit(l, lang)}" for l in label.names if l != label.key]
                for lemma, p in label.lemma_sources():
                    props.append(_xl_label(lemma, lang, p))
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
