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
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace

from qa.config import Settings
from qa.errors import BadIssueFile, PageError
from qa.ingest.ocr import TextLine, recognise
from qa.ingest.pdfpage import Box, Glyph, Page
from qa.ingest.pdfpage.lines import LARGE
from qa.types import Article

log = logging.getLogger(__name__)

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_FORMATS = {"PNG", "JPEG", "MPO", "TIFF"}
# An ideograph's ink spans ~0.93 of the em in a Song face (the seed pages' 10 pt body, rendered
# at 200 dpi, measures 25–26 px of ink: 0.92–0.94). Only ratios between sizes matter to the
# layout, so a face whose ink runs a little taller or shorter changes nothing.
INK_PER_EM = 0.93
# A character read with less confidence is marked. The seed scans' characters read at 0.99 on
# average; under 0.6 are 7–11 a page (benchmarks/ocr.py, "uncertain").
UNCERTAIN = 0.6
MIN_CHARS = 20            # fewer characters read than this: no text on the page (as pdf.MIN_GLYPHS)
# The body's ink under this many pixels: too coarse to read the layout from (1 px is 8 % of the
# size). At 100 dpi (10 pt body: 13 px) 4 of the 19 seed articles kept their titles and outlets,
# at 150 dpi (19 px) all 19 (benchmarks/ocr.py --dpi; BENCHMARKS.md §11).
MIN_INK_PX = 15
BLANK_INK = 0.002         # share of dark pixels under which a page is blank
SKEW_MIN = 0.05           # degrees: a smaller slant is left as it is
ASSUMED_DPI = 200         # an image that does not state its resolution


@dataclass(frozen=True)
class ScanSettings:
    """How page images are read: the resolution OCR reads at, the largest image accepted, the
    cores one page may use, and the mean confidence under which a page is refused
    (``Settings``, which says why)."""

    dpi: int = Settings.ocr_dpi
    pixels: int = Settings.max_image_pixels
    threads: int = Settings.ocr_threads
    min_confidence: float = Settings.ocr_min_confidence

    @classmethod
    def of(cls, settings: Settings) -> "ScanSettings":
        return cls(settings.ocr_dpi, settings.max_image_pixels, settings.ocr_threads,
                   settings.ocr_min_confidence)


Progress = Callable[[int, int], None]     # (pages read, pages to read)


