"""PDFium's font lookups answered by the project, so that no machine's fonts change a page.

A newspaper PDF names its CJK fonts (宋体, 方正书宋, STSong-Light…) without embedding them. PDFium
then asks the system for a substitute and takes the glyph outlines from whatever it finds, and
its text page is built from those outlines: a text object whose glyphs have no outline in the
substitute has zero width and is dropped (on a machine without a CJK font, whole articles drawn
glyph by glyph vanished), glyph boxes grow or shrink with the substitute's shapes, and which
characters PDFium reports, where it puts line ends and spaces, and so which articles come out,
all depended on the machine's fonts.

So PDFium is given a font source of ours (``FPDF_SetSystemFontInfo``) that never looks at the
machine:

* a request for a CJK font (GB2312, Big5, Shift-JIS, Hangul charsets) gets ``METRICS_FONT``:
  one box glyph per character, as wide and tall as a CJK font's face (an ideograph or fullwidth
  form one em, anything else half of one, a space or control character nothing), so text
  objects keep their extent and the reading order PDFium derives from it;
* everything else gets PDFium's own built-in faces (the base-14 substitutes compiled into it),
  which are the same on every machine.

Advance widths, type sizes, positions and weights still come from the PDF (its ``/W`` and
``/Widths`` arrays, text matrices and font descriptors); the box glyphs only stand in for the
outlines, inside the descriptor's font box, so a character's loose box is the PDF's own.
``build_metrics_font`` makes the font file (fontTools, a test/development dependency only); a
test checks that the shipped file is what it makes.
"""

from __future__ import annotations

import ctypes
import threading
import unicodedata
from pathlib import Path

METRICS_FONT = Path(__file__).with_name("cjk-metrics.ttf")
FACE_NAME = b"QA CJK Metrics"
# PDFium's charset numbers (fpdf_sysfontinfo.h) for which the metrics font answers.
CJK_CHARSETS = frozenset({128, 129, 134, 136})   # Shift-JIS, Hangul, GB2312, Big5
# Font units per em, and the face's vertical extent (a CJK face's usual ascent and descent).
EM, ASCENT, DESCENT = 1000, 880, -120

_installed: "_FontInfo | None" = None
_lock = threading.Lock()


def install() -> None:
    """Make PDFium take its fonts from here; once per process, before a document is opened."""
    global _installed
    with _lock:
        if _installed is None:
            import pypdfium2  # noqa: F401  (initialises PDFium)
            import pypdfium2.raw as pdfium_c

            info = _FontInfo(METRICS_FONT.read_bytes())
            pdfium_c.FPDF_SetSystemFontInfo(ctypes.byref(info.struct))
            _installed = info


class _FontInfo:
    """An ``FPDF_SYSFONTINFO`` whose callbacks serve one in-memory font. The struct and its
    callbacks live as long as the process: PDFium keeps the pointer until it is shut down."""

    HANDLE = 1

    def __init__(self, data: bytes):
        import pypdfium2.raw as pdfium_c

        self.data = data
        self.buffer = (ctypes.c_ubyte * len(data)).from_buffer_copy(data)
        kinds = dict(pdfium_c.FPDF_SYSFONTINFO._fields_)
        self.callbacks = {
            "Release": kinds["Release"](lambda this: None),
            "EnumFonts": kinds["EnumFonts"](lambda this, mapper: None),
            "MapFont": kinds["MapFont"](self._map_font),
            "GetFont": kinds["GetFont"](lambda this, face: None),
            "GetFontData": kinds["GetFontData"](self._font_data),
            "GetFaceName": kinds["GetFaceName"](self._face_name),
            "GetFontCharset": kinds["GetFontCharset"](lambda this, font: 134),
            "DeleteFont": kinds["DeleteFont"](lambda this, font: None),
        }
        self.struct = pdfium_c.FPDF_SYSFONTINFO(version=1, **self.callbacks)

    def _map_font(self, this, weight, italic, charset, pitch_family, face, exact):
        return self.HANDLE if charset in CJK_CHARSETS else None

    def _font_data(self, this, font, table, buffer, size):
        if table != 0:                 # a table of its own (a TrueType collection's): none
            return 0
        if buffer and size >= len(self.data):
            ctypes.memmove(buffer, self.buffer, len(self.data))
        return len(self.data)

    def _face_name(self, this, font, buffer, size):
        name = FACE_NAME + b"\0"
        if buffer and size >= len(name):
            ctypes.memmove(buffer, name, len(name))
        return len(name)


# -- the font file -------------------------------------------------------------------------------

def _glyph_for(char: str) -> str:
    if unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf"):
        return "blank"                 # a space has no outline in any real font either
    return "wide" if unicodedata.east_asian_width(char) in ("W", "F") else "narrow"


def build_metrics_font() -> bytes:
    """The metrics font: every code point of the Basic Multilingual Plane (surrogates aside)
    and of the CJK extension planes mapped to one of three glyphs by a many-to-one cmap
    (format 13), each a box inset from its advance like a real glyph's side bearings."""
    import io

    from fontTools.fontBuilder import FontBuilder
    from fontTools.misc.timeTools import timestampFromString
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    def box(x0: int, x1: int):
        pen = TTGlyphPen(None)
        pen.moveTo((x0, DESCENT + 20))
        pen.lineTo((x0, ASCENT - 80))
        pen.lineTo((x1, ASCENT - 80))
        pen.lineTo((x1, DESCENT + 20))
        pen.closePath()
        return pen.glyph()

    glyphs = {".notdef": box(30, 470), "wide": box(30, EM - 30), "narrow": box(30, EM // 2 - 70),
              "blank": TTGlyphPen(None).glyph()}
    advances = {".notdef": EM // 2, "wide": EM, "narrow": EM // 2, "blank": EM // 2}
    fb = FontBuilder(EM, isTTF=True)
    fb.setupGlyphOrder(list(glyphs))
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({name: (advance, 30) for name, advance in advances.items()})
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    cmap = CmapSubtable.newSubtable(13)
    cmap.platformID, cmap.platEncID, cmap.language = 3, 10, 0
    cmap.cmap = {cp: _glyph_for(chr(cp))
                 for lo, hi in ((0x20, 0xD7FF), (0xE000, 0xFFFD), (0x20000, 0x3134F))
                 for cp in range(lo, hi + 1)}
    fb.font["cmap"] = newTable("cmap")
    fb.font["cmap"].tableVersion = 0
    fb.font["cmap"].tables = [cmap]
    fb.setupNameTable({"familyName": FACE_NAME.decode(), "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT,
                usWinDescent=-DESCENT, ulCodePageRange1=(1 << 17) | (1 << 18) | (1 << 19) |
                (1 << 20))   # Japanese, simplified and traditional Chinese, Korean
    fb.setupPost()
    head = fb.font["head"]
    head.xMin, head.yMin, head.xMax, head.yMax = 0, DESCENT, EM, ASCENT   # the face, not the ink
    head.created = head.modified = timestampFromString("Thu Jan  1 00:00:00 2026")
    fb.font.recalcBBoxes = fb.font.recalcTimestamp = False
    out = io.BytesIO()
    fb.font.save(out)
    return out.getvalue()


def write_metrics_font() -> None:
    """Regenerate the shipped file (needs fontTools, from the test extra)."""
    METRICS_FONT.write_bytes(build_metrics_font())
