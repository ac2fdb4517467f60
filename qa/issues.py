"""Issues: what the newsroom adds, corrects and removes. The one service behind ``qa add``,
``qa build``, ``qa remove``, ``qa issues`` and ``/api/issues``, so the CLI and the API follow
one rule for every file and every id.

An issue (期) holds pages; a page is one file (its id is the file stem, or ``name=`` on upload)
or one record of a JSON Lines corpus (its id). Files added without ``issue`` are each an issue of
their own, as the bundled seeds are. Named into an issue, a page's id is ``<issue>.<stem>``, so
the same file name in another day's issue is another page. Metadata (date, paper, number, page
number) is optional and never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.config import Settings
from qa.dates import iso_date
from qa.errors import BadIssueFile, BadRequest
from qa.index.builder import Builder, BuildReport, Page
from qa.ids import is_name_id
from qa.ingest import FileProgress, Skipped, ingest_bytes, per_file, read_paths
from qa.ingest.pdf import Limits
from qa.ingest.scan import ScanSettings
from qa.ingest.articles import article_id
from qa.types import Article


@dataclass(frozen=True)
class IssueMeta:
    """What the caller says about the issue being added; all optional."""

    issue: str | None = None
    date: str | None = None
    paper: str | None = None
    number: str | None = None
    page: int | None = None

    @classmethod
    def parse(cls, issue=None, date=None, paper=None, number=None, page=None) -> "IssueMeta":
        """Checked values; a wrong one is a ``BadRequest`` naming the parameter."""
        def text(value, name: str, limit: int = 100) -> str | None:
            if value is None:
                return None
            value = " ".join(str(value).split())
            if len(value) > limit:
                raise BadRequest(f"参数 {name} 过长（最多 {limit} 字）")
            if not value.isprintable():
                raise BadRequest(f"参数 {name} 含有控制字符或无效字符")
            return value or None

        issue = text(issue, "issue")
        if issue is not None:
            issue = issue.replace(" ", "_")
            if not is_name_id(issue):
                raise BadRequest(f"参数 issue 只能由字母、数字、汉字、- 和 _ 组成：{issue!r}")
        date = text(date, "date")
        if date is not None:
            date = iso_date(date, "date")
        if page is not None:
            try:
                page = int(str(page).strip())
            except ValueError:
                page = 0
            if not 1 <= page <= 9999:
                raise BadRequest("参数 page 必须是 1 到 9999 之间的整数（版次）")
        return cls(issue, date, text(paper, "paper"), text(number, "number"), page)


@dataclass
class AddResult:
    report: BuildReport
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0

    def to_dict(self) -> dict:
        r = self.report
        return {
            "generation": r.generation,
            "added": len(r.articles),
            "articles": [a.summary() for a in r.articles],
            "unchanged": len(r.unchanged),
            "pages": {"added": r.added, "replaced": r.replaced, "unchanged": r.unchanged},
            "replaced": r.replaced,
            "skipped": [{"name": s.name, "reason": s.reason, "page": s.page}
                        for s in self.skipped],
        }

    def summary(self) -> str:
        r = self.report
        if not r.changed:
            head = f"没有新内容，索引未变（{r.generation}）"
        else:
            head = (f"{r.generation}：新增 {len(r.added)} 个版面，替换 {len(r.replaced)} 个，"
                    f"未变 {len(r.unchanged)} 个；写入 {len(r.articles)} 篇文章、{r.chunks} 段，"
                    f"其中新嵌入 {r.embedded} 段")
        return head + totals(r.totals)


def totals(t: dict) -> str:
    """``；共 N 期、N 个版面、N 篇文章、N 段`` for a report's totals (empty when unknown)."""
    if not t:
        return ""
    return (f"；共 {t['issues']} 期、{t['pages']} 个版面、{t['articles']} 篇文章、"
            f"{t['chunks']} 段")


