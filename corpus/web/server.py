"""Start the review app on Uvicorn (what `corpus review serve` calls)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from sqlalchemy.engine import Engine

from corpus.errors import UsageError


class ServeError(UsageError):
    """Settings the app refuses to start with."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_settings(host: str, token: str | None, lang: str) -> None:
    import ontology

    if not is_loopback(host) and not token:
        raise ServeError(f"listening on {host} lets other machines reach the app: give a token for reviewers to "
                         "enter, or listen on 127.0.0.1 only", param="token")
    if token is not None and len(token) < 8:
        raise ServeError("the token must be at least 8 characters long", param="token")
    if lang not in ontology.LANGUAGES:
        raise ServeError(f"unknown language {lang!r}; use one of {', '.join(ontology.LANGUAGES)}", param="lang")


def build(engine: Engine, data_dir: Path, *, domain: str | None, lang: str, host: str, token: str | None,
          public_url: str | None = None):
    """The app for ``corpus review serve``, after checking its settings. ``public_url``: the
    address a reverse proxy serves the app at (its origin may write, its host is answered)."""
    from corpus.web.app import LOOPBACK, _public_origin, create_app

    check_settings(host, token, lang)
    if public_url is not None:
        try:
            _public_origin(public_url)
        except ValueError as exc:
            raise ServeError(str(exc), param="public_url") from None
    # Bound to loopback: answer only loopback Host names (no DNS rebinding). Beyond: the token guards.
    hosts = [*LOOPBACK, "[::1]"] if is_loopback(host) else ["*"]
    return create_app(engine, data_dir, domain=domain, lang=lang, token=token, allowed_hosts=hosts,
                      public_url=public_url)


def serve(app, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
