"""The scanned-page test data (scangen.py): pages printed in real embedded fonts render with ink
where their text is; scans and photographs are the same for the same seed; the files are what
a scanner writes; the ground truth is every character printed; char_accuracy scores as said."""

from __future__ import annotations

import io
import random
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from . import pdfgen, scangen
from .relayout import misencode, outlet_line

DPI = 100                       # enough to see ink; the samples are made at 200


@pytest.fixture(scope="module")
def page():
    """One seed page (three articles) printed in embedded fonts, and its image."""
    arts = list(pdfgen.seed_pages().values())[3]
    issue = pdfgen.make_pdf([arts], seed=11, p_damage=0.5, embed_fonts=True)
    [img] = scangen.render(issue.data, DPI)
    return issue, img


def _ink(img: Image.Image, box=None) -> float:
    """Mean darkness, 0 (white) to 1 (black)."""
    grey = img.convert("L").crop(box) if box else img.convert("L")
    return 1 - float(np.asarray(grey).mean()) / 255


def test_embedded_fonts_draw_real_glyphs():
    """A box-glyph font inks every character alike; the embedded faces ink 量 far more than 一."""
    from reportlab.pdfgen import canvas

    pdfgen._register_embedded()
    for face in pdfgen.EMBEDDED.values():
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=(100, 50), invariant=1)
        c.setFont(face, 20)
        c.drawString(10, 20, "一")
        c.drawString(60, 20, "量")
        c.save()
        assert b"/FontFile2" in buf.getvalue()
        [img] = scangen.render(buf.getvalue(), 144)
        one, many = _ink(img, (20, 40, 60, 80)), _ink(img, (120, 40, 160, 80))
        assert one > 0.02 and many > 3 * one, (face, one, many)


def test_rendered_page_has_ink_where_its_text_is(page):
    issue, img = page
    [lines] = scangen._page_lines(issue.data)
    px = DPI / 72
    inked = [_ink(img, (l.x0 * px, l.top * px, l.x1 * px, l.bottom * px)) for l in lines]
    assert min(inked) > 0.05 and sum(inked) / len(inked) > 0.12, sorted(inked)[:5]
    assert _ink(img, (0, 0, 30 * px, img.height)) < 0.005       # the left margin is blank


def test_the_same_seed_gives_the_same_bytes(page):
    _, img = page
    scans = [scangen.degrade(img, random.Random(5)) for _ in range(2)]
    assert scangen.to_png(scans[0]) == scangen.to_png(scans[1])
    assert scangen.to_scanned_pdf(scans[:1], DPI) == scangen.to_scanned_pdf(scans[1:], DPI)
    photos = [scangen.photograph(img, random.Random(5)) for _ in range(2)]
    assert scangen.to_png(photos[0]) == scangen.to_png(photos[1])
    other = scangen.degrade(img, random.Random(6))
    assert scangen.to_png(other) != scangen.to_png(scans[0])


def test_a_scan_is_turned_and_dirtied_a_photograph_warped_on_a_table(page):
    _, img = page
    scan = scangen.degrade(img, random.Random(5))
    assert scan.mode == "L" and scan.width > img.width and scan.height > img.height
    assert 0.5 < _ink(scan) / _ink(img) < 2.5              # still a page of text, not a smudge
    photo = scangen.photograph(img, random.Random(5))
    assert photo.mode == "RGB" and photo.width > img.width and photo.height > img.height
    corner = np.asarray(photo.convert("L").crop((0, 0, 10, 10)))
    assert corner.max() < 160                             # the table, not the paper


def test_tiff_has_a_frame_per_page(page):
    _, img = page
    data = scangen.to_tiff([img, img.rotate(1), img.rotate(-1)], dpi=DPI)
    tiff = Image.open(io.BytesIO(data))
    assert tiff.n_frames == 3
    assert tuple(round(float(v)) for v in tiff.info["dpi"]) == (DPI, DPI)


def test_scanned_pdf_has_its_pages_and_no_text_layer(page):
    import pypdfium2 as pdfium

    _, img = page
    imgs = [scangen.degrade(img, random.Random(k)) for k in range(2)]
    doc = pdfium.PdfDocument(scangen.to_scanned_pdf(imgs, DPI))
    assert len(doc) == 2
    for p, im in zip(doc, imgs):
        assert p.get_textpage().count_chars() == 0
        assert p.get_size() == pytest.approx((im.width * 72 / DPI, im.height * 72 / DPI))


def test_truth_is_every_character_printed_as_printed(page):
    """Titles, bodies, outlet lines, captions and the running head, a damaged article's marks
    as the wrong characters it printed; the running head first."""
    issue, _ = page
    [truth] = scangen.truth_lines(issue.data)
    printed = [pdfgen.page_furniture(1)]
    for p in issue.placements:
        a = p.article
        enc = misencode if p.damaged else (lambda s: s)
        printed += [enc(t) for t in [a.title or "", *a.paragraphs, *a.captions]]
        printed += [enc(outlet_line(a.source))] if a.source else []
    assert any(p.damaged for p in issue.placements)

    def chars(lines):
        return Counter(re.sub(r"\s", "", "".join(lines)))

    assert chars(truth) == chars(printed)
    assert truth[0].split() == pdfgen.page_furniture(1).split()


@pytest.mark.parametrize("ocr,expected", [
    (["今天天气很好", "我们去公园"], 1.0),
    (["我们去公园", "今天 天气 很好"], 1.0),                # any order, whitespace ignored
    (["今天天气很坏", "我们去公园"], 1 - 1 / 11),           # one wrong character
    (["今天天气很好"], 1 - 5 / 11),                         # a line missed
    (["今天天气很好", "我们去公园", "图片"], 1.0),           # extra lines cost nothing
    (["今天天气好", "我们去公园啊"], 1 - 2 / 11),           # one dropped, one added
    ([], 0.0),
])
def test_char_accuracy(ocr, expected):
    assert scangen.char_accuracy(["今天天气很好", "我们去公园"], ocr) == pytest.approx(expected)


def test_char_accuracy_matches_each_line_once():
    # two truth lines cannot both take the one OCR line that resembles them
    assert scangen.char_accuracy(["社会工作", "社会工作"], ["社会工作"]) == pytest.approx(0.5)


def test_seed_scans():
    scans = scangen.seed_scans(dpi=DPI)
    assert list(scans) == [*pdfgen.seed_pages(), "photo"]
    assert sum(len(s.articles) for k, s in scans.items() if k != "photo") == 19
    for s in scans.values():
        assert s.image.width > 4 * 72 * DPI / 72 and len(s.truth) > 50
        assert _ink(s.image) > 0.03
