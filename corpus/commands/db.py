"""`corpus db ...`: create, migrate and inspect the store."""

from __future__ import annotations

import typer
from rich.text import Text

from corpus.commands.common import console, handled, state

db_app = typer.Typer(
    rich_markup_mode=None,  # help is text: brackets print as written
    help="Create and migrate the store (Alembic). The database URL comes from --db or CORPUS_DB_URL; "
    "the default is a SQLite file corpus.db in the working directory.",
    no_args_is_help=True,
)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="Target revision (default: the latest).")) -> None:
    """Migrate the database up to REVISION (creates it when missing).

    Example: corpus --db postgresql://user@host/corpus db upgrade
    """
    from corpus.store.db import safe_url

    with handled():
        now = state.corpus().upgrade(revision=revision)
    console.print(Text.assemble(f"{safe_url(state.corpus().db_url)} is at revision ", (str(now), "bold")))


@db_app.command("downgrade")
def downgrade_cmd(
    revision: str = typer.Argument(..., help="Target revision, e.g. 'base' (drops every table) or '-1'."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Migrate the database down to REVISION. Downgrading to 'base' deletes all data."""
    from corpus.store.db import safe_url

    url = state.corpus().db_url
    if not yes and not typer.confirm(f"Downgrade {safe_url(url)} to {revision}? Data in dropped tables is lost"):
        raise typer.Exit(1)
    with handled():
        now = state.corpus().downgrade(revision=revision)
    console.print(Text.assemble(f"{safe_url(url)} is at revision ", (now or "base (empty)", "bold")))


@db_app.command("current")
def current_cmd() -> None:
    """Print the database's current revision and the latest one this version knows."""
    from corpus.store.db import safe_url

    url = state.corpus().db_url
    with handled():
        cur, head = state.corpus().revision()
    note = "up to date" if cur == head else "run `corpus db upgrade`"
    console.print(f"{safe_url(url)}: current {cur or 'none'}, head {head} ({note})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
