"""One exception hierarchy for the whole library.

Every error the library raises on purpose is a :class:`CorpusError`, so a script can catch that
one type; the subclasses say whose fault it is and what to do:

* :class:`UsageError`: a call the library cannot carry out as asked (a bad option value, an
  unknown domain, class or annotation). Fix the call. :class:`NotFoundError` is the "unknown
  name or id" case.
* :class:`ConfigError`: the settings are wrong or incomplete (a bad config file, a missing API key).
* :class:`InputError`: a file given to the library is not acceptable (an invalid COCO file, an
  ontology spec with mistakes). Nothing was changed.
* :class:`ConflictError`: someone else changed the data first (a review at another version).
* :class:`StoreError`: the store cannot be used (wrong schema, a failed migration, locked).
* :class:`CorpusIOError`: reading or writing files failed (disk full, read-only folder).
* :class:`RemoteError`: an image API failed in a way retries did not fix.
* :class:`ModelError`: a detector cannot be loaded or run.
* :class:`ResourceMissing`: a data resource the call needs is not installed (WordNet).

Messages speak of the library's terms (a domain, a keyword argument), never of command-line
flags: the CLI adds its own hint when it renders an error. The classes also derive from the
built-in type a caller would have caught before (``ValueError``, ``LookupError``,
``RuntimeError``, ``OSError``), so existing ``except ValueError`` code keeps working.

This module imports nothing: every layer (ontology, annotators, store, ...) may use it.
"""

from __future__ import annotations

__all__ = [
    "CorpusError",
    "UsageError",
    "NotFoundError",
    "ConfigError",
    "InputError",
    "ConflictError",
    "StoreError",
    "CorpusIOError",
    "RemoteError",
    "ModelError",
    "ResourceMissing",
    "check_range",
    "one_line",
]


class CorpusError(Exception):
    """Base of every error the library raises on purpose; the message is meant for people.

    ``param``, when set, names the keyword argument the error is about (``"domain"``), so a
    front end can point at its own way of setting it (the CLI adds ``--domain``).
    """

    param: str | None = None

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        if param is not None:
            self.param = param


class UsageError(CorpusError, ValueError):
    """The call cannot be carried out as asked (a bad argument value or combination)."""


class NotFoundError(UsageError, LookupError):
    """An unknown name or id: a domain, class, annotation, image or source."""


class ConfigError(CorpusError, ValueError):
    """The settings are wrong or incomplete (config file, environment, API keys)."""


class InputError(CorpusError, ValueError):
    """A file handed to the library is not acceptable; nothing was changed."""


class ConflictError(CorpusError):
    """The data changed since the caller last read it (for example another reviewer's decision)."""


class StoreError(CorpusError, RuntimeError):
    """The store cannot be used as it is (schema not current, migration failed, locked)."""


class CorpusIOError(CorpusError, OSError):
    """Reading or writing files failed (a full or read-only disk, a missing folder)."""


class RemoteError(CorpusError, RuntimeError):
    """An image API failed in a way retries did not fix; the message never holds an API key."""


class ModelError(CorpusError, RuntimeError):
    """A detector cannot be loaded or run; the message says what to provide."""


class ResourceMissing(CorpusError, RuntimeError):
    """A data resource is not installed where the library looks (for example WordNet)."""


def one_line(text: object, limit: int = 400) -> str:
    """``text`` on one line: drivers and servers add hints and URLs on extra lines."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def check_range(param: str, value, low: float | None = None, high: float | None = None):
    """``value`` when ``low <= value <= high`` (either bound may be None), else a
    :class:`UsageError` about argument ``param`` that gives the range and the value:
    ``epochs must be at least 1, got -1``. NaN is never in range. None passes (an unset option)."""
    if value is None:
        return value

    def num(x) -> str:
        return f"{x:g}" if isinstance(x, float) else str(x)

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{param} must be a number, got {value!r}", param=param)
    if (low is not None and not value >= low) or (high is not None and not value <= high):
        if low is not None and high is not None:
            rule = f"between {num(low)} and {num(high)}"
        else:
            rule = f"at least {num(low)}" if low is not None else f"at most {num(high)}"
        raise UsageError(f"{param} must be {rule}, got {num(value)}", param=param)
    return value
