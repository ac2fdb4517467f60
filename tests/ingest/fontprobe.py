"""Read PDFs as a machine with other fonts would: ``python -m tests.ingest.fontprobe``.

PDFium is restarted with the font folders given (``--fonts DIR``; an empty folder is a machine
without fonts) in place of the system's, or left with the system's (no ``--fonts``); then either
the PDFs are ingested by qa (articles as JSON Lines on stdout) or, with ``--raw``, PDFium's own
page text is printed without qa's font source installed, to show what the fonts change.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
from pathlib import Path


def restart_pdfium(font_dirs: list[str]) -> None:
    """PDFium as if the machine's fonts were the files in ``font_dirs``."""
    import pypdfium2  # noqa: F401
    import pypdfium2.raw as c
    from pypdfium2 import _library_scope
    from pypdfium2.internal import bases

    _library_scope.destroy_lib()
    keep = [ctypes.create_string_buffer(d.encode()) for d in font_dirs]
    char_p = ctypes.POINTER(ctypes.c_char)
    paths = (char_p * (len(keep) + 1))(*[ctypes.cast(b, char_p) for b in keep], None)
    config = c.FPDF_LIBRARY_CONFIG(version=2, m_pUserFontPaths=paths, m_pIsolate=None,
                                   m_v8EmbedderSlot=0)
    c.FPDF_InitLibraryWithConfig(config)
    bases.LIBRARY_AVAILABLE = True
    restart_pdfium.keep = (keep, paths)      # PDFium reads the paths when it first needs a font


def raw_text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf.read_bytes())
    try:
        pages = []
        for page in doc:
            text = page.get_textpage()
            pages.append(text.get_text_range())
            text.close()
            page.close()
        return "\f".join(pages)
    finally:
        doc.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--fonts", action="append", help="font folder PDFium sees (repeatable)")
    ap.add_argument("--raw", action="store_true", help="PDFium's text, without qa's fonts")
    args = ap.parse_args()
    if args.fonts is not None:
        restart_pdfium(args.fonts)
    pdfs = sorted(args.folder.glob("*.pdf"))
    if args.raw:
        sys.stdout.write("\n".join(raw_text(p) for p in pdfs))
        return
    from qa.ingest import ingest_paths

    result = ingest_paths(pdfs)
    for a in result.articles:
        sys.stdout.write(json.dumps(a.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    for s in result.skipped:
        sys.stdout.write(f"skipped {s.name} {s.page} {s.reason}\n")


if __name__ == "__main__":
    main()
