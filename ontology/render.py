"""Text views of built domains for the CLI: the class tree and the coverage tables."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ontology.labels import coverage
from ontology.languages import LANGUAGE_NAMES, LANGUAGES, has_wordnet
from ontology.model import METHOD_RANK, METHODS, DomainOntology, OntologyClassData

SOURCE_COLUMNS = METHODS  # wordnet, human, wikidata, wiktionary, cldr, dictionary, activity


def _node(c: OntologyClassData, lang: str) -> Text:
    lemmas = c.lemmas(lang)
    t = Text()
    t.append(c.name, style="bold" if c.kind == "dominant" else ("dim" if c.kind == "attribute" else ""))
    t.append(f" [{c.synset}]", style="cyan")
    if lang != "en" or not lemmas:
        t.append(" — " + (", ".join(lemmas) if lemmas else "-"), style="green" if lemmas else "red")
    return t


def domain_tree(dom: DomainOntology, lang: str = "en", attributes: bool = True) -> Tree:
    """Parent and dominant classes as a tree, attribute classes under the dominant classes they
    go with. A class with several parents is drawn in full under the first and marked "also
    under" the others; under each other parent it appears as a one-line reference, so every
    is-a link of the data is in the tree and no subtree is printed twice."""
    tree = Tree(Text(f"{dom.name} ({len(dom.dominant)} dominant, {len(dom.classes)} classes, version {dom.version})", style="bold"))
    structural = [c for c in dom.classes if c.kind != "attribute"]
    by_synset = {c.synset: c for c in structural}
    children: dict[str, list[tuple[OntologyClassData, bool]]] = {}  # parent -> (child, drawn in full)
    tops = []
    for c in sorted(structural, key=lambda c: (c.name, c.synset)):
        ps = [p for p in c.parents if p in by_synset]
        if not ps:
            tops.append(c)
        for i, p in enumerate(ps):
            children.setdefault(p, []).append((c, i == 0))
    attrs: dict[str, list[OntologyClassData]] = {}
    for c in sorted(dom.classes, key=lambda c: (c.name, c.synset)):
        for d in c.attribute_of:
            attrs.setdefault(d, []).append(c)

    def add(branch: Tree, c: OntologyClassData) -> None:
        label = _node(c, lang)
        others = [by_synset[p].name for p in c.parents if p in by_synset][1:]
        if others:
            label.append(f" (also under {', '.join(others)})", style="italic")
        node = branch.add(label)
        if attributes and attrs.get(c.synset):
            sub = node.add(Text("with", style="italic dim"))
            for a in attrs[c.synset]:
                sub.add(_node(a, lang))
        for child, full in children.get(c.synset, []):
            if full:
                add(node, child)
            else:
                first = by_synset[[p for p in child.parents if p in by_synset][0]].name
                ref = _node(child, lang)
                ref.append(f" (drawn under {first})", style="italic")
                node.add(ref)

    for c in tops:
        add(tree, c)
    return tree


def _classes(d: DomainOntology, dominant: bool = False) -> list[OntologyClassData]:
    return d.dominant if dominant else d.classes


def coverage_rows(doms: list[DomainOntology], dominant: bool = False) -> list[tuple[str, list[float], float]]:
    """(lang, share per domain, share over all classes of all domains) per language."""
    per = [coverage(_classes(d, dominant)) for d in doms]
    allc = coverage([c for d in doms for c in _classes(d, dominant)])
    return [(lang, [p[lang] for p in per], allc[lang]) for lang in LANGUAGES]


def coverage_table(doms: list[DomainOntology], dominant: bool = False) -> Table:
    t = Table(title=f"share of {'dominant ' if dominant else ''}classes with at least one name")
    t.add_column("lang")
    t.add_column("wordnet")
    for d in doms:
        t.add_column(f"{d.name} ({len(_classes(d, dominant))})", justify="right")
    t.add_column("all", justify="right")
    for lang, shares, total in coverage_rows(doms, dominant):
        t.add_row(f"{lang} {LANGUAGE_NAMES[lang]}", "yes" if has_wordnet(lang) else "no",
                  *(f"{s * 100:.1f} %" for s in shares), f"{total * 100:.1f} %")
    return t


def coverage_markdown(doms: list[DomainOntology], dominant: bool = False) -> str:
    head = ["lang", "own wordnet"] + [f"{d.name} ({len(_classes(d, dominant))})" for d in doms] + ["all"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lang, shares, total in coverage_rows(doms, dominant):
        cells = [f"{lang} ({LANGUAGE_NAMES[lang]})", "yes" if has_wordnet(lang) else "no"]
        cells += [f"{s * 100:.1f} %" for s in shares] + [f"{total * 100:.1f} %"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def source_rows(doms: list[DomainOntology], dominant: bool = False) -> list[tuple[str, dict[str, float], float]]:
    """Per language: the share of classes whose best name comes from each method, and the share
    that only the activity fallback gives a query for."""
    classes = [c for d in doms for c in _classes(d, dominant)]
    n = len(classes) or 1
    rows = []
    for lang in LANGUAGES:
        share = {m: 0.0 for m in SOURCE_COLUMNS}
        for c in classes:
            best = best_method(c, lang)
            if best:
                share[best] += 1 / n
        rows.append((lang, share, sum(v for k, v in share.items() if k != "activity")))
    return rows


def best_method(c: OntologyClassData, lang: str) -> str | None:
    label = c.labels.get(lang)
    if not label or not label.lemmas:
        return None
    methods = [p.method for _, p in label.lemma_sources() if p is not None]
    if not methods:
        return "wordnet"  # format-1 data: one source per label, wordnet chains
    named = [m for m in methods if m != "activity"]
    return min(named, key=METHOD_RANK.__getitem__) if named else "activity"


def source_table(doms: list[DomainOntology], dominant: bool = False) -> Table:
    t = Table(title=f"share of {'dominant ' if dominant else ''}classes by the best source of their name")
    t.add_column("lang")
    for m in SOURCE_COLUMNS:
        t.add_column(m, justify="right")
    t.add_column("named", justify="right")
    for lang, share, named in source_rows(doms, dominant):
        t.add_row(lang, *(f"{share[m] * 100:.1f} %" for m in SOURCE_COLUMNS), f"{named * 100:.1f} %")
    return t


def source_markdown(doms: list[DomainOntology], dominant: bool = False) -> str:
    head = ["lang", *SOURCE_COLUMNS, "named"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lang, share, named in source_rows(doms, dominant):
        lines.append("| " + " | ".join([lang, *(f"{share[m] * 100:.1f}" for m in SOURCE_COLUMNS), f"{named * 100:.1f}"]) + " |")
    return "\n".join(lines)
