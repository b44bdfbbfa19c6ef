"""`corpus import`: placeholder until its issue lands."""

from __future__ import annotations

import typer

from corpus.commands.common import fail


def register(app: typer.Typer) -> None:
    @app.command("import", help="Not available yet in this version.", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def _stub(ctx: typer.Context) -> None:
        raise fail("`corpus import` is not implemented yet in this version.")
