"""The `corpus` command line: a thin layer over the library (see corpus/commands/)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

import typer

from corpus.commands import GROUPS
from corpus.commands.common import CorpusGroup

app = typer.Typer(
    name="corpus",
    help=(
        "Build multilingual, openly licensed, instance-annotated image corpora.\n\n"
        "Pipeline: ontology (WordNet classes in 25 languages) -> harvest (open image APIs) -> "
        "store (SQL) -> annotate (detector proposals) -> review (COCO Annotator or CLI) -> export (COCO).\n\n"
        "Typical run: corpus harvest --domain sport; corpus annotate --domain sport; "
        "corpus export coco-annotator review/; corpus import coco-annotator review/*.json; "
        "corpus export coco --domain sport --status accepted out/"
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Expected errors end as one line (see CorpusGroup); help is plain text, so brackets such as
    # [objects] or torchvision[:WEIGHTS] print as written instead of being read as Rich markup.
    cls=CorpusGroup,
    rich_markup_mode=None,
)


@app.callback()
def _global(
    db: Optional[str] = typer.Option(
        None, "--db", envvar="CORPUS_DB_URL", show_envvar=True,
        help="Database URL, e.g. sqlite:///corpus.db (default) or postgresql://user@host/corpus.",
    ),
    data_dir: Optional[str] = typer.Option(
        None, "--data-dir", envvar="CORPUS_DATA_DIR", show_envvar=True,
        help="Folder for downloaded images and other files (default: ./data), or an fsspec URL such as "
             "s3://bucket/prefix (credentials from the environment or profiles; see docs/scale.md).",
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", envvar="CORPUS_CONFIG", show_envvar=True,
        help="TOML settings file (default: ./corpus.toml if present). See docs/configuration.md.",
    ),
) -> None:
    from corpus.commands.common import fail, init_state
    from corpus.config import load_settings

    from corpus.storage import check_data_dir

    try:
        settings = load_settings(config_file=config).with_overrides(db_url=db, data_dir=data_dir)
        check_data_dir(settings.data_dir)  # an unknown protocol or a missing plugin, said once
    except (OSError, ValueError) as exc:  # ConfigError included
        raise fail(str(exc))
    init_state(settings)


for _group in GROUPS:
    importlib.import_module(f"corpus.commands.{_group}").register(app)


def main() -> None:
    try:
        app()
    except OSError as exc:
        # An output path that is a file, a read-only folder, a full disk: the user's to fix, so a
        # clear line instead of a traceback (commands that know the flag say so themselves).
        from corpus.commands.common import fail

        where = f": {exc.filename}" if exc.filename else ""
        raise SystemExit(fail(f"{exc.strerror or exc}{where}").exit_code) from None


if __name__ == "__main__":
    main()
