"""Scanned and photographed newspaper pages, with the text printed on them (issue 25).

A test page is laid out by pdfgen.py in real embedded faces (``make_pdf(..., embed_fonts=True)``),
rendered to an image by PDFium (``render``), and then

* ``degrade``d as a flatbed scanner leaves it: turned by a degree or so (white fill), paper a
  little grey and ink a little light, soft focus, sensor noise, a JPEG round trip at quality
  60–85;
* or ``photograph``ed: the page lying on a table, shot at an angle (a perspective warp of a few
  per cent), lit unevenly, out of focus a little, a JPEG from the camera.

The ground truth is what was printed: ``truth_lines`` reads each page's lines with qa's own PDF
reader (``qa.ingest.pdf._glyphs`` → ``qa.ingest.pdfpage.Page``), as printed and unrepaired — so a
damaged article's marks are the wrong characters the page shows (relayout.misencode), as on a
real damaged page. ``char_accuracy`` scores OCR lines against them, whatever their order.

The writers give the files a scan arrives as: PNG, JPEG, multi-page TIFF, and an image-only PDF
(one page image per page, no text layer).

Everything is drawn from the ``random.Random`` passed in (numpy's generator is seeded from it):
the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from . import pdfgen
from .relayout import SeedArticle

SEED = 20250325
WHITE = 255


# -- rendering ---------------------------------------------------------------------------------

def render(pdf_bytes: bytes, dpi: float = 200, grey: bool = True) -> list[Image.Image]:
    """Each page as an image at ``dpi``: greyscale ("L") or RGB."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        out = []
        for page in doc:
            bitmap = page.render(scale=dpi / 72, grayscale=grey)
            img = bitmap.to_pil()
            out.append(img.convert("L" if grey else "RGB"))
            page.close()
        return out
    finally:
        doc.close()


# -- a flatbed scan ----------------------------------------------------------------------------

def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def _jpeg_round_trip(img: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(to_jpeg(img, quality))).convert(img.mode)


def degrade(img: Image.Image, rng: random.Random, rotation: tuple[float, float] = (0.3, 1.5),
            noise: tuple[float, float] = (4.0, 10.0), blur: tuple[float, float] = (0.3, 0.8),
            quality: tuple[int, int] = (60, 85)) -> Image.Image:
    """A flatbed scan of ``img``: turned by ``rotation`` degrees (either way) with white fill,
    paper and ink levels off white and black, a gaussian blur of ``blur`` pixels, gaussian
    noise of ``noise`` grey levels (sigma), a JPEG round trip at ``quality``."""
    nrng = _np_rng(rng)
    angle = rng.uniform(*rotation) * rng.choice((-1, 1))
    fill = WHITE if img.mode == "L" else (WHITE,) * 3
    out = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
    a = np.asarray(out, dtype=np.float32)
    paper, ink = rng.uniform(232, 250), rng.uniform(15, 50)
    a = ink + a * (paper - ink) / 255.0
    a += rng.uniform(*noise) * nrng.standard_normal(a.shape, dtype=np.float32)
    out = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), img.mode)
    return _jpeg_round_trip(out, rng.randint(*quality))


# -- a photograph ------------------------------------------------------------------------------

