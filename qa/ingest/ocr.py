"""Page images → text lines, each character with its box and confidence (offline OCR).

RapidOCR (``rapidocr-onnxruntime``, Apache-2.0) runs PaddleOCR's PP-OCRv4 Chinese detection and
recognition models, shipped inside its wheel, on ONNX Runtime: nothing is downloaded. This
module only runs it and reports what it read, in image pixels; ``scan`` turns that into the
glyphs the PDF layout code reads.

* The image is read at the size it is given (RapidOCR's default shrinks anything over 2,000 px,
  which leaves a newspaper's body type too small to read): ``scan`` sizes pages beforehand.
* Characters come with their own boxes (RapidOCR's word boxes, from where the recogniser's
  CTC columns fell; a Latin word or number's box is shared out over its characters) and their
  own confidences (the recogniser's probability of that character).
* RapidOCR's own steps are run here rather than its one call, so that lines are found strip by
  strip (``STRIP``: bounded memory) and read from the whole page; its direction classifier is
  not run (a page is upright once ``scan`` has straightened it).
* One engine per process, created on first use and shared; calls are serialised (one page at a
  time per process: OCR is CPU-bound, and ``Settings.ocr_threads`` sets how many cores one page
  may use, so that a page being read leaves the questions a core).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from qa.errors import needs_extra

# Sides longer than this are shrunk by RapidOCR itself; ``scan`` never hands it larger pages.
MAX_SIDE = 12_000
# The recogniser's mean confidence under which a line is dropped as noise (RapidOCR's default).
TEXT_SCORE = 0.5
# Lines are found in strips of the page, STRIP pixels tall, each sharing OVERLAP with the next
# (a line up to OVERLAP tall, 115 pt at 200 dpi, lies whole in the strip that keeps it): the
# detector's memory grows with the image, and a whole page at once peaked at 2.4 GB (an A3 page
# at 200 dpi; benchmarks/ocr.py, BENCHMARKS.md §11). Reading the lines at a lower scale instead
# (0.6) lost lines: character accuracy 0.92–0.94 on two seed scans, 14 of 19 titles.
STRIP, OVERLAP = 1600, 320


@dataclass(frozen=True)
class Char:
    text: str
    quad: tuple[tuple[float, float], ...]   # four corners, image pixels, clockwise from top left
    conf: float


@dataclass(frozen=True)
class TextLine:
    text: str
    quad: tuple[tuple[float, float], ...]
    conf: float
    chars: tuple[Char, ...]

    @property
    def angle(self) -> float:
        """The line's slope in degrees (y grows downwards: positive turns clockwise)."""
        (x0, y0), (x1, y1) = self.quad[0], self.quad[1]
        return math.degrees(math.atan2(y1 - y0, x1 - x0))

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1) = self.quad[0], self.quad[1]
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def height(self) -> float:
        (x0, y0), (x3, y3) = self.quad[0], self.quad[3]
        return math.hypot(x3 - x0, y3 - y0)


_ENGINES: dict[int, object] = {}
_LOCK = threading.Lock()


def _engine(threads: int):
    engine = _ENGINES.get(threads)
    if engine is None:
        with needs_extra("ocr", "识别扫描件和图片"):
            from rapidocr_onnxruntime import RapidOCR
        engine = RapidOCR(max_side_len=MAX_SIDE, min_side_len=32, print_verbose=False,
                          intra_op_num_threads=threads, inter_op_num_threads=1)
        _ENGINES[threads] = engine
    return engine


def recognise(image, threads: int = 1) -> list[TextLine]:
    """The text lines of ``image`` (a greyscale or RGB ``numpy`` array), top to bottom, each
    with its characters; an image without text gives none."""
    import numpy as np

    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    with _LOCK:
        engine = _engine(threads)
        boxes = _detect(engine, image)
        if not boxes:
            return []
        boxes = engine.sorted_boxes(np.array(boxes))
        crops = engine.get_crop_img_list(image, boxes)
        read, _ = engine.text_rec(crops, True)
        words = engine.cal_rec_boxes(crops, boxes, read)
    return [line for box, r in zip(boxes, words) if float(r[1]) >= TEXT_SCORE
            and (line := _line([box.tolist(), *r])) is not None]


def _detect(engine, image) -> list:
    """The text boxes of the page, found strip by strip (``STRIP``); a box belongs to the strip
    its middle falls in, away from the edge it shares with the next one."""
    import numpy as np

    height = image.shape[0]
    found, top = [], 0
    while True:
        bottom = min(height, top + STRIP + OVERLAP)
        boxes, _ = engine.text_det(image[top:bottom])
        lo = top + OVERLAP / 2 if top else 0
        hi = bottom - OVERLAP / 2 if bottom < height else height
        for box in boxes if boxes is not None else ():
            box = np.asarray(box, dtype=np.float32) + np.array([0, top], dtype=np.float32)
            if lo <= box[:, 1].mean() < hi:
                found.append(box)
        if bottom >= height:
            return found
        top += STRIP


def _line(r) -> TextLine | None:
    quad, text, conf = _quad(r[0]), r[1], float(r[2])
    boxes, words, confs = (r[3], r[4], r[5]) if len(r) >= 6 else ([], [], [])
    chars: list[Char] = []
    for box, word, c in zip(boxes, words, confs):
        chars += _split(_quad(box), word, float(c))
    if not chars and text.strip():      # no word boxes: share the line's box out
        chars = _split(quad, text.replace(" ", ""), conf)
    if not chars:
        return None
    return TextLine(text, quad, conf, tuple(chars))


def _quad(points) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in points)


def _split(quad, word: str, conf: float) -> list[Char]:
    """A word's box shared out over its characters, by their widths (a CJK character or
    full-width form twice a Latin letter or digit's)."""
    word = word.replace(" ", "")
    if len(word) <= 1:
        return [Char(word, quad, conf)] if word else []
    weights = [2.0 if _wide(ch) else 1.0 for ch in word]
    total = sum(weights)
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = quad
    out, done = [], 0.0
    for ch, w in zip(word, weights):
        s, e = done / total, (done + w) / total
        done += w
        top = lambda t: (ax + (bx - ax) * t, ay + (by - ay) * t)      # noqa: E731
        bottom = lambda t: (dx + (cx - dx) * t, dy + (cy - dy) * t)   # noqa: E731
        out.append(Char(ch, (top(s), top(e), bottom(e), bottom(s)), conf))
    return out


def _wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in ("W", "F")
