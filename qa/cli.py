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
    _report_skipped(result.skipped, bool(result.articles), result.files, list(paths))
    for a in result.articles:
        click.echo(json.dumps(a.to_dict(), ensure_ascii=False))
    click.echo(result.summary(), err=True)
    if result.skipped:
        sys.exit(1)


def _issues(settings: Settings):
    from qa.issues import IssueService

    return IssueService(settings, None)      # the model is loaded only if something is embedded


def _report_skipped(skipped, read_anything: bool, files: int, paths: list[Path]) -> None:
    """Name each skipped file once with its reason; exit status 1 when nothing at all could be
    read, so a folder of .pdf or .docx files is no silent success."""
    for s in skipped:
        click.echo(f"skipped {s.name}: {s.reason}", err=True)
    if not read_anything:
        where = "、".join(str(p) for p in paths)
        reason = (f"{files} 个文件全部被跳过，没有收录任何文章" if files
                  else f"{where} 中没有文件，没有收录任何文章")
        click.echo(f"error: {reason}", err=True)
        sys.exit(1)


def _read(service, paths: list[Path], meta):
    """Pages from files and folders (the model is not loaded for a batch of unreadable files)."""
    pages, skipped, files = service.read_paths(paths, meta)
    _report_skipped(skipped, bool(pages), files, paths)
    return pages, skipped, files


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
    pages, skipped, files = _read(service, list(paths) or [Path("seeds")], meta)
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
    pages, skipped, files = _read(service, list(paths), meta)
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
@click.argument("question")
@click.option("-k", "k", type=int, default=None, help="Number of passages (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print the HTTP API's JSON object.")
@click.option("--source", multiple=True, help="Only articles from this outlet (repeatable).")
@click.option("--paper", multiple=True, help="Only this newspaper (repeatable).")
@click.option("--issue", multiple=True, help="Only this issue (repeatable).")
@click.option("--from", "date_from", help="Only issues dated on or after, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Only issues dated on or before, YYYY-MM-DD.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True, help="Order of the results.")
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, k: int | None, as_json: bool, source, paper, issue,
        date_from, date_to, sort: str) -> None:
    """Answer a question with cited passages."""
    from qa.index.backend import Where
    from qa.search.service import SearchService, answer_dict

    where = Where.parse(list(source), list(paper), list(issue), date_from, date_to)
    answer = SearchService(_settings(ctx)).ask(question, k, where=where, sort=sort)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=1))
        return
    click.echo(f"{answer.question}  ({len(answer.results)} results, {answer.took_ms} ms)")
    if not answer.found:
        click.echo("\n未找到可靠答案。以下是最接近的段落，可能答非所问，仅供参考：")
    for h in answer.results:
        c = h.citation
        click.echo(f"\n#{h.rank}  可信度 {h.confidence:.0%}  {c.reference()}  [{c.page_id}]"
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
    from qa.index.backend import open_backend
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
            if not open_backend(run_settings).exists():
                from qa.issues import IssueMeta, IssueService

                encoder = encoder or SearchService(settings).encoder
                click.echo(f"building bench index for {passages} …", err=True)
                bench = IssueService(run_settings, encoder)
                pages, skipped, count = _read(bench, [passages], IssueMeta())
                bench.build(pages, skipped, count, progress=True)
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
