"""What every command shares: the corpus chosen by the global options, the consoles, errors."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Mapping

import typer
from rich.console import Console
from rich.markup import escape

from corpus.config import Settings, get_settings
from corpus.errors import CorpusError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from corpus.api import Corpus

console = Console()
err_console = Console(stderr=True)


class State:
    """The corpus of this invocation, made from the global options on first use."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self._corpus: Corpus | None = None

    def corpus(self) -> "Corpus":
        from corpus.api import Corpus

        if self._corpus is None:
            self._corpus = Corpus(self.settings or get_settings())
        return self._corpus

    def engine(self) -> "Engine":
        """The store at the latest schema (a new SQLite file is created and migrated)."""
        with handled():
            return self.corpus().engine


state = State()


def init_state(settings: Settings) -> None:
    state.settings = settings
    state._corpus = None


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print a clear error (no traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def flag_for(param: str, flags: Mapping[str, str] | None = None) -> str:
    """The command-line flag of a library keyword argument (``class_ref`` -> ``--class-ref``)."""
    return (flags or {}).get(param) or "--" + param.replace("_", "-")


def fail_error(exc: BaseException, flags: Mapping[str, str] | None = None, suffix: str = "") -> "typer.Exit":
    """Render a library error, pointing at the flag that sets the argument it is about.

    The library's messages speak of keyword arguments, never of flags; ``flags`` maps the
    argument names whose flag is not simply ``--name-with-dashes`` (``{"domain": "--domain/-d"}``)."""
    message = str(exc)
    if isinstance(exc, KeyError) and message[:1] in "'\"":
        message = message.strip("'\"")  # KeyError quotes its message
    param = getattr(exc, "param", None)
    if param and (flags is None or flags.get(param) != ""):
        message += f" ({flag_for(param, flags)})"
    return fail(message + suffix)


@contextmanager
def handled(flags: Mapping[str, str] | None = None, suffix: str = "") -> Iterator[None]:
    """Turn a library error (any :class:`~corpus.errors.CorpusError`) into a clean exit with its message."""
    try:
        yield
    except CorpusError as exc:
        raise fail_error(exc, flags, suffix) from None