def _perspective_coeffs(dst: list[tuple[float, float]],
                        src: list[tuple[float, float]]) -> list[float]:
    """PIL's PERSPECTIVE coefficients mapping each output point in ``dst`` to its ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(rhs, float)).tolist()


def photograph(img: Image.Image, rng: random.Random, tilt: tuple[float, float] = (0.02, 0.06),
               border: tuple[float, float] = (0.04, 0.08)) -> Image.Image:
    """``img`` photographed on a table (RGB): a border of table around it, each corner of the
    page moved by ``tilt`` of its size (a perspective warp), lighting falling off across the
    page and towards its corners, a warm cast, a slight blur, sensor noise, a camera JPEG."""
    nrng = _np_rng(rng)
    w, h = img.size
    mx, my = int(w * rng.uniform(*border)), int(h * rng.uniform(*border))
    table = tuple(rng.randint(60, 120) for _ in range(3))
    canvas = Image.new("RGB", (w + 2 * mx, h + 2 * my), table)
    canvas.paste(img.convert("RGB"), (mx, my))
    W, H = canvas.size
    corners = [(mx, my), (mx + w, my), (mx + w, my + h), (mx, my + h)]
    moved = [(x + rng.choice((-1, 1)) * rng.uniform(*tilt) * w,
              y + rng.choice((-1, 1)) * rng.uniform(*tilt) * h) for x, y in corners]
    # a corner moved outwards past the frame is pulled back inside it
    moved = [(min(max(x, 0.0), W - 1.0), min(max(y, 0.0), H - 1.0)) for x, y in moved]
    out = canvas.transform((W, H), Image.Transform.PERSPECTIVE,
                           _perspective_coeffs(moved, corners),
                           resample=Image.Resampling.BICUBIC, fillcolor=table)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))

    a = np.asarray(out, dtype=np.float32)
    x = (np.arange(W, dtype=np.float32) / W - 0.5)[None, :]
    y = (np.arange(H, dtype=np.float32) / H - 0.5)[:, None]
    theta = rng.uniform(0, 2 * np.pi)        # the light's direction across the page
    light = 1.0 - rng.uniform(0.15, 0.3) * (np.cos(theta) * x + np.sin(theta) * y + 0.5)
    light -= rng.uniform(0.05, 0.15) * 2 * (x * x + y * y)
    cast = np.array([1.0, rng.uniform(0.94, 0.98), rng.uniform(0.82, 0.9)], np.float32)
    a *= light[..., None]
    a *= cast
    a += rng.uniform(3.0, 6.0) * nrng.standard_normal(a.shape, dtype=np.float32)
    out = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), "RGB")
    return _jpeg_round_trip(out, rng.randint(80, 92))


# -- files -------------------------------------------------------------------------------------

def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def to_jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def to_tiff(imgs: list[Image.Image], dpi: float = 200) -> bytes:
    """A multi-page TIFF, one frame per image, LZW-compressed."""
    buf = io.BytesIO()
    imgs[0].save(buf, format="TIFF", save_all=True, append_images=imgs[1:],
                 compression="tiff_lzw", dpi=(dpi, dpi))
    return buf.getvalue()


def to_scanned_pdf(imgs: list[Image.Image], dpi: float = 200, quality: int | None = 90) -> bytes:
    """An image-only PDF, as a scanner writes one: a page per image, its physical size the
    image's at ``dpi``, the image stored as a JPEG at ``quality`` (None: lossless)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, pageCompression=1)
    for img in imgs:
        w, h = img.width * 72 / dpi, img.height * 72 / dpi
        c.setPageSize((w, h))
        # JPEG data goes into the PDF as it is (DCTDecode), not decoded and re-encoded
        src = ImageReader(io.BytesIO(to_jpeg(img, quality))) if quality else ImageReader(img)
        c.drawImage(src, 0, 0, w, h)
        c.showPage()
    c.save()
    return buf.getvalue()


# -- ground truth ------------------------------------------------------------------------------

def _page_lines(pdf_bytes: bytes) -> list[list]:
    """Each page's printed lines (``qa.ingest.pdfpage.Line``: text and box in points, top
    down) in reading order: the page's blocks as qa orders them, the running head first."""
    import pypdfium2 as pdfium

    from qa.ingest.pdf import Limits, _glyphs, _images
    from qa.ingest.pdfpage import Page

    doc = pdfium.PdfDocument(pdf_bytes)
    out = []
    try:
        for n, page in enumerate(doc, 1):
            try:
                glyphs, _ = _glyphs(page, n, Limits(), [Limits().glyphs])
                images = _images(page)
            finally:
                page.close()
            laid = Page(glyphs, images)
            ordered = [l for b in laid.blocks() for l in b.lines]
            seen = {id(l) for l in ordered}
            rest = sorted((l for l in laid.lines if id(l) not in seen), key=lambda l: l.top)
            top = min((l.top for l in ordered), default=0.0)
            out.append([l for l in rest if l.top < top] + ordered +
                       [l for l in rest if l.top >= top])
    finally:
        doc.close()
    return out


def truth_lines(pdf_bytes: bytes) -> list[list[str]]:
    """Per page, the text lines printed on it, in reading order, as printed (no repair)."""
    return [[l.text for l in lines] for lines in _page_lines(pdf_bytes)]


