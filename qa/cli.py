"""Command line: thin wrappers that parse flags, call a service and print. Errors from the
package (``QAError``) become a one-line message and exit status 2, never a traceback."""

from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import click

from qa.config import Settings
from qa.errors import QAError


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except QAError as e:
            click.echo(f"error: {e.message}", err=True)
            sys.exit(2)
    return wrapper


@click.group()
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (default: $QA_INDEX_DIR or ./index).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
@click.pass_context
def main(ctx: click.Context, index_dir: Path | None, verbose: bool) -> None:
    """qa — question answering over a Chinese newspaper archive."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings.from_env(index_dir=index_dir)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@handle_errors
def ingest(paths: tuple[Path, ...]) -> None:
    """Parse page files or folders and print one JSON article per line."""
    from qa.ingest import ingest_paths

    result = ingest_paths(list(paths))
    for a in result.articles:
        click.echo(json.dumps(a.to_dict(), ensure_ascii=False))
    click.echo(result.summary(), err=True)
    if result.skipped:
        sys.exit(1)


if __name__ == "__main__":
    main()
