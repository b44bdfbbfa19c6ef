"""`corpus status`: what the store holds, per domain and review status."""

from __future__ import annotations

import typer
from rich.table import Table

from corpus.commands.common import console, state
from corpus.store.models import REVIEW_STATUSES


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status_cmd() -> None:
        """Print a table of classes, stored images, proposals and annotations per review status,
        for every domain in the store.

        Example: corpus status
        """
        from corpus.store.db import safe_url, session_scope
        from corpus.store.queries import domain_status

        with session_scope(state.engine()) as session:
            rows = domain_status(session)
        table = Table(title=f"Store {safe_url(state.settings.db_url)}")
        for col in ("domain", "classes", "images", "proposals", *REVIEW_STATUSES):
            table.add_column(col, justify="left" if col == "domain" else "right")
        for r in rows:
            table.add_row(r.domain, str(r.classes), str(r.images), str(r.proposals),
                          *(str(r.annotations.get(s, 0)) for s in REVIEW_STATUSES))
        if not rows:
            console.print("The store is empty: run `corpus ontology load` then `corpus harvest --domain sport`.")
        console.print(table)