def _edit_distance(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _bigrams(s: str) -> set[str]:
    return {s[i:i + 2] for i in range(len(s) - 1)} or {s}


def char_accuracy(truth: list[str], ocr: list[str], candidates: int = 8) -> float:
    """1 − (edit distance) / (characters in ``truth``), whitespace ignored, in any line order.

    Each truth line is matched with at most one OCR line and each OCR line with at most one
    truth line: greedily, the most similar pair first (similarity 1 − distance / the longer
    line's length). For speed a truth line is compared only with the ``candidates`` OCR lines
    sharing most character pairs with it. A truth line left unmatched counts as wholly wrong,
    a matched one at most as wholly wrong; OCR lines left over cost nothing (a line OCR split
    in two costs the part it did not match)."""
    def strip(lines):
        return [s for s in ("".join(l.split()) for l in lines) if s]

    truth, ocr = strip(truth), strip(ocr)
    total = sum(map(len, truth))
    if not total:
        return 1.0
    index: dict[str, list[int]] = {}
    for j, o in enumerate(ocr):
        for g in _bigrams(o):
            index.setdefault(g, []).append(j)
    pairs = []
    for i, t in enumerate(truth):
        shared: dict[int, int] = {}
        for g in _bigrams(t):
            for j in index.get(g, ()):
                shared[j] = shared.get(j, 0) + 1
        best = sorted(shared, key=lambda j: (-shared[j], j))[:candidates]
        for j in best:
            d = _edit_distance(t, ocr[j])
            pairs.append((1 - d / max(len(t), len(ocr[j])), i, j, d))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    errors = [len(t) for t in truth]
    matched, used = set(), set()
    for _, i, j, d in pairs:
        if i in matched or j in used:
            continue
        errors[i] = min(d, len(truth[i]))
        matched.add(i)
        used.add(j)
    return 1 - sum(errors) / total


# -- the seed pages as scans -------------------------------------------------------------------

@dataclass
class Scan:
    """One test page: the PDF it was printed as, its image, the lines printed on it, and the
    articles an OCR ingest must find on it (as they read, repaired)."""
    name: str
    pdf: bytes                     # one page, in embedded fonts
    image: Image.Image
    truth: list[str]
    articles: list[SeedArticle]
    dpi: float


def seed_scans(dpi: float = 200, seed: int = SEED) -> dict[str, Scan]:
    """The five seed pages, each laid out from ``seed``, printed, rendered at ``dpi`` and
    degraded as a flatbed scan, by their names; and under "photo", the first of them
    photographed at an angle instead."""
    out: dict[str, Scan] = {}
    photo = None
    for i, (name, arts) in enumerate(pdfgen.seed_pages().items()):
        pdf = pdfgen.make_pdf([arts], seed=seed * 10 + i, embed_fonts=True).data
        [page] = render(pdf, dpi)
        [truth] = truth_lines(pdf)
        rng = random.Random(f"{seed}:{name}:scan")
        out[name] = Scan(name, pdf, degrade(page, rng), truth, arts, dpi)
        if i == 0:
            rng = random.Random(f"{seed}:{name}:photo")
            photo = Scan(f"{name}-photo", pdf, photograph(page, rng), truth, arts, dpi)
    out["photo"] = photo
    return out


def main() -> None:
    """``python -m tests.ingest.scangen DIR [--dpi 200] [--seed N]``: the seed scans as files to
    look at: NAME.png (and photo.jpg), NAME.pdf (the page as printed), truth.json."""
    import argparse
    import json
    from pathlib import Path

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    truth = {}
    for key, scan in seed_scans(args.dpi, args.seed).items():
        if key == "photo":
            (args.dir / "photo.jpg").write_bytes(to_jpeg(scan.image, 92))
        else:
            (args.dir / f"{key}.png").write_bytes(to_png(scan.image))
            (args.dir / f"{key}.pdf").write_bytes(scan.pdf)
        truth[key] = {"image": "photo.jpg" if key == "photo" else f"{key}.png",
                      "dpi": scan.dpi, "lines": scan.truth,
                      "articles": [{"title": a.title, "source": a.source,
                                    "paragraphs": a.paragraphs, "captions": a.captions}
                                   for a in scan.articles]}
    (args.dir / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
