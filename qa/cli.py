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
    for noisy in ("bm25s", "sentence_transformers", "transformers", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = Settings.from_env(index_dir=index_dir)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Parse page files or folders and print one JSON article per line."""
    from qa.ingest import ingest_paths

    result = ingest_paths(list(paths), _settings(ctx).max_page_bytes)
    for a in result.articles:
        click.echo(json.dumps(a.to_dict(), ensure_ascii=False))
    click.echo(result.summary(), err=True)
    if result.skipped:
        sys.exit(1)


def _builder(settings: Settings):
    from qa.index.builder import Builder
    from qa.search.service import SearchService

    return Builder(settings, SearchService(settings).encoder)


def _ingest_or_fail(paths: list[Path], settings: Settings):
    from qa.ingest import ingest_paths

    result = ingest_paths(paths, settings.max_page_bytes)
    for s in result.skipped:
        click.echo(f"skipped {s.name}: {s.reason}", err=True)
    return result


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
@handle_errors
def build(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Build a new index from scratch (default: seeds/) and switch to it."""
    settings = _settings(ctx)
    result = _ingest_or_fail(list(paths) or [Path("seeds")], settings)
    if not result.articles:
        raise click.ClickException("no articles to index")
    report = _builder(settings).build(result, progress=True)
    click.echo(report.summary())
    if result.skipped:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
@handle_errors
def add(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Add new issues to the live index, embedding only new chunks."""
    settings = _settings(ctx)
    result = _ingest_or_fail(list(paths), settings)
    report = _builder(settings).add(result, progress=True)
    click.echo(report.summary())
    if result.skipped:
        sys.exit(1)


@main.command()
@click.argument("question")
@click.option("-k", "k", type=int, default=None, help="Number of passages (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print the HTTP API's JSON object.")
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, k: int | None, as_json: bool) -> None:
    """Answer a question with cited passages."""
    from qa.search.service import SearchService, answer_dict

    answer = SearchService(_settings(ctx)).ask(question, k)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=1))
        return
    click.echo(f"{answer.question}  ({len(answer.results)} results, {answer.took_ms} ms)")
    if not answer.found:
        click.echo("\n未找到可靠答案。以下是最接近的段落，可能答非所问，仅供参考：")
    for h in answer.results:
        c = h.citation
        click.echo(f"\n#{h.rank}  可信度 {h.confidence:.0%}  《{c.title or '（无标题）'}》"
                   f"{'（据' + c.source + '）' if c.source else ''}  [{c.issue}]"
                   + (f"  本文还有 {len(h.more_in_article)} 处相关内容" if h.more_in_article else ""))
        if answer.found:
            s0, s1 = h.highlight.sentence
            a = h.highlight.answer
            sentence = h.text[s0:s1] if a is None else (
                h.text[s0:a[0]] + click.style(h.text[a[0]:a[1]], bold=True, underline=True)
                + h.text[a[1]:s1])
            click.echo("   答：" + click.style(sentence, bold=True))
        click.echo("   " + h.text.replace("\n", "\n   "))


@main.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-k", "k", type=int, default=5, show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--misses", type=int, default=10, show_default=True, help="Misses to print.")
@click.option("--unanswerable", "unanswerable", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="A question set asked of --index as questions it cannot answer (e.g. a "
                   "bench set's questions asked of the seed index); repeatable.")
@click.pass_context
@handle_errors
def evaluate_cmd(ctx: click.Context, files: tuple[Path, ...], k: int, limit: int | None,
                 misses: int, unanswerable: tuple[Path, ...]) -> None:
    """Score question sets: seed questions against --index, bench sets against an index
    built (and cached) from the passages.jsonl beside them; a table of all sets at the end."""
    from qa.evaluation import bench_settings, evaluate, read_questions, table
    from qa.index.store import IndexStore
    from qa.search.service import SearchService

    settings = _settings(ctx)
    encoder = None
    reports = []
    runs = [(p, False) for p in files] + [(p, True) for p in unanswerable]
    for path, refused in runs:
        if path.is_dir():
            path = path / "questions.jsonl"
        questions = read_questions(path, unanswerable=refused)[:limit]
        run_settings = settings
        passages = path.parent / "passages.jsonl"
        if questions and questions[0].gold and passages.exists():
            run_settings = bench_settings(settings, passages)
            if not IndexStore(run_settings.index_dir).exists():
                from qa.index.builder import Builder

                encoder = encoder or SearchService(settings).encoder
                click.echo(f"building bench index for {passages} …", err=True)
                Builder(run_settings, encoder).build(_ingest_or_fail([passages], settings),
                                                    progress=True)
        service = SearchService(run_settings, encoder)
        encoder = service.encoder
        name = str(path) + (" (asked of --index)" if refused else "")
        report = evaluate(service, questions, k, name)
        reports.append(report)
        click.echo(report.text(misses))
    click.echo("\n" + table(reports))


@main.command()
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (overrides the group's --index and $QA_INDEX_DIR).")
@click.option("--host", default=None, help="Address to bind (default: $QA_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: $QA_PORT or 8000).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="gunicorn worker processes, each with its own model (default: $QA_WORKERS or 2).")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, index_dir: Path | None, host: str | None, port: int | None,
          workers: int | None) -> None:
    """Serve the web pages and the HTTP API with gunicorn."""
    from qa.web.serve import run

    flags = {"index_dir": index_dir, "host": host, "port": port, "workers": workers}
    run(replace(_settings(ctx), **{k: v for k, v in flags.items() if v is not None}))


if __name__ == "__main__":
    main()
