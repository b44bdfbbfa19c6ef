"""MIC Corpus: multilingual, openly licensed, instance-annotated image corpora.

The Python API is :class:`corpus.Corpus` (docs/python-api.md); errors are in :mod:`corpus.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Corpus", "__version__"]

if TYPE_CHECKING:
    from corpus.api import Corpus


def __getattr__(name: str) -> Any:
    # Lazy, so that `import corpus.errors` (used by every layer) does not load the whole API.
    if name == "Corpus":
        from corpus.api import Corpus

        return Corpus
    raise AttributeError(f"module 'corpus' has no attribute {name!r}")
