"""Ingest: newspaper page files (text or PDF, or JSON Lines corpora) → clean, citable articles.

``ingest_bytes`` handles one file's content; ``ingest_paths`` walks files and folders and never
lets one bad file stop the batch: it is reported in ``IngestResult.skipped``, and so is a bad page
of a PDF whose other pages were read. ``read_paths`` is ``ingest_paths`` with the settings' bounds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import Settings
from qa.errors import BadIssueFile
from qa.ids import page_id
from qa.ingest.articles import assemble
from qa.ingest.corpus import read_corpus
from qa.ingest.decode import SAVE_AS_TEXT, decode
from qa.ingest.pdf import Limits, has_scanned_page, read_pdf
from qa.ingest.scan import IMAGE_TYPES, Progress, ScanSettings, read_images
from qa.ingest.repair import repair
from qa.types import Article

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 1_000_000


@dataclass
class Skipped:
    name: str
    reason: str
    page: int | None = None     # a page of a PDF whose other pages were read




@dataclass
class IngestResult:
    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0

    def summary(self) -> str:
        issues = len({a.issue for a in self.articles})
        whole = sum(1 for s in self.skipped if s.page is None)
        line = f"收录 {self.files - whole} 个文件，{issues} 期，{len(self.articles)} 篇文章"
        pages = len(self.skipped) - whole
        if whole:
            line += f"；跳过 {whole} 个文件"
        if pages:
            line += f"；跳过 PDF 中的 {pages} 页"
        return line


# (file, pages read, pages to read): how a batch of files tells of its slow (scanned) pages.
FileProgress = Callable[[str, int, int], None]


def per_file(progress: FileProgress | None, name: str) -> Progress | None:
    """``progress`` for the pages of the file ``name``."""
    return (lambda done, total: progress(name, done, total)) if progress else None


def issue_id(name: str) -> str:
    """The page id of a file called ``name`` (``qa.ids``: the stem, or its normalised form)."""
    return page_id(name)


@dataclass
class _Reading:
    """What a reader is given besides the file: the bounds it reads within, the list its
    skipped pages go to, and whom to tell of progress through slow (scanned) pages."""

    max_bytes: int | None
    skipped: list[Skipped]
    limits: Limits
    scan: ScanSettings
    progress: Progress | None = None


def _read_page(data: bytes, name: str, how: _Reading) -> list[Article]:
    text = decode(data, name, how.max_bytes)
    if _is_html(text):
        raise BadIssueFile(name, f"这是 HTML 网页，不是版面文本；{SAVE_AS_TEXT}")
    articles = assemble(repair(text), issue_id(name))
    with_body = [a for a in articles if a.paragraphs]
    if not with_body:
        if articles and articles[0].title:
            raise BadIssueFile(name, f"只有标题（{articles[0].title[:30]}），没有正文")
        raise BadIssueFile(name, "没有找到正文")
    return with_body


def _read_corpus(data: bytes, name: str, how: _Reading) -> list[Article]:
    """Corpora are held to no page size limit: a bench's passages run to megabytes."""
    return read_corpus(decode(data, name), name)


def _read_pdf(data: bytes, name: str, how: _Reading) -> list[Article]:
    """Each PDF page is a page of the issue; one that cannot be read is reported in
    ``skipped`` and the others kept. ``max_bytes`` bounds each page's text, not the file,
    which pictures make large; ``limits`` its pages and characters."""
    articles, bad_pages = read_pdf(data, name, issue_id(name), how.max_bytes, how.limits,
                                   how.scan, how.progress)
    return _keep(articles, bad_pages, name, how)


def _read_images(data: bytes, name: str, how: _Reading) -> list[Article]:
    """A page image, or a TIFF of several pages, read by OCR (``scan``); a frame that cannot
    be read is reported in ``skipped`` like a PDF's page."""
    articles, bad_pages = read_images(data, name, issue_id(name), how.scan, how.limits.pages,
                                      how.max_bytes, how.progress)
    return _keep(articles, bad_pages, name, how)


def _keep(articles: list[Article], bad_pages: list[tuple[int, str]], name: str,
          how: _Reading) -> list[Article]:
    for page, reason in bad_pages:
        # debug, not warning: the caller reports each skip (a log line too would say it twice)
        log.debug("skipped %s page %d: %s", name, page, reason)
        how.skipped.append(Skipped(name, reason, page))
    return articles


