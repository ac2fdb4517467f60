"""Scanned pages and page images → articles, by offline OCR and the PDF layout code.

A page image (a PNG, JPEG or TIFF file, one page per TIFF frame, or a PDF page without a text
layer, rendered by ``pdf``) is read by ``ocr`` into text lines with a box and a confidence for
each character. Those become the glyphs a PDF page would give, so ``pdfpage`` reads the page the
same way, from the same geometry — columns, reading order, titles by type size, captions by
pictures, outlet lines ending articles — and ``repair`` runs on the text as on any page:

* **coordinates** in points (72 per inch, from the image's resolution), and **deskewed**: the
  page's slant is the median slope of its long text lines, turned back about the page's
  centre (a scan a degree off shifts a column's left edge by a character over its height);
* **type size** from the ink: the height of the dark rows across a line's straightened crop,
  over the ink height of a CJK face's em (``INK_PER_EM``) — OCR's own line boxes vary by ±10 %
  from line to line, more than a caption differs from the body;
* **weight**: not read (OCR does not say); titles are told by size, which is how most are set;
* **pictures**: large areas of ink that no text line covers (photographs, drawings), so that
  captions find their picture;
* a character read with a confidence under ``UNCERTAIN`` is kept, and the article records
  where (``Article.uncertain``: offsets in its text), for the search and the reader to show;
* a page is **refused, with its reason**, when it is blank, holds no text OCR can find, or is
  read with a mean confidence under ``Settings.ocr_min_confidence`` (a photo of no text, a
  page too blurred or too small): it is reported, never indexed silently.

Image files are checked before they are decoded: their pixel count against
``Settings.max_image_pixels`` (a 20,000 × 20,000 image is refused from its header), and their
frames against ``Settings.max_pdf_pages``. Larger than ``Settings.ocr_dpi`` is shrunk to it.
"""

from __future__ import annotations

import io
import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from qa.errors import BadIssueFile, PageError
from qa.ingest.ocr import TextLine, recognise
from qa.ingest.pdfpage import Box, Glyph, Page
from qa.types import Article

log = logging.getLogger(__name__)

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_FORMATS = {"PNG", "JPEG", "MPO", "TIFF"}
# A CJK face's ink spans ~0.93 of its em (Noto Serif CJK: a 10 pt line is 10.6 pt... of ink at
# 0.93; measured on the rendered seed pages, docs/decisions.md "Scanned pages").
INK_PER_EM = 0.93
UNCERTAIN = 0.6           # a character read with less confidence is marked
MIN_CHARS = 20            # fewer characters read than this: no text on the page
BLANK_INK = 0.002         # share of dark pixels under which a page is blank
SKEW_MIN = 0.05           # degrees: a smaller slant is left as it is
ASSUMED_DPI = 200         # an image that does not state its resolution


@dataclass(frozen=True)
class ScanSettings:
    """How page images are read: the resolution OCR reads at, the largest image accepted, the
    cores one page may use, and the mean confidence under which a page is refused
    (``Settings``, which says why)."""

    dpi: int = 200
    pixels: int = 40_000_000
    threads: int = 1
    min_confidence: float = 0.8

    @classmethod
    def of(cls, settings) -> "ScanSettings":
        return cls(settings.ocr_dpi, settings.max_image_pixels, settings.ocr_threads,
                   settings.ocr_min_confidence)


Progress = Callable[[int, int], None]     # (pages read, pages to read)


def read_images(data: bytes, name: str, issue: str, scan: ScanSettings = ScanSettings(),
                max_pages: int = 200, max_bytes: int | None = None,
                progress: Progress | None = None
                ) -> tuple[list[Article], list[tuple[int, str]]]:
    """An image file's articles (a TIFF's frames are its pages) and the pages skipped with
    why; a file that is no image, is damaged or too large raises ``BadIssueFile``."""
    frames = _open(data, name, scan, max_pages)
    articles: list[Article] = []
    bad: list[tuple[int, str]] = []
    for n, frame in enumerate(frames, 1):
        if progress:
            progress(n - 1, len(frames))
        try:
            image, dpi = _load(frame, scan)
            articles += page_articles(image, dpi, issue, n, scan, max_bytes)
        except PageError as e:
            bad.append((n, str(e)))
        except (OSError, SyntaxError, ValueError) as e:
            log.debug("%s frame %d: %s", name, n, e)
            bad.append((n, "图片已损坏，无法读取"))
    if progress:
        progress(len(frames), len(frames))
    if not articles:
        reasons = sorted({r for _, r in bad})
        raise BadIssueFile(name, reasons[0] if len(reasons) == 1 else "；".join(
            f"第 {n} 页：{r}" for n, r in bad[:5]))
    return articles, [(n, f"第 {n} 页：{r}") for n, r in bad]


