"""`corpus status`: what the store holds, per domain and review status."""

from __future__ import annotations

import typer
from rich.table import Table

from pathlib import Path
from typing import Optional

from corpus.commands.common import console, handled, state
from corpus.store.models import REVIEW_STATUSES


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status_cmd(
        charts: Optional[Path] = typer.Option(
            None, "--charts", metavar="DIR",
            help="Also draw PNG charts into DIR: images per class, per language and per source for each "
            "domain, images per license.",
        ),
    ) -> None:
        """Print a table of classes, stored images, proposals and annotations per review status,
        for every domain in the store, and its stored images per language and per source.

        Examples: corpus status; corpus status --charts charts/
        """
        from corpus.store.db import safe_url

        with handled():
            rows = state.corpus().status()
        table = Table(title=f"Store {safe_url(state.corpus().db_url)}")
        for col in ("domain", "classes", "images", "proposals", *REVIEW_STATUSES):
            table.add_column(col, justify="left" if col == "domain" else "right")
        for r in rows:
            table.add_row(r.domain, str(r.classes), str(r.images), str(r.proposals),
                          *(str(r.annotations.get(s, 0)) for s in REVIEW_STATUSES))
        if not rows:
            console.print("The store is empty: run `corpus ontology load` then `corpus harvest --domain sport`.")
        console.print(table)
        for r in rows:
            if r.languages or r.sources:  # an image found in two languages counts for both
                console.print(f"{r.domain}: images per language: " + ", ".join(f"{k} {n}" for k, n in r.languages),
                              soft_wrap=True)
                console.print(f"{r.domain}: images per source: " + ", ".join(f"{k} {n}" for k, n in r.sources),
                              soft_wrap=True)
        if charts is not None:
            with handled():
                paths = state.corpus().charts(out_dir=charts, domains=[r.domain for r in rows])
            for path in paths:
                console.print(f"chart: {path}")
