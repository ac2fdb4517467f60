"""PDF pages read the same on every machine, whatever CJK fonts it has (``qa.ingest.pdffont``).

The test PDFs name STSong-Light without embedding it, as newspaper PDFs name their CJK faces.
The same PDFs are read in fresh processes whose PDFium sees (a) the machine's own fonts, (b) no
fonts at all, as on a server or in a container, and (c) a CJK font of odd shapes, as on a
desktop with fonts installed; the articles must come out byte for byte the same. A control
shows that (b) and (c) really differ for PDFium without qa's font source.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from qa.ingest import pdffont

from . import pdfgen
from .test_pdf import LAYOUTS, UNSEEN, write_seed_pdfs

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_metrics_font_is_the_one_build_makes():
    """Regenerate with: python -c 'import qa.ingest.pdffont as f; f.write_metrics_font()'"""
    assert pdffont.build_metrics_font() == pdffont.METRICS_FONT.read_bytes()


def decoy_cjk_font() -> bytes:
    """A CJK font unlike the metrics font: ideographs tall and thin, digits and Latin letters
    without outlines, the face taller than the em (what a system font may do)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    for x, y in ((0, -300), (0, 1100), (150, 1100), (150, -300)):
        (pen.lineTo if x or y != -300 else pen.moveTo)((x, y))
    pen.closePath()
    thin = pen.glyph()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "thin", "none"])
    fb.setupCharacterMap({cp: "thin" if cp >= 0x2E80 else "none" for cp in range(0x20, 0xA000)},
                         allowFallback=True)
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "thin": thin, "none": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (500, 0), "thin": (1000, 0), "none": (600, 0)})
    fb.setupHorizontalHeader(ascent=1100, descent=-300)
    fb.setupNameTable({"familyName": "Decoy Song", "styleName": "Regular"})
    fb.setupOS2(ulCodePageRange1=1 << 18, usWinAscent=1100, usWinDescent=300)
    fb.setupPost()
    import io

    out = io.BytesIO()
    fb.font.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def font_machines(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """The PDFs (the seed pages in every test layout and eight unseen pages), and the font
    folders each run's PDFium sees."""
    root = tmp_path_factory.mktemp("fonts")
    pdfs = root / "pdfs"
    for seed in LAYOUTS:
        write_seed_pdfs(pdfs / str(seed), seed)
    for folder in list((pdfs).iterdir()):
        for f in folder.iterdir():
            f.rename(pdfs / f"{folder.name}-{f.name}")
        folder.rmdir()
    pages = pdfgen.random_pages(8, random.Random(UNSEEN))
    (pdfs / "unseen.pdf").write_bytes(pdfgen.make_pdf(pages, seed=UNSEEN).data)
    (root / "none").mkdir()
    (root / "decoy").mkdir()
    (root / "decoy" / "DecoySong.ttf").write_bytes(decoy_cjk_font())
    return pdfs, {"machine": [], "none": ["--fonts", str(root / "none")],
                  "decoy": ["--fonts", str(root / "decoy")]}


def probe(pdfs: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "tests.ingest.fontprobe", str(pdfs), *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_articles_are_the_same_with_and_without_cjk_fonts(font_machines):
    pdfs, machines = font_machines
    out = {name: probe(pdfs, *args) for name, args in machines.items()}
    assert out["none"].count("\n") >= 19 * len(LAYOUTS) and "skipped" not in out["none"]
    assert out["decoy"] == out["none"]
    assert out["machine"] == out["none"]


def test_without_qa_s_fonts_pdfium_reads_differently(font_machines):
    """The control: the decoy font does change what PDFium itself reads."""
    pdfs, machines = font_machines
    assert probe(pdfs, "--raw", *machines["decoy"]) != probe(pdfs, "--raw", *machines["none"])
