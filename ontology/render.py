"""Text views of built domains for the CLI: the class tree and the coverage tables."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ontology.labels import coverage
from ontology.languages import LANGUAGE_NAMES, LANGUAGES, has_wordnet
from ontology.model import DomainOntology, OntologyClassData


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


def coverage_rows(doms: list[DomainOntology]) -> list[tuple[str, list[float], float]]:
    """(lang, share per domain, share over all classes of all domains) per language."""
    per = [coverage(d.classes) for d in doms]
    allc = coverage([c for d in doms for c in d.classes])
    return [(lang, [p[lang] for p in per], allc[lang]) for lang in LANGUAGES]


def coverage_table(doms: list[DomainOntology]) -> Table:
    t = Table(title="share of classes with at least one lemma")
    t.add_column("lang")
    t.add_column("wordnet")
    for d in doms:
        t.add_column(f"{d.name} ({len(d.classes)})", justify="right")
    t.add_column("all", justify="right")
    for lang, shares, total in coverage_rows(doms):
        t.add_row(f"{lang} {LANGUAGE_NAMES[lang]}", "yes" if has_wordnet(lang) else "no",
                  *(f"{s * 100:.1f} %" for s in shares), f"{total * 100:.1f} %")
    return t


def coverage_markdown(doms: list[DomainOntology]) -> str:
    head = ["lang", "own wordnet"] + [f"{d.name} ({len(d.classes)})" for d in doms] + ["all"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lang, shares, total in coverage_rows(doms):
        cells = [f"{lang} ({LANGUAGE_NAMES[lang]})", "yes" if has_wordnet(lang) else "no"]
        cells += [f"{s * 100:.1f} %" for s in shares] + [f"{total * 100:.1f} %"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
