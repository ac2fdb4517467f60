"""Scanned pages and page images, read by OCR into the same articles as the text pages.

The pages are the seed articles laid out in embedded fonts (pdfgen), rendered and degraded as a
flatbed scan or photographed (scangen): ground truth is what was printed. Full seed pages take
15–30 s each to read here, so most tests read a page of one or two articles."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from qa.errors import BadIssueFile
from qa.ingest import Skipped, ingest_bytes, is_scan
from qa.ingest.scan import ScanSettings

from . import pdfgen, scangen
from .relayout import begins, load_articles

SCAN = ScanSettings(threads=2)


def _small_page(keys=(0,), seed=3):
    """A page of the given seed articles, printed, rendered at 200 dpi and scanned."""
    articles = load_articles()
    pdf = pdfgen.make_pdf([[articles[k] for k in keys]], seed=seed, embed_fonts=True,
                          p_damage=0.0).data
    [image] = scangen.render(pdf, 200)
    return scangen.degrade(image, random.Random(seed)), [articles[k] for k in keys], pdf


@pytest.fixture(scope="module")
def small():
    return _small_page((0, 5))


def _png(image, dpi=200) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def key(a) -> tuple:
    return a.title, a.source, begins(a.text)


def test_a_scanned_page_image_gives_its_articles(small):
    image, articles, _ = small
    got = ingest_bytes(_png(image), "2024-03-28_A01.png", scan=SCAN)
    assert [key(a) for a in got] == [key(a) for a in articles]
    assert all(a.page == 1 and a.issue == "2024-03-28_A01" for a in got)
    for a in got:
        assert all(0 <= i < len(a.text) for i in a.uncertain)


def test_a_scanned_pdf_is_read_by_ocr_and_its_text_pages_as_text(small):
    image, articles, pdf = small
    scanned = scangen.to_scanned_pdf([image])
    assert is_scan(scanned, "x.pdf") and not is_scan(pdf, "x.pdf")
    assert is_scan(b"", "page.png") and not is_scan(b"text", "page.txt")
    skipped: list[Skipped] = []
    seen = []
    got = ingest_bytes(scanned, "scan.pdf", skipped=skipped, scan=SCAN,
                       progress=lambda done, total: seen.append((done, total)))
    assert [key(a) for a in got] == [key(a) for a in articles] and not skipped
    assert seen[0] == (0, 1) and seen[-1] == (1, 1)


def test_a_tiff_s_frames_are_pages_and_a_blank_one_is_skipped(small):
    image, articles, _ = small
    blank = Image.new("L", image.size, 255)
    skipped: list[Skipped] = []
    got = ingest_bytes(scangen.to_tiff([image, blank]), "issue.tif", skipped=skipped, scan=SCAN)
    assert [key(a) for a in got] == [key(a) for a in articles]
    assert [(s.page, "空白页" in s.reason) for s in skipped] == [(2, True)]


def test_seed_pages_scanned_read_as_their_articles_with_their_text():
    """One of the five seed pages, scanned (benchmarks/ocr.py measures all five and the photo:
    BENCHMARKS.md "Scanned pages")."""
    scans = scangen.seed_scans(200)
    found = total = 0
    for name in list(scans)[3:4]:
        s = scans[name]
        got = ingest_bytes(_png(s.image), f"{name}.png", scan=SCAN)
        titles = {(a.title, a.source) for a in got}
        found += sum((a.title, a.source) in titles for a in s.articles)
        total += len(s.articles)
    assert found >= total - 1, (found, total)


def _huge_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width × height pixels, with a few bytes of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _noise_photo() -> bytes:
    return scangen.to_jpeg(Image.effect_noise((1200, 900), 70).convert("RGB"))


def _corrupt_tiff(small) -> bytes:
    data = scangen.to_tiff([small[0]])
    return data[:len(data) // 3]


@pytest.mark.parametrize("name, make, words", [
    ("blank.png", lambda s: _png(Image.new("L", (1600, 2200), 255)), ["空白页"]),
    ("huge.png", lambda s: _huge_png(20_000, 20_000), ["图片过大", "400,000,000 像素"]),
    ("broken.tif", _corrupt_tiff, ["损坏"]),
    ("noise.jpg", lambda s: _noise_photo(), ["没有识别出文字"]),
    ("wide.png", lambda s: _huge_png(9_000, 5_000), ["图片过大", "9,000 × 5,000 像素"]),
    ("empty.png", lambda s: b"", ["文件为空"]),
    ("text.jpg", lambda s: "不是图片".encode(), ["不是有效的图片"]),
    ("anim.gif", lambda s: b"GIF89a" + bytes(100), [".gif"]),
])
def test_bad_images_are_refused_with_their_reason(small, name, make, words):
    with pytest.raises(BadIssueFile) as e:
        ingest_bytes(make(small), name, scan=SCAN)
    assert e.value.message.startswith(f"{name}: ") and e.value.status == 422
    for w in words:
        assert w in e.value.message, e.value.message


def test_a_page_read_with_too_little_confidence_is_refused(small):
    image, _, _ = small
    strict = ScanSettings(threads=2, min_confidence=0.999)
    with pytest.raises(BadIssueFile) as e:
        ingest_bytes(_png(image), "page.png", scan=strict)
    assert "可信度过低" in e.value.message


def test_a_photographed_page_is_read():
    """A page photographed at an angle (perspective, uneven light): read, not refused; its
    articles keep their outlets (the layout of a photo is harder: titles may split)."""
    _, articles, pdf = _small_page((0, 5))
    [page] = scangen.render(pdf, 200)
    photo = scangen.photograph(page, random.Random(5))
    got = ingest_bytes(scangen.to_jpeg(photo), "photo.jpg", scan=SCAN)
    assert {a.source for a in articles} <= {a.source for a in got}


def test_a_dash_between_digits_read_as_one_is_a_dash():
    from qa.ingest.ocr import Char
    from qa.ingest.scan import _read_as

    chars = [Char(c, ((0, 0),) * 4, 1.0) for c in "9一15岁，一个"]
    assert "".join(_read_as(chars, i) for i in range(len(chars))) == "9—15岁，一个"


def test_a_page_scanned_at_too_low_a_resolution_is_refused_with_why():
    """At 100 dpi a 10 pt body is 13 px of ink: the characters still read (0.97–0.99) but the
    layout does not (4 of 19 titles), so the page is refused rather than indexed wrong."""
    _, _, pdf = _small_page((0, 5))
    [page] = scangen.render(pdf, 100)
    with pytest.raises(BadIssueFile) as e:
        ingest_bytes(_png(page, 100), "coarse.png", scan=SCAN)
    assert "分辨率过低" in e.value.message and "200 dpi" in e.value.message
