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


def _issues(settings: Settings):
    from qa.issues import IssueService

    return IssueService(settings, None)      # the model is loaded only if something is embedded


def _report_skipped(skipped) -> None:
    for s in skipped:
        click.echo(f"skipped {s.name}: {s.reason}", err=True)


def issue_options(fn):
    """Issue metadata for ``add`` (and ``build``): all optional, never invented."""
    for option in reversed([
        click.option("--issue", help="Issue id the files belong to (default: each file is "
                                     "an issue of its own)."),
        click.option("--date", help="Issue date, YYYY-MM-DD."),
        click.option("--paper", help="Newspaper name, e.g. 中国社会报."),
        click.option("--number", help="Issue number (期号)."),
        click.option("--page", type=int, help="Page number (版次) of a single page file."),
    ]):
        fn = option(fn)
    return fn


def _meta(issue, date, paper, number, page):
    from qa.issues import IssueMeta

    return IssueMeta.parse(issue, date, paper, number, page)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@issue_options
@click.pass_context
@handle_errors
def build(ctx: click.Context, paths: tuple[Path, ...], issue, date, paper, number,
          page) -> None:
    """Build a new index from scratch (default: seeds/) and switch to it."""
    meta = _meta(issue, date, paper, number, page)
    service = _issues(_settings(ctx))
    pages, skipped, files = service.read_paths(list(paths) or [Path("seeds")], meta)
    _report_skipped(skipped)
    result = service.build(pages, skipped, files, progress=True)
    click.echo(result.summary())
    if skipped:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@issue_options
@click.pass_context
@handle_errors
def add(ctx: click.Context, paths: tuple[Path, ...], issue, date, paper, number, page) -> None:
    """Add issues to the live index: new pages are added, changed ones replaced, identical
    ones left alone; only text the index has never embedded is embedded."""
    meta = _meta(issue, date, paper, number, page)
    service = _issues(_settings(ctx))
    pages, skipped, files = service.read_paths(list(paths), meta)
    _report_skipped(skipped)
    result = service.add(pages, skipped, files, progress=True)
    click.echo(result.summary())
    if skipped:
        sys.exit(1)


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
@handle_errors
def remove(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Remove issues or pages by id (see qa issues); their text is never answered again."""
    report = _issues(_settings(ctx)).remove(list(ids))
    t = report.totals
    click.echo(f"{report.generation}: removed {len(report.removed)} page(s): "
               f"{', '.join(report.removed)}; total {t.get('issues', 0)} issue(s), "
               f"{t.get('pages', 0)} page(s), {t.get('articles', 0)} article(s)")


@main.command(name="issues")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def issues_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the issues and pages held, with dates and article counts."""
    from qa.search.service import SearchService

    issues = SearchService(_settings(ctx)).issues()
    if as_json:
        click.echo(json.dumps(issues, ensure_ascii=False, indent=1))
        return
    for i in issues:
        meta = " ".join(x for x in (i["paper"], i["date"], i["number"] and f"第{i['number']}期")
                        if x)
        click.echo(f"{i['id']}  {meta or '-'}  {len(i['pages'])} page(s), "
                   f"{i['articles']} article(s)")
        for p in i["pages"]:
            click.echo(f"    {p['id']}" + (f"  第{p['page']}版" if p["page"] else "")
                       + f"  {p['articles']} article(s)")


@main.command()
@click.option("--all", "everything", is_flag=True,
              help="Merge the whole index into one segment.")
@click.pass_context
@handle_errors
def compact(ctx: click.Context, everything: bool) -> None:
    """Merge the index's segments as the merge policy calls for (or --all into one),
    dropping removed and replaced text. Queries and writes go on meanwhile."""
    from qa.index.backend import open_backend

    settings = _settings(ctx)
    merged = open_backend(settings).compact(everything=everything, model=settings.model)
    click.echo(f"merged into {', '.join(merged)}" if merged else "nothing to merge")


@main.command()
@click.option("--to", "to", type=click.Choice(["milvus", "embedded"]), required=True,
              help="The backend to copy the index into.")
@click.pass_context
@handle_errors
def migrate(ctx: click.Context, to: str) -> None:
    """Copy the index of the other backend into TO (embedded ↔ milvus) without embedding
    again; the copy replaces whatever TO held, atomically."""
    from qa.index.migrate import migrate as copy_index

    settings = _settings(ctx)
    source = replace(settings, backend="embedded" if to == "milvus" else "milvus")
    report = copy_index(source, replace(settings, backend=to), progress=True)
    t = report.totals
    click.echo(f"{to} {report.generation}: {t.get('issues', 0)} issue(s), "
               f"{t.get('pages', 0)} page(s), {t.get('articles', 0)} article(s), "
               f"{t.get('chunks', 0)} chunk(s); {report.embedded} embedded")


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
    for h in answer.results:
        c = h.citation
        s0, s1 = h.highlight.sentence
        click.echo(f"\n#{h.rank}  {h.score:.3f}  《{c.title or '（无标题）'}》"
                   f"{'（据' + c.source + '）' if c.source else ''}  [{c.issue}]")
        click.echo("   " + h.text[:s0] + click.style(h.text[s0:s1], bold=True) + h.text[s1:])


@main.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-k", "k", type=int, default=5, show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--misses", type=int, default=10, show_default=True, help="Misses to print.")
@click.pass_context
@handle_errors
def evaluate_cmd(ctx: click.Context, files: tuple[Path, ...], k: int, limit: int | None,
                 misses: int) -> None:
    """Score question sets: seed questions against --index, bench sets against an index
    built (and cached) from the passages.jsonl beside them."""
    from qa.evaluation import bench_settings, evaluate, read_questions
    from qa.index.backend import open_backend
    from qa.search.service import SearchService

    settings = _settings(ctx)
    encoder = None
    for path in files:
        if path.is_dir():
            path = path / "questions.jsonl"
        questions = read_questions(path)[:limit]
        run_settings = settings
        passages = path.parent / "passages.jsonl"
        if questions and questions[0].gold and passages.exists():
            run_settings = bench_settings(settings, passages)
            if not open_backend(run_settings).exists():
                from qa.issues import IssueMeta, IssueService

                encoder = encoder or SearchService(settings).encoder
                click.echo(f"building bench index for {passages} …", err=True)
                bench = IssueService(run_settings, encoder)
                pages, skipped, files = bench.read_paths([passages], IssueMeta())
                _report_skipped(skipped)
                bench.build(pages, skipped, files, progress=True)
        service = SearchService(run_settings, encoder)
        encoder = service.encoder
        report = evaluate(service, questions, k, str(path))
        click.echo(report.text(misses))


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
