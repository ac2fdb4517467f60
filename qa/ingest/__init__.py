"""Ingest: newspaper page files (text or PDF, or JSON Lines corpora) → clean, citable articles.

``ingest_bytes`` handles one file's content; ``ingest_paths`` walks files and folders and never
lets one bad file stop the batch: it is reported in ``IngestResult.skipped``, and so is a bad page
of a PDF whose other pages were read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import BadIssueFile
from qa.ingest.articles import assemble
from qa.ingest.corpus import read_corpus
from qa.ingest.decode import decode
from qa.ingest.pdf import read_pdf
from qa.ingest.repair import repair
from qa.types import Article

log = logging.getLogger(__name__)
PAGE_SUFFIXES = {".txt", ".pdf"}
CORPUS_SUFFIXES = {".jsonl"}
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
        line = f"ingested {self.files - whole} file(s), {issues} issue(s), " \
               f"{len(self.articles)} article(s)"
        if self.skipped:
            line += f"; skipped {len(self.skipped)}: " + "; ".join(
                f"{s.name} ({s.reason})" for s in self.skipped)
        return line


def issue_id(name: str) -> str:
    """The page id is the file stem, reduced to a safe set of characters (it ends up in URLs
    and on disk)."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem).strip("_")
    return safe[:100] or "page"


def ingest_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES,
                 skipped: list[Skipped] | None = None) -> list[Article]:
    """One file → its articles; raises ``BadIssueFile`` with a message naming the file.

    A PDF's pages that cannot be read are appended to ``skipped`` (and logged); ``max_bytes``
    bounds the text of each of its pages, not the file, which pictures make large.
    """
    if Path(name).suffix.lower() == ".pdf":
        articles, bad_pages = read_pdf(data, name, issue_id(name), max_bytes)
        for page, reason in bad_pages:
            log.warning("skipped %s page %d: %s", name, page, reason)
            if skipped is not None:
                skipped.append(Skipped(name, reason, page))
        return articles
    is_corpus = Path(name).suffix.lower() in CORPUS_SUFFIXES
    text = decode(data, name, None if is_corpus else max_bytes)
    if is_corpus:
        return read_corpus(text, name)
    articles = assemble(repair(text), issue_id(name))
    if not articles:
        raise BadIssueFile(f"{name}: 没有找到正文")
    return articles


def expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file()
                                and f.suffix.lower() in PAGE_SUFFIXES | CORPUS_SUFFIXES))
        else:
            files.append(p)
    return files


def ingest_paths(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> IngestResult:
    result = IngestResult()
    for f in expand([Path(p) for p in paths]):
        result.files += 1
        try:
            data = f.read_bytes()
            pages: list[Skipped] = []
            result.articles.extend(ingest_bytes(data, f.name, max_bytes, pages))
            result.skipped += [Skipped(str(f), s.reason, s.page) for s in pages]
        except BadIssueFile as e:
            log.warning("skipped %s", e.message)
            result.skipped.append(Skipped(str(f), e.message.split(": ", 1)[-1]))
        except OSError as e:
            result.skipped.append(Skipped(str(f), f"无法读取：{e.strerror}"))
    return result
