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
    from qa.ingest import read_paths

    with ScanProgress() as progress:
        result = read_paths(list(paths), _settings(ctx), progress)
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
        click.echo(f"跳过 {s.name}：{s.reason}", err=True)
    if not read_anything:
        where = "、".join(str(p) for p in paths)
        reason = (f"{files} 个文件全部被跳过，没有收录任何文章" if files
                  else f"{where} 中没有文件，没有收录任何文章")
        click.echo(f"错误：{reason}", err=True)
        sys.exit(1)


class ScanProgress:
    """A progress bar on stderr over the pages read by OCR (scanned PDFs, page images), made
    when the first such page is read: text-only input shows none. Used as the
    ``progress(file, pages read, pages)`` of ``read_paths``; the total grows as files are
    opened."""

    def __init__(self):
        self.bar = None
        self.pages: dict[str, tuple[int, int]] = {}

    def __call__(self, file: str, done: int, total: int) -> None:
        self.pages[file] = (done, total)
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="页", desc="识别扫描页", file=sys.stderr,
                            dynamic_ncols=True)
        self.bar.total = sum(t for _, t in self.pages.values())
        self.bar.n = sum(d for d, _ in self.pages.values())
        self.bar.set_postfix_str(shown(Path(file).name), refresh=False)
        self.bar.refresh()

    def __enter__(self) -> "ScanProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _read(service, paths: list[Path], meta):
    """Pages from files and folders (the model is not loaded for a batch of unreadable files);
    a progress bar over scanned pages, if there are any."""
    with ScanProgress() as progress:
        pages, skipped, files = service.read_paths(paths, meta, progress)
    _report_skipped(skipped, bool(pages), files, paths)
    return pages, skipped, files


def issue_options(fn):
    """Issue metadata for ``add`` (and ``build``): all optional, never invented."""
    for option in reversed([
        click.option("--issue", help="这些文件所属的期（不填时每个文件自成一期）。"),
        click.option("--date", help="出版日期，YYYY-MM-DD。"),
        click.option("--paper", help="报纸名称，例如 中国社会报。"),
        click.option("--number", help="期号文字，例如 第5000期。"),
        click.option("--page", type=int, help="版次（只加一个版面文件时）。"),
    ]):
        fn = option(fn)
    return fn


def _meta(issue, date, paper, number, page):
    from qa.issues import IssueMeta

    return IssueMeta.parse(issue, date, paper, number, page)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@issue_options
@common_options
@click.pass_context
@handle_errors
def build(ctx: click.Context, paths: tuple[Path, ...], issue, date, paper, number,
          page) -> None:
    """从头建立新索引（默认用 seeds/）并切换过去。"""
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
@common_options
@click.pass_context
@handle_errors
def add(ctx: click.Context, paths: tuple[Path, ...], issue, date, paper, number, page) -> None:
    """把版面加入现有索引：新版面加入，内容变了的版面替换，相同的不动；只嵌入索引从未嵌入过
    的文字。"""
    meta = _meta(issue, date, paper, number, page)
    service = _issues(_settings(ctx))
    pages, skipped, files = _read(service, list(paths), meta)
    result = service.add(pages, skipped, files, progress=True)
    click.echo(result.summary())
    if skipped:
        sys.exit(1)


