"""Make the fonts the scan test pages are printed in: ``tests/ingest/fonts/scan-*.ttf``.

    python -m tests.ingest.make_scan_fonts NotoSerifCJKsc-Regular.otf NotoSansCJKsc-Regular.otf

The sources are Noto Serif CJK SC (a Song face, for body text) and Noto Sans CJK SC (a Hei face,
the usual title face), both SIL OFL 1.1 (see fonts/README.md for where the files came from). Each
is cut down to the characters the test pages print — every seed article's title, body, captions
and outlet line, the characters a wrong-encoding font prints for their marks (relayout.misencode),
pdfgen's running head — plus ASCII, CJK punctuation and GB2312's level-1 characters (3,755 common
hanzi), and its CFF outlines are turned into TrueType quadratics (fontTools.cu2qu), the only
outlines reportlab embeds.

The subsets are modified versions of the fonts, so they carry names of their own ("Scan Serif",
"Scan Hei"; "Noto" is Google's trademark). The Hei face is named as such: PDF readers, qa's
among them (qa.ingest.pdf._BOLD_NAME), take a face named Hei for title type.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "fonts"
FACES = {   # output stem: (family, PostScript name)
    "scan-serif": ("Scan Serif", "ScanSerif-Regular"),
    "scan-sans": ("Scan Hei", "ScanHei-Regular"),
}


def gb2312_level1() -> str:
    """GB2312's level-1 hanzi (rows 0xB0–0xD7): the 3,755 most used characters."""
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                out.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(out)


def seed_chars() -> set[str]:
    """Every character a test page prints: the articles as set and as printed damaged."""
    from .pdfgen import page_furniture
    from .relayout import MISENCODE, load_articles, misencode, outlet_line

    text = []
    for a in load_articles():
        parts = [a.title or "", *a.paragraphs, *a.captions]
        if a.source:
            parts.append(outlet_line(a.source))
        text += parts + [misencode(p) for p in parts]
    text += [page_furniture(n) for n in range(1, 100)]
    text += list(MISENCODE.values())
    return set("".join(text))


def charset(common: bool = True) -> set[str]:
    chars = seed_chars()
    chars |= {chr(c) for c in range(0x20, 0x7F)}                  # ASCII
    chars |= {chr(c) for c in range(0x3000, 0x3020)}               # CJK punctuation
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}               # full-width forms
    chars |= set("“”‘’—…·–")
    if common:
        chars |= set(gb2312_level1())
    return chars


def make(src: Path, dest: Path, family: str, psname: str, chars: set[str]) -> None:
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(src, recalcTimestamp=False)     # the same bytes on every run
    options = subset.Options()
    options.layout_features = []            # reportlab sets text glyph by glyph, no shaping
    options.drop_tables += ["BASE", "GSUB", "GPOS", "GDEF", "VORG", "vhea", "vmtx", "DSIG"]
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)

    # CFF → glyf: each glyph's cubic curves as quadratics within 1 unit (the otf2ttf recipe)
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    del font["CFF "]
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    font["post"].formatType = 3.0           # no glyph names (reportlab needs none)
    font.sfntVersion = "\x00\x01\x00\x00"

    name = font["name"]
    copyright_ = name.getDebugName(0)
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17):
            name.removeNames(nameID=rec.nameID)
    name.setName(family, 1, 3, 1, 0x409)
    name.setName(f"{psname};subset for tests", 3, 3, 1, 0x409)
    name.setName(f"{family} Regular", 4, 3, 1, 0x409)
    name.setName(psname, 6, 3, 1, 0x409)
    name.setName(f"{copyright_} Subset of the Noto CJK font, renamed.", 0, 3, 1, 0x409)
    font["OS/2"].fsType = 0                 # installable embedding
    font.save(dest)


def write_licence(sources: list[Path]) -> None:
    """fonts/OFL.txt: the source fonts' copyright lines over the licence text kept there."""
    from fontTools.ttLib import TTFont

    path = OUT / "OFL.txt"
    licence = path.read_text("utf-8")
    licence = licence[licence.index("SIL OPEN FONT LICENSE"):]
    head = []
    for src in sources:
        name = TTFont(src, lazy=True)["name"]
        head.append(f"{name.getDebugName(4)}: {name.getDebugName(0)}")
    head.append("Subsets renamed Scan Serif and Scan Hei (tests/ingest/make_scan_fonts.py).")
    head.append("This Font Software is licensed under the SIL Open Font License, Version 1.1.")
    path.write_text("\n".join(head) + "\n\n" + licence, "utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("serif", type=Path, help="NotoSerifCJKsc-Regular.otf")
    ap.add_argument("sans", type=Path, help="NotoSansCJKsc-Regular.otf")
    ap.add_argument("--seed-only", action="store_true",
                    help="only the pages' characters, ASCII and punctuation (smaller files)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    chars = charset(common=not args.seed_only)
    for src, (stem, (family, psname)) in zip([args.serif, args.sans], FACES.items()):
        dest = OUT / f"{stem}.ttf"
        make(src, dest, family, psname, chars)
        print(f"{dest}: {len(chars)} characters, {dest.stat().st_size:,} bytes")
    write_licence([args.serif, args.sans])


if __name__ == "__main__":
    main()
