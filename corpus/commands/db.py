"""`corpus db ...`: create, migrate and inspect the store."""

from __future__ import annotations

import typer
from rich.text import Text

from corpus.commands.common import console, fail, state
from corpus.errors import CorpusError, one_line

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
    from corpus.store.db import current_revision, safe_url, upgrade

    url = state.settings.db_url
    try:
        upgrade(url, revision)
    except CorpusError:
        raise  # already one clear line (an unreachable store, a bad URL)
    except Exception as exc:  # a failed migration: show the cause, not a traceback
        raise fail(f"upgrade of {safe_url(url)} failed: {one_line(exc)}")
    console.print(Text.assemble(f"{safe_url(url)} is at revision ", (str(current_revision(url)), "bold")))


@db_app.command("downgrade")
def downgrade_cmd(
    revision: str = typer.Argument(..., help="Target revision, e.g. 'base' (drops every table) or '-1'."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Migrate the database down to REVISION. Downgrading to 'base' deletes all data."""
    from corpus.store.db import current_revision, downgrade, safe_url

    url = state.settings.db_url
    if not yes and not typer.confirm(f"Downgrade {safe_url(url)} to {revision}? Data in dropped tables is lost"):
        raise typer.Exit(1)
    try:
        downgrade(url, revision)
    except CorpusError:
        raise
    except Exception as exc:
        raise fail(f"downgrade of {safe_url(url)} failed: {one_line(exc)}")
    console.print(Text.assemble(f"{safe_url(url)} is at revision ", (current_revision(url) or "base (empty)", "bold")))


@db_app.command("current")
def current_cmd() -> None:
    """Print the database's current revision and the latest one this version knows."""
    from corpus.store.db import current_revision, head_revision, safe_url

    url = state.settings.db_url
    try:
        cur = current_revision(url)
    except CorpusError:
        raise
    except Exception as exc:
        raise fail(f"cannot read {safe_url(url)}: {one_line(exc)}")
    head = head_revision(url)
    note = "up to date" if cur == head else "run `corpus db upgrade`"
    console.print(f"{safe_url(url)}: current {cur or 'none'}, head {head} ({note})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