@main.command()
@click.argument("ids", nargs=-1, required=True)
@common_options
@click.pass_context
@handle_errors
def remove(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """按期号或版面编号删除（见 qa issues）；删除的文字不会再被回答。"""
    from qa.issues import totals

    report = _issues(_settings(ctx)).remove(list(ids))
    click.echo(f"{report.generation}：删除 {len(report.removed)} 个版面："
               f"{'、'.join(report.removed)}" + totals(report.totals))


@main.command(name="issues")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@common_options
@click.pass_context
@handle_errors
def issues_cmd(ctx: click.Context, as_json: bool) -> None:
    """列出已收录的各期报纸和版面，带日期和文章数。"""
    from qa.search.service import SearchService

    issues = SearchService(_settings(ctx)).issues()
    if as_json:
        click.echo(json.dumps(issues, ensure_ascii=False, indent=1))
        return
    for i in issues:
        meta = " ".join(x for x in (i["paper"], i["date"], number_text(i["number"])) if x)
        click.echo(shown(f"{i['id']}  {meta or '-'}  {len(i['pages'])} 个版面，"
                         f"{i['articles']} 篇文章"))
        for p in i["pages"]:
            click.echo(shown(f"    {p['id']}" + (f"  第{p['page']}版" if p["page"] else "")
                             + f"  {p['articles']} 篇文章"))


def shown(line: str) -> str:
    """A line for the terminal with any control character (an escape sequence an index made
    before ids were checked may hold) written out, not sent to the terminal."""
    return line if line.isprintable() else "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)


def number_text(number: str | None) -> str | None:
    """An issue number as printed: as given when it already reads like one (``--number`` asks
    for 第5000期), else 第N期."""
    if not number:
        return None
    return number if number.startswith("第") or number.endswith("期") else f"第{number}期"


@main.command()
@click.option("--all", "everything", is_flag=True, help="把整个索引合并成一个段。")
@common_options
@click.pass_context
@handle_errors
def compact(ctx: click.Context, everything: bool) -> None:
    """按合并策略合并索引的段（--all：合并成一个），丢掉已删除和被替换的文字；其间查询和写入
    照常进行。"""
    from qa.index.factory import open_backend

    settings = _settings(ctx)
    merged = open_backend(settings).compact(everything=everything, model=settings.model)
    click.echo(f"已合并为 {'、'.join(merged)}" if merged else "没有需要合并的段")


@main.command()
@click.option("--to", "to", type=click.Choice(["milvus", "embedded"]), required=True,
              help="复制到哪个后端：milvus 或 embedded。")
@common_options
@click.pass_context
@handle_errors
def migrate(ctx: click.Context, to: str) -> None:
    """把另一个后端的索引复制到 TO（embedded ↔ milvus），不重新嵌入；复制完成后一次性替换 TO
    原有的索引。"""
    from qa.index.migrate import migrate as copy_index
    from qa.issues import totals

    settings = _settings(ctx)
    source = replace(settings, backend="embedded" if to == "milvus" else "milvus")
    report = copy_index(source, replace(settings, backend=to), progress=True)
    click.echo(f"已复制到 {to}（{report.generation}），新嵌入 {report.embedded} 段"
               + totals(report.totals))


@main.command()
@click.argument("question")
@click.option("-k", "k", type=int, default=None, help="返回几段（默认 5）。")
@click.option("--json", "as_json", is_flag=True, help="输出与 HTTP API 相同的 JSON 对象。")
@click.option("--source", multiple=True, help="只看这个来源媒体的文章（可重复）。")
@click.option("--paper", multiple=True, help="只看这份报纸（可重复）。")
@click.option("--issue", multiple=True, help="只看这一期（可重复）。")
@click.option("--from", "date_from", help="只看这一天及以后的，YYYY-MM-DD。")
@click.option("--to", "date_to", help="只看这一天及以前的，YYYY-MM-DD。")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              help="结果顺序：relevance 最相关的在前（默认），date 新的在前。")
@common_options
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, k: int | None, as_json: bool, source, paper, issue,
        date_from, date_to, sort: str) -> None:
    """回答一个问题，给出带出处的段落。"""
    from qa.search.filters import parse_where
    from qa.search.service import SearchService, answer_dict

    where = parse_where(list(source), list(paper), list(issue), date_from, date_to)
    answer = SearchService(_settings(ctx)).ask(question, k, where=where, sort=sort)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=1))
        return
    terminal = click.get_text_stream("stdout").isatty()
    click.echo(f"{answer.question}  （{len(answer.results)} 条结果，用时 {answer.took_ms} ms）")
    if not answer.found:
        click.echo("\n未找到可靠答案。以下是最接近的段落，可能答非所问，仅供参考：")
    for h in answer.results:
        c = h.citation
        click.echo(f"\n#{h.rank}  可信度 {h.confidence:.0%}  {c.reference()}  [{c.page_id}]"
                   + (f"  本文还有 {len(h.more_in_article)} 处相关内容" if h.more_in_article else ""))
        if answer.found and h.answer:
            click.echo("   答案：" + (click.style(h.answer, bold=True) if terminal
                                      else f"【{h.answer}】"))
        if answer.found:
            s0, s1 = h.highlight.sentence
            a = h.highlight.answer
            sentence = h.text[s0:s1] if a is None or not terminal else (
                h.text[s0:a[0]] + click.style(h.text[a[0]:a[1]], bold=True, underline=True)
                + h.text[a[1]:s1])
            click.echo("   答：" + mark(sentence, terminal))
        click.echo("   " + h.text.replace("\n", "\n   "))


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
@click.option("--unanswerable", "unanswerable", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="当作索引无法回答的问题来问 --index 的问题集（例如用评测集的问题问种子索引），"
                   "可重复。")
@common_options
@click.pass_context
@handle_errors
def evaluate_cmd(ctx: click.Context, files: tuple[Path, ...], k: int, limit: int | None,
                 misses: int, unanswerable: tuple[Path, ...]) -> None:
    """给问题集打分，最后列出各集的总表。种子问题（q、answers、source）用 --index 的索引；
    评测集（question、answers、gold_passage_ids，旁边有 passages.jsonl）用由这些段落建立并
    缓存的索引。文件夹须含 questions.jsonl。"""
    from qa.embedding import Encoder
    from qa.evaluation import bench_index, evaluate, passages_of, read_questions, table
    from qa.search.service import SearchService

    settings = _settings(ctx)
    encoder = None
    reports = []
    runs = [(p, False) for p in files] + [(p, True) for p in unanswerable]
    for path, refused in runs:
        if path.is_dir():
            path = path / "questions.jsonl"
        questions = read_questions(path, unanswerable=refused)[:limit]
        encoder = encoder or Encoder.from_settings(settings)
        run_settings = settings
        passages = passages_of(path)
        if questions[0].gold and passages is not None:
            run_settings = bench_index(settings, passages, encoder, progress=True)
        name = str(path) + ("（用 --index 提问）" if refused else "")
        report = evaluate(SearchService(run_settings, encoder), questions, k, name)
        reports.append(report)
        click.echo(report.text(misses))
    click.echo("\n" + table(reports))


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
