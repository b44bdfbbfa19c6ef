"""Settings in one place: environment variables with a ``CORPUS_`` prefix, optionally a TOML file.

Precedence (highest first): explicit arguments (CLI options), environment variables, the TOML file
named by ``CORPUS_CONFIG`` (or ``corpus.toml`` in the working directory), built-in defaults.

TOML layout::

    db_url = "sqlite:///corpus.db"
    data_dir = "data"
    contact = "you@example.org"

    [sources.commons]
    base_url = "https://commons.wikimedia.org/w/api.php"
    max_concurrency = 1
    requests_per_second = 2.0

    [sources.pexels]
    enabled = true
    api_key = "..."          # better: CORPUS_PEXELS_API_KEY

Per-source environment variables: ``CORPUS_<SOURCE>_BASE_URL``, ``CORPUS_<SOURCE>_API_KEY``,
``CORPUS_<SOURCE>_ENABLED``, ``CORPUS_<SOURCE>_MAX_CONCURRENCY``,
``CORPUS_<SOURCE>_REQUESTS_PER_SECOND``, ``CORPUS_<SOURCE>_FILE_CONCURRENCY``.

API keys are held in :class:`Secret`, whose ``repr``/``str`` never reveal the value, so a key cannot
reach a log line or a traceback by accident.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from corpus.errors import ConfigError, NotFoundError
from corpus.storage import as_data_dir

__all__ = [
    "Secret",
    "SourceSettings",
    "Settings",
    "DEFAULT_SOURCES",
    "get_settings",
    "load_settings",
    "USER_AGENT",
]

VERSION = "0.1.0"
USER_AGENT = f"mic-corpus/{VERSION} (https://github.com/mic-corpus/mic-corpus; harvest bot)"


def did_you_mean(word: str, valid, *, label: str = "known keys", quote: bool = True) -> str:
    """``"did you mean 'x'?"`` for the nearest of ``valid``, else the list of them."""
    valid = sorted(valid)
    near = difflib.get_close_matches(word, valid, n=2, cutoff=0.6)
    show = (lambda v: repr(v)) if quote else str
    if near:
        return "did you mean " + " or ".join(show(v) for v in near) + "?"
    return f"{label}: {', '.join(valid)}"


class Secret:
    """A string that never shows itself in repr/str/format (API keys)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigFileMissing(ConfigError, FileNotFoundError):
    """The settings file named (by argument or CORPUS_CONFIG) does not exist."""


class UnknownSourceSettings(NotFoundError, KeyError):
    """No settings for an image source of that name."""


@dataclass(frozen=True)
class SourceSettings:
    name: str
    base_url: str
    enabled: bool = True
    api_key: Secret | None = None
    # Politeness: concurrent API requests, API requests per second, concurrent file downloads.
    max_concurrency: int = 1
    requests_per_second: float = 1.0
    file_concurrency: int = 2
    timeout_s: float = 30.0
    max_retries: int = 5
    # Longest wait we accept from a Retry-After before giving up on a request.
    max_retry_after_s: float = 300.0
    cache_ttl_s: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the key, not even masked length
        key = "set" if self.api_key else "none"
        return (
            f"SourceSettings(name={self.name!r}, base_url={self.base_url!r}, enabled={self.enabled},"
            f" api_key={key}, max_concurrency={self.max_concurrency},"
            f" requests_per_second={self.requests_per_second})"
        )


# Defaults follow each API's published etiquette (see docs/harvest.md): Wikimedia asks for
# at most a few concurrent API calls and 2 concurrent file downloads; Pixabay requires 24 h caching.
DEFAULT_SOURCES: dict[str, SourceSettings] = {
    "commons": SourceSettings(
        "commons", "https://commons.wikimedia.org/w/api.php",
        enabled=True, max_concurrency=1, requests_per_second=2.0, file_concurrency=2,
    ),
    "openverse": SourceSettings(
        "openverse", "https://api.openverse.org/v1",
        enabled=True, max_concurrency=1, requests_per_second=0.5, file_concurrency=2,
    ),
    "pexels": SourceSettings(
        "pexels", "https://api.pexels.com/v1",
        enabled=False, max_concurrency=1, requests_per_second=0.05, file_concurrency=4,
        cache_ttl_s=24 * 3600,
    ),
    "pixabay": SourceSettings(
        "pixabay", "https://pixabay.com/api",
        enabled=False, max_concurrency=1, requests_per_second=1.0, file_concurrency=4,
        cache_ttl_s=24 * 3600,
    ),
    "flickr": SourceSettings(
        "flickr", "https://api.flickr.com/services/rest",
        enabled=False, max_concurrency=1, requests_per_second=1.0, file_concurrency=4,
    ),
}


