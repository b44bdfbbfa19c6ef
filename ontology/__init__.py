"""The multilingual WordNet ontology: which classes a domain has and their names in 25 languages.

Runtime use needs no WordNet::

    from ontology import load_domain, list_domains
    sport = load_domain("sport")
    sport.get("tennis_player.n.01").labels["bg"].lemmas

Building (``ontology.build``) needs nltk's WordNet and Open Multilingual Wordnet data.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from corpus.errors import NotFoundError
from ontology.languages import LANGUAGES
from ontology.model import DomainOntology, LabelData, OntologyClassData, domain_from_doc

DATA_DIR = Path(__file__).resolve().parent / "data"
DOMAINS_DIR = Path(__file__).resolve().parent / "domains"

__all__ = [
    "LANGUAGES", "DATA_DIR", "DOMAINS_DIR", "DomainOntology", "LabelData", "OntologyClassData",
    "OntologyDataError", "list_domains", "load_domain",
]


class OntologyDataError(NotFoundError):
    """No built ontology for a domain, or its data file is not valid."""


def list_domains(data_dir: Path | None = None) -> list[str]:
    """Names of the built domains (``data/<name>.json``), sorted."""
    d = Path(data_dir) if data_dir else DATA_DIR
    return sorted(p.stem for p in d.glob("*.json") if p.stem != "category_ids")


def load_domain(name: str, data_dir: Path | None = None) -> DomainOntology:
    """The built ontology of domain ``name`` from the committed JSON data."""
    d = Path(data_dir) if data_dir else DATA_DIR
    return _load(str(d.resolve()), name)


@lru_cache(maxsize=32)
def _load(data_dir: str, name: str) -> DomainOntology:
    path = Path(data_dir) / f"{name}.json"
    if name == "category_ids" or not path.is_file():
        known = ", ".join(list_domains(Path(data_dir))) or "none"
        raise OntologyDataError(
            f"no built ontology for domain {name!r} in {data_dir} (known: {known}); "
            "build the ontology, or add the domain from a WordNet root synset (ontology add-domain)"
        )
    try:
        return domain_from_doc(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError) as exc:
        raise OntologyDataError(f"{path} is not valid ontology data: {exc}") from exc
