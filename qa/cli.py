"""Command line: thin wrappers that parse flags, call a service and print. Errors from the
package (``QAError``) become a one-line message and exit status 2, never a traceback.

Language: everything qa itself says to a person here (help, results, messages, errors) is in
Chinese, like the web pages and the API's error messages; command and option names, ``--json``
and JSON Lines output, and ``-v`` logs stay as they are. click's own usage errors ("No such
option", "Usage:") are the library's and stay English."""

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


INDEX_KEY = "qa.index_dir"


def _settings(ctx: click.Context) -> Settings:
    index_dir = ctx.meta.get(INDEX_KEY)
    return ctx.obj if index_dir is None else replace(ctx.obj, index_dir=index_dir)


def common_options(fn):
    """The options of the group and of every command. ``--index DIR`` may stand before or after
    the command name (``qa --index X ask …``, ``qa ask … --index X``; the later one wins:
    ``ctx.meta`` is shared by the group's context and the command's)."""
    def remember(ctx: click.Context, _param, value: Path | None) -> None:
        if value is not None:
            ctx.meta[INDEX_KEY] = value

    fn = click.help_option("--help", help="显示本帮助并退出。")(fn)
    return click.option("--index", type=click.Path(path_type=Path), default=None,
                        expose_value=False, callback=remember,
                        help="索引文件夹（默认 $QA_INDEX_DIR 或 ./index），写在命令前后均可。")(fn)


def fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(2)


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except QAError as e:
            fail(e.message)
    return wrapper


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="输出处理细节（英文日志）。")
@common_options
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """qa —— 报纸档案问答：建立索引、提问、评测、提供网页和 HTTP API。"""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "sentence_transformers", "transformers", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = Settings.from_env()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@common_options
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """解析版面文件或文件夹，每篇文章输出一行 JSON（不写索引）。"""
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
@common_options
@click.pass_context
@handle_errors
def build(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """从头建立新索引（默认用 seeds/）并切换过去。"""
    settings = _settings(ctx)
    result = _ingest_or_fail(list(paths) or [Path("seeds")], settings)
    if not result.articles:
        fail("没有可以建索引的文章")
    report = _builder(settings).build(result, progress=True)
    click.echo(report.summary())
    if result.skipped:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@common_options
@click.pass_context
@handle_errors
def add(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """把新的一期加入现有索引，只嵌入新的段落。"""
    settings = _settings(ctx)
    result = _ingest_or_fail(list(paths), settings)
    report = _builder(settings).add(result, progress=True)
    click.echo(report.summary())
    if result.skipped:
        sys.exit(1)


@main.command()
@click.argument("question")
@click.option("-k", "k", type=int, default=None, help="返回几段（默认 5）。")
@click.option("--json", "as_json", is_flag=True, help="输出与 HTTP API 相同的 JSON 对象。")
@common_options
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, k: int | None, as_json: bool) -> None:
    """回答一个问题，给出带出处的段落。"""
    from qa.search.service import SearchService, answer_dict

    answer = SearchService(_settings(ctx)).ask(question, k)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=1))
        return
    terminal = click.get_text_stream("stdout").isatty()
    click.echo(f"{answer.question}  （{len(answer.results)} 条结果，用时 {answer.took_ms} ms）")
    for h in answer.results:
        c = h.citation
        title = f"《{c.title}》" if c.title else "（无标题）"
        source = f"（据{c.source}）" if c.source else ""
        click.echo(f"\n#{h.rank}  {h.score:.3f}  {title}{source}  [{c.issue}]")
        s0, s1 = h.highlight.sentence
        click.echo("   " + h.text[:s0] + mark(h.text[s0:s1], terminal) + h.text[s1:])


def mark(sentence: str, terminal: bool) -> str:
    """The answering sentence: bold on a terminal; in a pipe or a file, where click drops the
    style, between 【】 so the answer is still marked."""
    return click.style(sentence, bold=True) if terminal else f"【{sentence}】"


@main.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-k", "k", type=int, default=5, help="每题看前 k 段（默认 5）。")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="只评前 N 个问题。")
@click.option("--misses", type=click.IntRange(min=0), default=10,
              help="列出几个未命中的问题（默认 10）。")
@common_options
@click.pass_context
@handle_errors
def evaluate_cmd(ctx: click.Context, files: tuple[Path, ...], k: int, limit: int | None,
                 misses: int) -> None:
    """给问题集打分。种子问题（q、answers、source）用 --index 的索引；评测集（question、
    answers、gold_passage_ids，旁边有 passages.jsonl）用由这些段落建立并缓存的索引。
    文件夹须含 questions.jsonl。"""
    from qa.evaluation import bench_index, evaluate, read_questions
    from qa.search.service import SearchService

    settings = _settings(ctx)
    encoder = None
    for path in files:
        if path.is_dir():
            path = path / "questions.jsonl"
        questions = read_questions(path)[:limit]
        encoder = encoder or SearchService(settings).encoder
        run_settings = settings
        passages = path.parent / "passages.jsonl"
        if questions[0].gold and passages.exists():
            run_settings = bench_index(settings, passages, encoder, progress=True)
        report = evaluate(SearchService(run_settings, encoder), questions, k, str(path))
        click.echo(report.text(misses))


@main.command()
@common_options
@click.option("--host", default=None, help="监听地址（默认 $QA_HOST 或 127.0.0.1）。")
@click.option("--port", type=int, default=None, help="端口（默认 $QA_PORT 或 8000）。")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="gunicorn 工作进程数，每个进程各载一份模型（默认 $QA_WORKERS 或 2）。")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """用 gunicorn 提供网页和 HTTP API。"""
    from qa.web.serve import run

    flags = {"host": host, "port": port, "workers": workers}
    run(replace(_settings(ctx), **{k: v for k, v in flags.items() if v is not None}))


if __name__ == "__main__":
    main()