@dataclass(frozen=True)
class Settings:
    db_url: str = "sqlite:///corpus.db"
    data_dir: Path | str = Path("data")  # a folder, or an fsspec URL such as s3://bucket/prefix
    contact: str = ""
    user_agent: str = USER_AGENT
    sources: Mapping[str, SourceSettings] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    config_file: Path | None = None

    def with_overrides(self, **kw: Any) -> "Settings":
        kw = {k: v for k, v in kw.items() if v is not None}
        if "data_dir" in kw:
            kw["data_dir"] = as_data_dir(kw["data_dir"])
        return replace(self, **kw)

    def source(self, name: str) -> SourceSettings:
        try:
            return self.sources[name]
        except KeyError:
            raise UnknownSourceSettings(f"unknown image source {name!r}; known: {', '.join(sorted(self.sources))}") from None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ConfigError(f"{where}: expected a boolean (true/false), got {value!r}")


_SOURCE_FIELDS: dict[str, type] = {
    "base_url": str,
    "enabled": bool,
    "api_key": Secret,
    "max_concurrency": int,
    "requests_per_second": float,
    "file_concurrency": int,
    "timeout_s": float,
    "max_retries": int,
    "max_retry_after_s": float,
    "cache_ttl_s": float,
}


def _coerce_source_fields(raw: Mapping[str, Any], where: str, env_prefix: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        typ = _SOURCE_FIELDS.get(key)
        if typ is None:
            if env_prefix:  # name the variable as the user typed it
                hint = did_you_mean(f"{env_prefix}{key.upper()}", [f"{env_prefix}{k.upper()}" for k in _SOURCE_FIELDS],
                                    label="known variables", quote=False)
                raise ConfigError(f"unknown setting {env_prefix}{key.upper()}: {hint}")
            raise ConfigError(f"{where}: unknown key {key!r}: {did_you_mean(key, _SOURCE_FIELDS)}")
        if typ is bool:
            out[key] = _parse_bool(value, f"{where}.{key}")
        elif typ is Secret:
            out[key] = Secret(str(value)) if value else None
        else:
            try:
                out[key] = typ(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}.{key}: expected {typ.__name__}, got {value!r}") from None
    return out


_TOP_LEVEL_KEYS = ("db_url", "data_dir", "contact", "sources")


def _check_toml(data: Mapping[str, Any], path: Path) -> None:
    """Unknown keys are errors: `enabeld = false` must not leave a source on in silence."""
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise ConfigError(f"config file {path}: unknown key {key!r}: {did_you_mean(key, _TOP_LEVEL_KEYS)}")
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise ConfigError(f"config file {path}: 'sources' must be a table of [sources.NAME] tables")
    for name, raw in sources.items():
        if name not in DEFAULT_SOURCES:
            raise ConfigError(f"config file {path}: [sources.{name}]: unknown image source {name!r}: "
                              f"{did_you_mean(name, DEFAULT_SOURCES, label='known sources')}")
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path}: [sources.{name}] must be a table of settings")


def load_settings(env: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
    """Build settings from defaults, a TOML file and the environment (in that order)."""
    env = os.environ if env is None else env
    path = config_file or env.get("CORPUS_CONFIG")
    if path is None and Path("corpus.toml").is_file():
        path = "corpus.toml"
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigFileMissing(f"config file {p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        _check_toml(data, p)

    sources = dict(DEFAULT_SOURCES)
    for name, raw in (data.get("sources") or {}).items():
        sources[name] = replace(sources[name], **_coerce_source_fields(raw, f"config file {path}: [sources.{name}]"))
    for name in list(sources):
        prefix = f"CORPUS_{name.upper()}_"
        raw_env = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}
        if raw_env:
            sources[name] = replace(sources[name], **_coerce_source_fields(raw_env, prefix.rstrip("_"), prefix))

    settings = Settings(
        db_url=env.get("CORPUS_DB_URL") or data.get("db_url") or Settings.db_url,
        data_dir=as_data_dir(env.get("CORPUS_DATA_DIR") or data.get("data_dir") or Settings.data_dir),
        contact=env.get("CORPUS_CONTACT") or data.get("contact") or "",
        sources=sources,
        config_file=Path(path) if path else None,
    )
    if settings.contact:
        settings = replace(settings, user_agent=f"mic-corpus/{VERSION} ({settings.contact}) harvest bot")
    return settings


_cached: Settings | None = None


def get_settings(refresh: bool = False) -> Settings:
    global _cached
    if _cached is None or refresh:
        _cached = load_settings()
    return _cached
