"""PDF files → articles, one PDF page at a time (``pdfpage`` reads a page's layout).

PDFium (pypdfium2, BSD/Apache) gives each character with its box, baseline, effective type size
and font weight, and each picture with its box. PDFium also opens files encrypted with an owner
password only, which many newspaper PDFs are, and is not thread-safe: one lock around all use,
since the server's threads may ingest uploads at the same time.

Fonts the PDF names but does not embed come from ``pdffont``, never from the machine, so a page
reads the same everywhere.

A page without a text layer (fewer than ``MIN_GLYPHS`` characters, and pictures: a scan) is
rendered and read by OCR (``scan``), after the lock is released, so that other uploads' pages
are read meanwhile.

A file that cannot be opened at all (not a PDF, damaged, needs a password) raises
``BadIssueFile``; a page that cannot be read (fonts without a text mapping, a scan OCR cannot
read) is reported and skipped, and the other pages are kept.
"""

from __future__ import annotations

import ctypes
import logging
import math
import re
import threading
from dataclasses import dataclass

from qa.config import Settings
from qa.errors import BadIssueFile, PageError, QAError
from qa.ingest import pdffont
from qa.ingest.decode import normalise
from qa.ingest.pdfpage import BOLD_WEIGHT, Box, Glyph, Page
from qa.ingest.scan import Progress, ScanSettings, page_articles
from qa.types import Article

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
MIN_GLYPHS = 20          # fewer characters than this on a page with pictures: a scan
MAX_UNMAPPED = 0.3       # share of characters without a Unicode mapping: the page is unreadable
# Bold by name where the font does not state its weight (方正 and other CJK faces: 黑体 is the
# usual title face).
_BOLD_NAME = re.compile(r"bold|heavy|black|semibold|demi|hei|黑", re.I)


@dataclass(frozen=True)
class Limits:
    """What one PDF may hold, checked while it is read (before layout, chunking, embedding):
    pages, characters on a page, characters in all (``Settings``, which says why)."""

    pages: int = Settings.max_pdf_pages
    page_glyphs: int = Settings.max_pdf_page_glyphs
    glyphs: int = Settings.max_pdf_glyphs

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(settings.max_pdf_pages, settings.max_pdf_page_glyphs, settings.max_pdf_glyphs)


def read_pdf(data: bytes, name: str, issue: str, max_bytes: int | None = None,
             limits: Limits = Limits(), scan: ScanSettings = ScanSettings(),
             progress: Progress | None = None
             ) -> tuple[list[Article], list[tuple[int, str]]]:
    """A PDF's articles, each with its 1-based page number, and the pages skipped with why.
    A page without a text layer (a scan) is rendered at ``scan.dpi`` and read by OCR
    (``scan``), outside the PDFium lock; ``progress`` hears of each such page."""
    import pypdfium2 as pdfium

    if not data.strip():
        raise BadIssueFile(name, "文件为空")
    pdffont.install()
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            raise BadIssueFile(name, f"{_open_error(e)}") from None
    try:
        with _LOCK:
            pages = len(doc)
        if pages == 0:
            raise BadIssueFile(name, "PDF 中没有页面")
        if pages > limits.pages:
            raise BadIssueFile(name, f"PDF 有 {pages:,} 页，超过上限 {limits.pages:,} 页；"
                                     "请分成几个文件上传")
        articles: list[Article] = []
        bad: list[tuple[int, str]] = []
        budget = [limits.glyphs]         # characters left for the file's other pages
        for n in range(1, pages + 1):
            try:
                with _LOCK:
                    found = _page_articles(doc, n, issue, max_bytes, limits, budget, scan)
                if isinstance(found, _Rendered):      # OCR, with the lock free for others
                    found = _read_scan(found, issue, n, pages, scan, max_bytes, progress)
            except _TooMuchText as e:
                raise BadIssueFile(name, str(e)) from None
            except PageError as e:
                bad.append((n, str(e)))
                continue
            except pdfium.PdfiumError:
                bad.append((n, "已损坏，无法读取"))
                continue
            except QAError:     # not the page's fault (the OCR extra missing): said as it is
                raise
            except Exception:   # a layout this reader trips on: lose the page, not the file
                log.exception("%s page %d: layout not understood", name, n)
                bad.append((n, "版面无法解析"))
                continue
            if not found:
                bad.append((n, "没有找到正文"))
            articles += found
    finally:
        with _LOCK:
            doc.close()
    if not articles:
        if len(bad) == 1:
            reason = bad[0][1]
        elif len({r for _, r in bad}) == 1:
            reason = f"{bad[0][1]}（全部 {len(bad)} 页）"
        else:
            reason = "没有一页能读出正文（" + "；".join(f"第 {n} 页：{r}" for n, r in bad[:5]) + "）"
        raise BadIssueFile(name, f"{reason}")
    return articles, [(n, f"第 {n} 页：{r}") for n, r in bad]


@dataclass
class _Rendered:
    """A page without a text layer, rendered for OCR."""

    image: object       # PIL greyscale image
    dpi: float


def _read_scan(page: _Rendered, issue: str, n: int, pages: int, scan: ScanSettings,
               max_bytes: int | None, progress: Progress | None) -> list[Article]:
    """Page ``n`` of ``pages``, a scan, read by OCR; ``progress`` hears of it before and after
    (counted in the file's pages: which are scans is known only as they are met)."""
    if progress:
        progress(n - 1, pages)
    try:
        return page_articles(page.image, page.dpi, issue, n, scan, max_bytes)
    finally:
        if progress:
            progress(n, pages)


