"""Stable COCO category ids: one committed registry ``data/category_ids.json`` (synset -> id).

A synset keeps its id for ever, across domains and rebuilds; a new synset gets the next free id;
ids of synsets that left the ontology are never given to another synset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ontology.model import dumps


@dataclass
class CategoryRegistry:
    ids: dict[str, int] = field(default_factory=dict)
    next_id: int = 1

    @classmethod
    def load(cls, path: Path) -> "CategoryRegistry":
        if not Path(path).is_file():
            return cls()
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        ids = {str(k): int(v) for k, v in doc.get("ids", {}).items()}
        next_id = max([int(doc.get("next_id", 1)), *(v + 1 for v in ids.values())])
        return cls(ids, next_id)

    def assign(self, synsets: Iterable[str]) -> list[str]:
        """Give ids to the synsets that have none, in the given order; returns the new ones."""
        new = []
        for s in synsets:
            if s not in self.ids:
                self.ids[s] = self.next_id
                self.next_id += 1
                new.append(s)
        return new

    def to_text(self) -> str:
        return dumps({
            "about": "Stable COCO category ids per WordNet 3.0 synset. Ids are never reused; "
                     "`corpus ontology build` adds new synsets with the next free id.",
            "next_id": self.next_id,
            "ids": dict(sorted(self.ids.items())),
        })

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_text(), encoding="utf-8")