def pages_of(articles: list[Article], meta: IssueMeta = IssueMeta()) -> list[Page]:
    """Articles (as ``qa.ingest`` gives them) grouped into pages, with ``meta`` applied. A page
    file's articles share its stem as issue and page id; a corpus record is a page of its own."""
    grouped: dict[str, list[Article]] = {}
    for a in articles:
        grouped.setdefault(a.page_id, []).append(a)
    pages = []
    for page_id, arts in grouped.items():
        record = len(arts) == 1 and arts[0].id == page_id       # a corpus record
        issue = meta.issue or arts[0].issue
        new_id = page_id
        if not record and meta.issue and meta.issue != page_id:
            new_id = f"{meta.issue}.{page_id}"
        out = []
        for a in arts:
            printed_on = a.page         # the PDF page it was read from, before meta's page
            a = replace(a, issue=issue, page_id=new_id,
                        paper=a.paper or meta.paper, date=a.date or meta.date,
                        page=a.page or meta.page)
            if not record and new_id != page_id:
                # the id qa.ingest gives it, for the page id it ends up under
                a.id = article_id(new_id, a.title, a.text, printed_on)
            out.append(a)
        numbers = {a.page for a in out}
        # The page carries the issue's metadata as given; a corpus record's own date or paper
        # stays on its article, so one record's date is never taken for its whole issue's.
        pages.append(Page(new_id, issue, out, page=numbers.pop() if len(numbers) == 1 else None,
                          paper=meta.paper, date=meta.date, number=meta.number))
    return pages


class IssueService:
    """Ingest and index in one step, for the CLI and the API alike."""

    def __init__(self, settings: Settings, encoder, backend=None):
        self.settings = settings
        self.builder = Builder(settings, encoder, backend)

    # -- reading files --------------------------------------------------------------------

    def read(self, files: list[tuple[str, bytes]], meta: IssueMeta,
             progress: FileProgress | None = None) -> tuple[list[Page], list[Skipped]]:
        """Named contents → pages. A file that cannot be read is skipped with its reason; the
        others are kept. ``progress(file, pages read, pages)`` hears of files read slowly
        (OCR), page by page."""
        articles: list[Article] = []
        skipped: list[Skipped] = []
        owner: dict[str, str] = {}          # page id → the file that gave it
        limits, scan = Limits.of(self.settings), ScanSettings.of(self.settings)
        for name, data in files:
            try:
                found = ingest_bytes(data, name, self.settings.max_page_bytes, skipped,
                                     limits, scan, per_file(progress, name))
            except BadIssueFile as e:
                skipped.append(Skipped(name, e.reason))
                continue
            # Two files of one upload with one page id would silently make one page.
            taken = {a.page_id for a in found} & owner.keys()
            if taken:
                page = sorted(taken)[0]
                skipped.append(Skipped(name, f"版面编号 {page} 与同一次上传的文件 {owner[page]} "
                                             f"相同，请改名后单独上传"))
                continue
            owner.update((a.page_id, name) for a in found)
            articles.extend(found)
        return pages_of(articles, meta), skipped

    def read_paths(self, paths: list[Path], meta: IssueMeta,
                   progress: FileProgress | None = None
                   ) -> tuple[list[Page], list[Skipped], int]:
        """Files and folders → pages, as ``qa.ingest.read_paths`` reads them; (pages, what
        was skipped, number of files)."""
        result = read_paths(paths, self.settings, progress)
        return pages_of(result.articles, meta), result.skipped, result.files

    # -- writing --------------------------------------------------------------------------

    def add(self, pages: list[Page], skipped: list[Skipped] = (), files: int = 0,
            progress: bool = False) -> AddResult:
        """Add (or replace) the pages."""
        _require_pages(pages, skipped)
        report = self.builder.add(pages, progress=progress)
        return AddResult(report, list(skipped), files)

    def build(self, pages: list[Page], skipped: list[Skipped] = (), files: int = 0,
              progress: bool = False) -> AddResult:
        _require_pages(pages, skipped)
        return AddResult(self.builder.build(pages, progress=progress), list(skipped), files)

    def remove(self, ids: list[str]) -> BuildReport:
        # Taken as given: an id is a name, and one of blanks is simply not held (404).
        ids = [i for i in ids if i]
        if not ids:
            raise BadRequest("请给出要删除的期号或版面编号")
        return self.builder.remove(ids)

    def compact(self) -> list[str]:
        return self.builder.compact()


def _require_pages(pages: list[Page], skipped: list[Skipped]) -> None:
    """With nothing readable at all, ``BadIssueFile``: the caller gets an error naming why,
    not an empty success."""
    if not pages:
        reasons = "；".join(f"{Path(s.name).name}：{s.reason}" for s in skipped) or "没有文件"
        raise BadIssueFile(f"没有可以收录的文章（{reasons}）")