def has_scanned_page(data: bytes) -> bool:
    """Whether any page of the PDF holds pictures but (almost) no text: a scan, for OCR.
    False for a file PDFium cannot open (reading it will say why)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as c

    pdffont.install()
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            return False
        try:
            for n in range(min(len(doc), Limits.pages)):
                page = doc[n]
                try:
                    text = page.get_textpage()
                    chars = c.FPDFText_CountChars(text.raw)
                    text.close()
                    if _scanned(chars, page):
                        return True
                finally:
                    page.close()
            return False
        finally:
            doc.close()


def _open_error(e) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(e, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "PDF 已加密，需要密码才能打开"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "PDF 使用了不支持的加密方式"
    return "不是有效的 PDF 文件（文件已损坏或不完整）"


class _TooMuchText(Exception):
    """The file holds more characters than one PDF may: it is refused whole."""


def _page_articles(doc, n: int, issue: str, max_bytes: int | None, limits: Limits,
                   budget: list[int], scan: ScanSettings) -> list[Article] | _Rendered:
    page = doc[n - 1]
    try:
        glyphs, unmapped = _glyphs(page, n, limits, budget)
        ink = sum(1 for g in glyphs if g.text.strip())
        if _scanned(ink, page):
            return _render(page, scan)
        images = _images(page)
    finally:
        page.close()
    if unmapped > MAX_UNMAPPED * max(1, ink + unmapped):
        raise PageError("字体缺少文字映射，无法提取文字")
    if not ink:
        raise PageError("空白页")
    laid = Page(glyphs, images)
    if max_bytes is not None and laid.text_bytes() > max_bytes:
        raise PageError(f"文字过多（{laid.text_bytes():,} 字节，上限 {max_bytes:,} 字节），"
                        "不像报纸版面")
    return laid.articles(issue, n)


def _scanned(chars: int, page) -> bool:
    """A page of pictures with (almost) no text: a scan, read by OCR."""
    return chars < MIN_GLYPHS and bool(_images(page))


def _render(page, scan: ScanSettings) -> _Rendered:
    """A scanned page as a greyscale image at ``scan.dpi``, or less where that would exceed
    ``scan.pixels`` (a poster-sized page)."""
    width, height = page.get_width(), page.get_height()
    dpi = min(scan.dpi, 72 * math.sqrt(scan.pixels / max(1.0, width * height)))
    image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    return _Rendered(image, dpi)


def _glyphs(page, n: int, limits: Limits, budget: list[int]) -> tuple[list[Glyph], int]:
    """The page's characters, top-down coordinates; rotated ones (a vertical caption, a stamp)
    are left out, and so are the line ends PDFium made up. Counted first: a page over
    ``limits.page_glyphs`` is a ``PageError``, a file over ``limits.glyphs`` ``_TooMuchText``,
    before a single character is looked at."""
    import pypdfium2.raw as c

    height = page.get_height()
    text = page.get_textpage()
    try:
        raw = text.raw
        count = c.FPDFText_CountChars(raw)
        budget[0] -= count          # a page refused for its own count spends it all the same
        if budget[0] < 0:
            raise _TooMuchText(f"PDF 的文字过多（到第 {n} 页已超过 {limits.glyphs:,} 个字符）；"
                               "请分成几个文件上传")
        if count > limits.page_glyphs:
            raise PageError(f"字符过多（{count:,} 个，上限 {limits.page_glyphs:,}），不像报纸版面")
        box, matrix = c.FS_RECTF(), c.FS_MATRIX()
        ox, oy = ctypes.c_double(), ctypes.c_double()
        name, flags = ctypes.create_string_buffer(128), ctypes.c_int()
        glyphs, unmapped = [], 0
        for i in range(count):
            code = c.FPDFText_GetUnicode(raw, i)
            if c.FPDFText_IsGenerated(raw, i):
                # PDFium's own line ends go; its spaces stay, in the type of the glyph before:
                # it also puts one for a space the PDF drew on its own (a title's parts set
                # glyph by glyph), which it does not report otherwise
                if code == 0x20 and glyphs and glyphs[-1].seq == i - 1:
                    last = glyphs[-1]
                    glyphs.append(Glyph(" ", last.x1, last.x1, last.top, last.bottom, last.base,
                                        last.size, last.bold, i, made=True))
                continue
            if c.FPDFText_HasUnicodeMapError(raw, i):
                unmapped += 1
                continue
            char = normalise(chr(code)) if code else ""
            if char in ("", "\n"):
                continue
            c.FPDFText_GetMatrix(raw, i, matrix)
            if abs(matrix.b) > 0.05 * abs(matrix.a) or abs(matrix.c) > 0.05 * abs(matrix.d):
                continue
            c.FPDFText_GetLooseCharBox(raw, i, box)
            c.FPDFText_GetCharOrigin(raw, i, ox, oy)
            size = c.FPDFText_GetFontSize(raw, i) * math.sqrt(abs(matrix.a * matrix.d))
            c.FPDFText_GetFontInfo(raw, i, name, len(name), flags)
            bold = c.FPDFText_GetFontWeight(raw, i) >= BOLD_WEIGHT or \
                bool(_BOLD_NAME.search(name.value.decode("utf-8", "replace")))
            glyphs.append(Glyph(char, box.left, box.right, height - box.top, height - box.bottom,
                                height - oy.value, size, bold, i))
        return glyphs, unmapped
    finally:
        text.close()


def _images(page) -> list[Box]:
    import pypdfium2.raw as c

    height = page.get_height()
    boxes = []
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_IMAGE]):
        left, bottom, right, top = obj.get_bounds()
        boxes.append(Box(left, right, height - top, height - bottom))
    return boxes