def _open(data: bytes, name: str, scan: ScanSettings, max_pages: int) -> list:
    """The file's frames, undecoded: the header is read and checked, no pixels yet."""
    from PIL import Image, UnidentifiedImageError

    if not data.strip():
        raise BadIssueFile(name, "文件为空")
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadIssueFile(name, "不是有效的图片文件（文件已损坏或不完整）") from None
    except Image.DecompressionBombError:
        raise BadIssueFile(name, _too_large(None, scan)) from None
    if img.format not in _FORMATS:
        raise BadIssueFile(name, f"不支持的图片格式 {img.format}（只接受 PNG、JPEG、TIFF）")
    count = getattr(img, "n_frames", 1)
    if count > max_pages:
        raise BadIssueFile(name, f"图片有 {count:,} 页，超过上限 {max_pages:,} 页；请分成几个文件上传")
    frames = []
    for i in range(count):
        try:
            img.seek(i)
        except (EOFError, OSError, SyntaxError, ValueError):
            if not frames:
                raise BadIssueFile(name, "图片已损坏，无法读取") from None
            break
        w, h = img.size
        if w * h > scan.pixels:
            raise BadIssueFile(name, _too_large((w, h), scan))
        frames.append((img, i))
    return frames


def _too_large(size: tuple[int, int] | None, scan: ScanSettings) -> str:
    what = f"{size[0]:,} × {size[1]:,} 像素" if size else "像素过多"
    return f"图片过大（{what}，上限 {scan.pixels / 1e6:.0f} 百万像素）"


def _load(frame, scan: ScanSettings):
    """One frame decoded to greyscale, turned upright (a photo's EXIF orientation) and shrunk
    to ``scan.dpi``; with the resolution it then has."""
    from PIL import ImageOps

    img, i = frame
    img.seek(i)
    img.load()
    dpi = _dpi(img.info.get("dpi"))
    page = ImageOps.exif_transpose(img).convert("L")
    if dpi > scan.dpi * 1.25:
        factor = scan.dpi / dpi
        page = page.resize((max(1, round(page.width * factor)), max(1, round(page.height * factor))))
        dpi = scan.dpi
    return page, dpi


def _dpi(value) -> float:
    try:
        dpi = float(value[0])
    except (TypeError, ValueError, IndexError):
        return ASSUMED_DPI
    return dpi if 50 <= dpi <= 2400 else ASSUMED_DPI


def page_articles(image, dpi: float, issue: str, n: int, scan: ScanSettings = ScanSettings(),
                  max_bytes: int | None = None) -> list[Article]:
    """One page image (greyscale PIL image at ``dpi``) → its articles, or ``PageError``."""
    import numpy as np

    gray = np.asarray(image, dtype=np.uint8)
    if gray.size == 0 or (gray < 128).mean() < BLANK_INK:
        raise PageError("空白页")
    lines = [l for l in recognise(gray, scan.threads) if not _vertical(l)]
    chars = [c for l in lines for c in l.chars if c.text.strip()]
    if len(chars) < MIN_CHARS:
        raise PageError("图片中没有识别出文字")
    confidence = statistics.fmean(c.conf for c in chars)
    if confidence < scan.min_confidence:
        raise PageError(f"文字识别的可信度过低（{confidence:.2f}，下限 {scan.min_confidence:.2f}），"
                        "请上传更清晰的扫描件")
    turn = _Turn(_skew(lines), gray.shape[1] / 2, gray.shape[0] / 2, 72 / dpi)
    glyphs, uncertain = _glyphs(gray, lines, turn)
    laid = Page(glyphs, _pictures(gray, lines, turn))
    if max_bytes is not None and laid.text_bytes() > max_bytes:
        raise PageError(f"文字过多（{laid.text_bytes():,} 字节，上限 {max_bytes:,} 字节），"
                        "不像报纸版面")
    articles = laid.articles(issue, n)
    for a in articles:
        a.uncertain = _marks(a, uncertain)
    log.debug("page %d: %d lines, %d characters, confidence %.3f, slant %.2f°", n, len(lines),
              len(chars), confidence, turn.degrees)
    return articles


def _vertical(line: TextLine) -> bool:
    """Set top to bottom (a vertical caption, a stamp): left out, as on a PDF page."""
    return len(line.text) > 1 and line.height > 1.5 * line.width