# What a file is read as, by its type; a file of any other type is refused, naming the type.
# A reader takes (bytes, file name, how to read it) and returns articles or raises
# BadIssueFile.
READERS = {
    ".txt": _read_page,
    ".jsonl": _read_corpus,
    ".pdf": _read_pdf,
    **{kind: _read_images for kind in IMAGE_TYPES},
}
# A name without a file type is a page: the API's plain-text uploads are named by page id
# (`?name=2024-06-02_B01`), and the content is checked all the same.
_FILE_TYPE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")
_MARKUP = re.compile(r"<\s*/?\s*(?:!doctype\s+html|html|head|body|meta|title|div|p|br|span|table|"
                     r"script|style|a)\b[^<>]*>", re.I)


def file_type(name: str) -> str:
    m = _FILE_TYPE.search(Path(name.replace("\\", "/")).name)
    return m.group().lower() if m else ".txt"


def _is_html(text: str) -> bool:
    """A web page saved as is: it starts with a doctype or <html>, or is tagged throughout."""
    head = text.lstrip()[:15].lower()
    return head.startswith(("<!doctype html", "<html")) or len(_MARKUP.findall(text[:20_000])) >= 3


def ingest_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES,
                 skipped: list[Skipped] | None = None, limits: Limits = Limits(),
                 scan: ScanSettings = ScanSettings(),
                 progress: Progress | None = None) -> list[Article]:
    """One file → its articles; raises ``BadIssueFile`` with a message naming the file. The
    command line and the upload API both come here, so they accept and refuse the same files.
    Pages of a PDF (or frames of a TIFF) that cannot be read are appended to ``skipped``;
    ``progress(done, pages)`` hears of a file's pages as they are read, where that is slow
    (OCR)."""
    kind = file_type(name)
    reader = READERS.get(kind)
    if reader is None:
        accepted = "、".join(READERS)
        raise BadIssueFile(name, f"不支持的文件类型 {kind}（只接受 {accepted}）；{SAVE_AS_TEXT}")
    how = _Reading(max_bytes, [] if skipped is None else skipped, limits, scan, progress)
    return reader(data, name, how)


def is_scan(data: bytes, name: str) -> bool:
    """Whether reading this file takes OCR (a page image, or a PDF with a page without a
    text layer): seconds a page, so the service reads it in the background. Looks at the
    file's structure only."""
    kind = file_type(name)
    if kind in IMAGE_TYPES:
        return True
    return kind == ".pdf" and has_scanned_page(data)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def expand(paths: list[Path]) -> list[Path]:
    """Files named, and every file in folders named, except hidden ones (.DS_Store, .git):
    files of a type that cannot be read are reported, not passed over in silence."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f, p)))
        else:
            files.append(p)
    return files


def ingest_paths(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES,
                 limits: Limits = Limits(), scan: ScanSettings = ScanSettings(),
                 progress: FileProgress | None = None) -> IngestResult:
    """Every file of ``paths`` (folders walked) read; ``progress(file, done, pages)`` hears of
    the pages of files that are read slowly (OCR)."""
    result = IngestResult()
    for f in expand([Path(p) for p in paths]):
        result.files += 1
        try:
            data = f.read_bytes()
            pages: list[Skipped] = []
            result.articles.extend(ingest_bytes(data, f.name, max_bytes, pages, limits, scan,
                                                per_file(progress, str(f))))
            result.skipped += [Skipped(str(f), s.reason, s.page) for s in pages]
        except BadIssueFile as e:
            # Reported by the caller from result.skipped; a log line too would say it twice.
            log.debug("skipped %s", e.message)
            result.skipped.append(Skipped(str(f), e.reason))
        except OSError as e:
            result.skipped.append(Skipped(str(f), f"无法读取：{e.strerror}"))
    return result


def read_paths(paths: list[Path], settings: Settings,
               progress: FileProgress | None = None) -> IngestResult:
    """``ingest_paths`` within the bounds ``settings`` sets (a page file's bytes, a PDF's pages
    and characters, images' pixels) and reading scans as it says: how ``qa ingest`` and the
    issue service read files and folders."""
    return ingest_paths(paths, settings.max_page_bytes, Limits.of(settings),
                        ScanSettings.of(settings), progress)