def read_images(data: bytes, name: str, issue: str, scan: ScanSettings = ScanSettings(),
                max_pages: int = Settings.max_pdf_pages, max_bytes: int | None = None,
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


def check_image(data: bytes, name: str, scan: ScanSettings = ScanSettings(),
                max_pages: int = Settings.max_pdf_pages) -> None:
    """``BadIssueFile`` for an image file refused from its header alone (not an image, a
    format not taken, too many pixels or frames): what an upload can be told at once, before
    any OCR. Decodes no pixels."""
    _open(data, name, scan, max_pages)


def _open(data: bytes, name: str, scan: ScanSettings, max_pages: int) -> list:
    """The file's frames, undecoded: the header is read and checked, no pixels yet."""
    from PIL import Image, UnidentifiedImageError

    if not data.strip():
        raise BadIssueFile(name, "文件为空")
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadIssueFile(name, "不是有效的图片文件（文件已损坏或不完整）") from None
    except Image.DecompressionBombError as e:       # PIL's own bound, far above ours
        m = re.search(r"\((\d+) pixels\)", str(e))
        raise BadIssueFile(name, _too_large(int(m.group(1)) if m else None, scan)) from None
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
            raise BadIssueFile(name, _too_large(w * h, scan, f"{w:,} × {h:,} 像素，"))
        frames.append((img, i))
    return frames


def _too_large(pixels: int | None, scan: ScanSettings, size: str = "") -> str:
    what = f"{size}共 {pixels:,} 像素" if pixels else "像素过多"
    return f"图片过大（{what}，上限 {scan.pixels:,} 像素）"


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


@dataclass
class ScannedPage:
    """A page image as read: its layout (``pdfpage.Page``, from the OCR'd glyphs), where its
    uncertain characters are, and what the reading measured."""

    layout: Page
    uncertain: list[tuple[str, int]]      # (the line's text, the character's place in it)
    chars: int
    confidence: float                     # mean character confidence
    slant: float                          # degrees turned back


def read_page(image, dpi: float, scan: ScanSettings = ScanSettings()) -> ScannedPage:
    """One page image (greyscale PIL image at ``dpi``) read by OCR, or ``PageError``."""
    import numpy as np

    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    if gray.size == 0 or (gray < 128).mean() < BLANK_INK:
        raise PageError("空白页")
    gray = _flatten(gray)
    lines = [l for l in recognise(gray, scan.threads) if not _vertical(l)]
    chars = [c for l in lines for c in l.chars if c.text.strip()]
    if len(chars) < MIN_CHARS:
        raise PageError("图片中没有识别出文字")
    confidence = statistics.fmean(c.conf for c in chars)
    if confidence < scan.min_confidence:
        raise PageError(f"文字识别的可信度过低（{confidence:.2f}，下限 {scan.min_confidence:.2f}），"
                        "请上传更清晰的扫描件")
    turn = _Turn(_skew(lines), gray.shape[1] / 2, gray.shape[0] / 2, 72 / dpi)
    measured = [_measure(gray, line) for line in lines]
    body = _body_height(lines, measured)
    if 0 < body < MIN_INK_PX:
        raise PageError(f"扫描分辨率过低（正文字高约 {body:.0f} 像素，至少需要 {MIN_INK_PX} 像素，"
                        "约合 150 dpi 以上），版面无法可靠识别；请以 200 dpi 重新扫描")
    glyphs, uncertain = _glyphs(lines, measured, body, turn)
    return ScannedPage(Page(glyphs, _pictures(gray, lines, turn), weights=False), uncertain,
                       len(chars), confidence, turn.degrees)


def page_articles(image, dpi: float, issue: str, n: int, scan: ScanSettings = ScanSettings(),
                  max_bytes: int | None = None) -> list[Article]:
    """One page image (greyscale PIL image at ``dpi``) → its articles, or ``PageError``."""
    read = read_page(image, dpi, scan)
    laid = read.layout
    if max_bytes is not None and laid.text_bytes() > max_bytes:
        raise PageError(f"文字过多（{laid.text_bytes():,} 字节，上限 {max_bytes:,} 字节），"
                        "不像报纸版面")
    articles = laid.articles(issue, n)
    for a in articles:
        a.uncertain = _marks(a, read.uncertain)
    log.debug("page %d: %d characters, confidence %.3f, slant %.2f°", n, read.chars,
              read.confidence, read.slant)
    return articles


def _flatten(gray):
    """A photographed page (the paper's edges in the picture, at an angle) straightened to a
    rectangle by its four corners; a scan, whose paper fills the image, as it is."""
    import cv2
    import numpy as np

    h, w = gray.shape
    step = max(1, max(h, w) // 1000)
    small = cv2.resize(gray, (w // step, h // step), interpolation=cv2.INTER_AREA)
    _, paper = cv2.threshold(cv2.GaussianBlur(small, (5, 5), 0), 0, 255,
                             cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return gray
    outline = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(outline)
    if not 0.4 * small.size <= area <= 0.97 * small.size:
        return gray
    corners = cv2.approxPolyDP(outline, 0.02 * cv2.arcLength(outline, True), True)
    if len(corners) != 4:
        return gray
    pts = corners.reshape(4, 2).astype(np.float32) * step
    by_sum, by_diff = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    quad = np.array([pts[by_sum.argmin()], pts[by_diff.argmin()], pts[by_sum.argmax()],
                     pts[by_diff.argmax()]], dtype=np.float32)      # tl, tr, br, bl
    width = int(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    return cv2.warpPerspective(gray, cv2.getPerspectiveTransform(quad, target), (width, height),
                               flags=cv2.INTER_LINEAR, borderValue=255)


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


def _glyphs(lines: list[TextLine], measured: list[tuple[float, list[tuple[float, float]]]],
            body: float, turn: _Turn) -> tuple[list[Glyph], list[tuple[str, int]]]:
    """Each line's characters as glyphs on one baseline, sized by the line's ink, a full-width
    mark as wide as its em, a title's parts OCR read apart joined (``_title_parts``); and each
    uncertain character as (its line's text, its place in it)."""
    rows: list[list[Glyph]] = []
    uncertain: list[tuple[str, int]] = []
    for k, (line, (height, spans)) in enumerate(zip(lines, measured)):
        if _ideographs(line) < 3 and body and abs(height / body - 1) <= 0.15:
            height = body       # a line's last word or two: too few to measure apart
        corners = [turn(x, y) for x, y in line.quad]
        top = (corners[0][1] + corners[1][1]) / 2
        bottom = (corners[2][1] + corners[3][1]) / 2
        size = height * turn.scale / INK_PER_EM or (bottom - top)
        text = "".join(c.text for c in line.chars)
        row: list[Glyph] = []
        for i, (c, (t0, t1)) in enumerate(zip(line.chars, spans)):
            x0, x1 = _advance(c.text, _along(line, t0, turn), _along(line, t1, turn), size)
            row.append(Glyph(_read_as(line.chars, i), x0, x1, top, bottom, bottom, size, False,
                             seq=k * 10_000 + i))
            if c.conf < UNCERTAIN:
                uncertain.append((text, i))
        rows.append(row)
    return _title_parts(rows), uncertain


def _ideograph(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _ideographs(line: TextLine) -> int:
    return sum(_ideograph(c.text) for c in line.chars)


def _body_height(lines: list[TextLine], measured) -> float:
    """The ink height most ideographs on the page have (lines of three or more)."""
    heights = sorted(h for line, (h, _) in zip(lines, measured) if _ideographs(line) >= 3
                     for _ in range(_ideographs(line)))
    return heights[len(heights) // 2] if heights else 0.0


def _read_as(chars, i: int) -> str:
    """The character, with OCR's one certain confusion undone: a dash between two digits
    (`9—15岁`) is read as 一, which never stands there."""
    text = chars[i].text
    if text == "一" and 0 < i < len(chars) - 1 and chars[i - 1].text[-1:].isdigit() and \
            chars[i + 1].text[:1].isdigit():
        return "—"
    return text


# Full-width marks whose ink sits at one side of their em: OCR's box holds the ink, a PDF's the
# whole advance; without it, the gap after a comma reads as a gutter and splits the line.
_CLOSING = set("，。、；：！？”’）》」』】〉")
_OPENING = set("“‘（《「『【〈")


def _advance(ch: str, x0: float, x1: float, em: float) -> tuple[float, float]:
    """A full-width mark's box widened to its em, as a PDF gives it."""
    if ch in _CLOSING:
        return x0, max(x1, x0 + em)
    if ch in _OPENING:
        return min(x0, x1 - em), x1
    return x0, x1


def _along(line: TextLine, t: float, turn: _Turn) -> float:
    """The page x of the point ``t`` of the way along the line's middle."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = line.quad
    x = ((ax + (bx - ax) * t) + (dx + (cx - dx) * t)) / 2
    y = ((ay + (by - ay) * t) + (dy + (cy - dy) * t)) / 2
    return turn(x, y)[0]


def _title_parts(rows: list[list[Glyph]]) -> list[Glyph]:
    """Title type OCR read as two lines side by side on one baseline, less than one and a half
    characters apart (`聚焦五大领域  实施五项专项行动`): one line with a space, as a PDF sets
    it, so the layout reads one title. Body-size lines are never joined (a gutter)."""
    sizes = sorted(g.size for row in rows for g in row if g.text.strip())
    if not sizes:
        return []
    body = sizes[len(sizes) // 2]
    order = sorted((r for r in rows if r), key=lambda r: (round(r[0].base), r[0].x0))
    for a in order:
        for b in order:
            if a is b or not a or not b or a[0].size < LARGE * body:
                continue
            gap = b[0].x0 - a[-1].x1
            if abs(a[0].base - b[0].base) <= 0.25 * a[0].size and \
                    abs(a[0].size - b[0].size) <= 0.08 * a[0].size and 0 < gap <= 1.5 * a[0].size:
                first = a[-1].seq + 1
                a.append(Glyph(" ", a[-1].x1, b[0].x0, a[0].top, a[0].bottom, a[0].base,
                               a[0].size, False, seq=first))
                a += [replace(g, seq=first + 1 + j, base=a[0].base, size=a[0].size)
                      for j, g in enumerate(b)]
                b.clear()
    return [g for row in rows for g in row]


def _punctuation(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch[:1] or " ")[0] in "PZS"


def _measure(gray, line: TextLine) -> tuple[float, list[tuple[float, float]]]:
    """From the line's straightened crop: the height, in pixels, of a CJK character's ink
    (for each ideograph, the rows holding ink under it; the median — Latin descenders,
    punctuation and a low 一 do not count), and each character's extent along the line
    (0–1): OCR's share of the line, except that the line's first and last characters are
    narrowed to their ink (OCR's shares run into the margins; a punctuation mark's ink is not
    its advance, so marks keep their share)."""
    import cv2
    import numpy as np

    q = np.array(line.quad, dtype=np.float32)
    w, h = max(1, round(line.width)), max(1, round(line.height))
    m = cv2.getPerspectiveTransform(q, np.array([[0, 0], [w, 0], [w, h], [0, h]],
                                                dtype=np.float32))
    quads = cv2.perspectiveTransform(np.array([c.quad for c in line.chars], np.float32), m)
    boxes = [(max(0, int(p[:, 0].min())), min(w, int(np.ceil(p[:, 0].max())))) for p in quads]
    spans = [(x0 / w, x1 / w) for x0, x1 in boxes]
    crop = cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    if crop.max() - crop.min() < 40:
        return 0.0, spans
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    heights = []
    last = len(line.chars) - 1
    for i, (c, (x0, x1)) in enumerate(zip(line.chars, boxes)):
        cols = np.nonzero(ink[:, x0:x1].any(axis=0))[0] if x1 - x0 >= 2 else []
        if len(cols) and (i == 0 or i == last) and not _punctuation(c.text):
            # the line's ends only: inside it, OCR's shares keep the advance a PDF gives
            spans[i] = ((x0 + cols[0]) / w if i == 0 else spans[i][0],
                        (x0 + cols[-1] + 1) / w if i == last else spans[i][1])
        if _ideograph(c.text) and len(cols):
            rows = np.nonzero(ink[:, x0:x1].any(axis=1))[0]
            heights.append(rows[-1] - rows[0] + 1)
    if not heights:
        rows = np.nonzero(ink.mean(axis=1) > 0.02)[0]
        heights = [rows[-1] - rows[0] + 1] if len(rows) else [0]
    return float(statistics.median(heights)), spans


def _pictures(gray, lines: list[TextLine], turn: _Turn) -> list[Box]:
    """Areas of ink no text line covers, at least a few lines tall and wide: photographs and
    drawings (a rule between columns, thinner than a character, does not count, nor does a
    shadow along the image's edge)."""
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
    # opening first: rules between columns and ink left outside text boxes are thinner than a
    # character and go; a picture stays
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = []
    height, width = ink.shape
    for x, y, w, h, area in stats[1:count]:
        edge = x == 0 or y == 0 or x + w >= width or y + h >= height
        if w >= 4 * unit and h >= 4 * unit and area >= 0.3 * w * h and not edge:
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
