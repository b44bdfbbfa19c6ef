"""What every command shares: the settings chosen by the global options, the store, the console."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from corpus.config import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    settings: Settings = field(default_factory=get_settings)
    _engine: Engine | None = None

    def engine(self, auto_upgrade: bool = True) -> Engine:
        """The store at the latest schema (a new SQLite file is created and migrated)."""
        from corpus.store.db import ensure_ready

        if self._engine is None:
            self._engine = ensure_ready(self.settings.db_url, auto_upgrade=auto_upgrade)
        return self._engine


state = State.__new__(State)
state._engine = None


def init_state(settings: Settings) -> None:
    state.settings = settings
    state._engine = None


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print a clear error (no traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
