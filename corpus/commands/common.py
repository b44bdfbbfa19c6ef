"""What every command shares: the corpus chosen by the global options, the consoles, errors.

Output is text, not Rich markup: the consoles have markup off, so a class name, a server message
or an install hint such as ``pip install 'mic-corpus[yolo]'`` prints exactly as written. Colour
comes from :func:`styled` (a styled label followed by plain text), never from tags in strings.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from typer.core import TyperGroup

from corpus.config import Settings, get_settings
from corpus.errors import CorpusError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from corpus.api import Corpus

console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


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


def styled(label: str, style: str = "yellow", rest: str = "") -> Text:
    """``label`` in ``style`` followed by plain ``rest``; neither is parsed as markup."""
    return Text.assemble((label, style), rest)


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print a clear one-line error (no traceback) and return the Exit to raise."""
    # soft_wrap: a long path stays on the error's line instead of being cut where the terminal ends.
    err_console.print(styled("error:", "bold red", f" {message}"), soft_wrap=True)
    return typer.Exit(code)


def flag_for(param: str, flags: Mapping[str, str] | None = None) -> str:
    """The command-line flag of a library keyword argument (``class_ref`` -> ``--class-ref``)."""
    return (flags or {}).get(param) or "--" + param.replace("_", "-")


def fail_error(exc: BaseException, flags: Mapping[str, str] | None = None, suffix: str = "",
               words: Callable[[str], str] | None = None) -> "typer.Exit":
    """Render a library error, pointing at the flag that sets the argument it is about.

    The library's messages speak of keyword arguments, never of flags; ``flags`` maps the
    argument names whose flag is not simply ``--name-with-dashes`` (``{"domain": "--domain/-d"}``).
    A message that spells the argument as Python does (``pass model=/path/to/x.pt``) shows the
    flag in its place (``pass --model /path/to/x.pt``); any other gets the flag added at the end."""
    message = words(str(exc)) if words else str(exc)
    if isinstance(exc, KeyError) and message[:1] in "'\"":
        message = message.strip("'\"")  # KeyError quotes its message
    param = getattr(exc, "param", None)
    if param and (flags is None or flags.get(param) != ""):
        flag = flag_for(param, flags)
        spelled = re.compile(rf"(?<![\w.-]){re.escape(param)}=(?=\S)")
        if spelled.search(message):
            message = spelled.sub(flag.split("/")[0] + " ", message)
        else:
            message += f" ({flag})"
    return fail(message + suffix)


@contextmanager
def handled(flags: Mapping[str, str] | None = None, suffix: str = "",
            words: Callable[[str], str] | None = None) -> Iterator[None]:
    """Turn a library error (any :class:`~corpus.errors.CorpusError`) into a clean exit with its
    message; ``words`` may put the command's own words into the message (argument names as flags)."""
    try:
        yield
    except CorpusError as exc:
        raise fail_error(exc, flags, suffix, words) from None


def expected_error(exc: BaseException) -> "typer.Exit | None":
    """The clean exit for an error a user can act on, None for a bug (which keeps its traceback).

    Library errors are :class:`~corpus.errors.CorpusError`; a store that goes away in the middle of a
    command surfaces as a driver error, and a file the system refuses as an OSError with a path.
    """
    from corpus.errors import one_line

    if isinstance(exc, CorpusError):
        return fail_error(exc)
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        from corpus.store.db import unavailable

        err = unavailable(exc, (state.settings or get_settings()).db_url)
        return None if err is None else fail(str(err))
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return fail(one_line(f"{exc.strerror}: {exc.filename}"))
    return None


class CorpusGroup(TyperGroup):
    """The root command: the last-resort handler that turns expected errors into messages.

    Commands catch what they can explain better; whatever expected error escapes them still ends
    as ``error: ...`` and exit status 1 instead of a traceback.
    """

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            exit_ = expected_error(exc)
            if exit_ is None:
                raise
            raise exit_ from None


class RichBars:
    """A :class:`corpus.progress.Progress` callback drawing rich bars: one per stage (created at
    its first event), notes printed above the bars. Use as a context manager."""

    def __init__(self, *, labels: Mapping[str, str] | None = None, transient: bool = False, enabled: bool = True,
                 elapsed: bool = False) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.enabled = enabled
        self.labels = dict(labels or {})
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn() if elapsed else TimeRemainingColumn(), console=console,
                            transient=transient)
        self.tasks: dict[str, int] = {}
        self.started = False

    def __enter__(self) -> "RichBars":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bar.stop()

    def note(self, message: str) -> None:
        """Print ``message`` above the bars (before any bar, simply as a line); it can carry server
        text, so it is printed as text ("[/x]" in a body is no markup)."""
        if self.enabled:
            self.bar.console.print(styled(message))

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        if event.message is not None:
            self.note(event.message)
            return
        if not self.started:  # at the first counted event: an early error or note leaves no empty bar
            self.bar.start()
            self.started = True
        task = self.tasks.get(event.stage)
        if task is None:
            task = self.tasks[event.stage] = self.bar.add_task(escape(self.labels.get(event.stage, event.stage)),
                                                               total=event.total)
        done = event.done if event.total is None else min(event.done, event.total)
        self.bar.update(task, completed=done, total=event.total)