def _skew(lines: list[TextLine]) -> float:
    """The page's slant in degrees: the median slope of lines at least 4 characters long."""
    slopes = [l.angle for l in lines if l.width > 4 * l.height and abs(l.angle) < 10]
    angle = statistics.median(slopes) if slopes else 0.0
    return angle if abs(angle) >= SKEW_MIN else 0.0


@dataclass(frozen=True)
class _Turn:
    """Image pixels → deskewed page points: turned back by ``degrees`` about (cx, cy)."""

    degrees: float
    cx: float
    cy: float
    scale: float

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        a = math.radians(-self.degrees)
        dx, dy = x - self.cx, y - self.cy
        return ((self.cx + dx * math.cos(a) - dy * math.sin(a)) * self.scale,
                (self.cy + dx * math.sin(a) + dy * math.cos(a)) * self.scale)


def _glyphs(gray, lines: list[TextLine], turn: _Turn) -> tuple[list[Glyph], list[tuple[str, int]]]:
    """Each line's characters as glyphs on one baseline, sized by the line's ink; and each
    uncertain character as (its line's text, its place in it)."""
    glyphs: list[Glyph] = []
    uncertain: list[tuple[str, int]] = []
    for k, line in enumerate(lines):
        corners = [turn(x, y) for x, y in line.quad]
        top = (corners[0][1] + corners[1][1]) / 2
        bottom = (corners[2][1] + corners[3][1]) / 2
        size = _ink_height(gray, line) * turn.scale / INK_PER_EM or (bottom - top)
        text = "".join(c.text for c in line.chars)
        for i, c in enumerate(line.chars):
            xs = [turn(x, y)[0] for x, y in c.quad]
            glyphs.append(Glyph(c.text, min(xs), max(xs), top, bottom, bottom, size, False,
                                seq=k * 10_000 + i))
            if c.conf < UNCERTAIN:
                uncertain.append((text, i))
    return glyphs, uncertain


def _ink_height(gray, line: TextLine) -> float:
    """The height, in pixels, of the rows of the line's straightened crop that hold ink."""
    import cv2
    import numpy as np

    q = np.array(line.quad, dtype=np.float32)
    w, h = max(1, round(line.width)), max(1, round(line.height))
    m = cv2.getPerspectiveTransform(q, np.array([[0, 0], [w, 0], [w, h], [0, h]],
                                                dtype=np.float32))
    crop = cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    if crop.max() - crop.min() < 40:
        return 0.0
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    rows = np.nonzero(ink.mean(axis=1) > 0.02)[0]
    return float(rows[-1] - rows[0] + 1) if len(rows) else 0.0


def _pictures(gray, lines: list[TextLine], turn: _Turn) -> list[Box]:
    """Areas of ink no text line covers, at least a few lines tall and wide: photographs and
    drawings (a rule between columns is too thin to count)."""
    import cv2
    import numpy as np

    step = 4                                  # read at a quarter of the resolution
    small = cv2.resize(gray, (max(1, gray.shape[1] // step), max(1, gray.shape[0] // step)),
                       interpolation=cv2.INTER_AREA)
    ink = (small < 200).astype(np.uint8)
    for line in lines:
        cv2.fillPoly(ink, [np.round(np.array(line.quad) / step).astype(np.int32)], 0)
    heights = sorted(l.height for l in lines)
    unit = heights[len(heights) // 2] / step if heights else 8
    k = max(1, int(unit))
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = []
    for x, y, w, h, area in stats[1:count]:
        if w >= 4 * unit and h >= 4 * unit and area >= 0.3 * w * h:
            corners = [turn(px * step, py * step) for px, py in
                       ((x, y), (x + w, y), (x + w, y + h), (x, y + h))]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            boxes.append(Box(min(xs), max(xs), min(ys), max(ys)))
    return boxes


def _marks(article: Article, uncertain: list[tuple[str, int]]) -> list[int]:
    """Where in the article's text the uncertain characters are: each found by the characters
    before it in its line, or else those after it (joining lines into paragraphs keeps a
    character's neighbours, and the repair keeps every character in its place)."""
    text = article.text
    found = set()
    for line, i in uncertain:
        before, after = line[max(0, i - 5):i], line[i + 1:i + 6]
        for context, shift in ((before, len(before)), (after, -1)):
            at = text.find(context) if len(context) >= 3 else -1
            if at >= 0 and text.find(context, at + 1) < 0 and 0 <= at + shift < len(text):
                found.add(at + shift)
                break
    return sorted(found)
