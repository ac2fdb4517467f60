"""Scanned pages: OCR quality, the articles that come out, speed and memory per page, and the
seed dev questions answered from an index built from scans.

The five seed pages are laid out by tests/ingest/pdfgen.py in embedded fonts, rendered at
``--dpi`` and degraded as flatbed scans by tests/ingest/scangen.py (turned 0.3–1.5°, noise,
blur, JPEG), plus the first page photographed at an angle; ground truth is the text printed.

* **character accuracy**: the page's text lines as read (after the layout code cut OCR's lines
  at column gaps) against the lines printed, ``scangen.char_accuracy`` (1 − edit distance /
  characters, lines matched one to one);
* **articles**: how many of the 19 came out with their exact title and outlet, and with the
  first 15 characters of their body too;
* **speed and memory**: seconds per page (and per megapixel) at ``--threads`` cores, one A3
  page of three columns (pdfgen's ``jumps`` layout) among them; the process's RSS after the
  OCR models are loaded and its peak;
* **questions**: ``qa build`` of the five page images, and of the same pages as text PDFs,
  each then asked ``../shared/eval/seed_questions_dev.jsonl`` with ``qa eval`` (hit@1).

    .venv/bin/python benchmarks/ocr.py [--dpi 200] [--threads 1] [--no-eval] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, save  # noqa: E402

sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "eval" / "seed_questions_dev.jsonl"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def read(image, dpi: float, threads: int, issue: str):
    from qa.ingest.scan import ScanSettings, read_page

    t0 = time.perf_counter()
    page = read_page(image, dpi, ScanSettings(dpi=int(dpi), threads=threads))
    lines = [l.text for l in page.layout.lines]      # as read: the layout then repairs them
    articles = page.layout.articles(issue, 1)
    return page, lines, articles, time.perf_counter() - t0


def a3_page(dpi: float, seed: int):
    from tests.ingest import pdfgen, scangen

    arts = pdfgen.random_pages(1, random.Random(seed))[0]
    pdf = pdfgen.make_pdf([arts], seed=seed, embed_fonts=True, jumps=True).data
    [page] = scangen.render(pdf, dpi)
    return scangen.degrade(page, random.Random(seed)), scangen.truth_lines(pdf)[0]


def a3_only(args) -> None:
    """A page of exactly A3 at ``--dpi``: the A3-wide three-column page cut to A3 (842 × 1191
    pt; its margins and scan border are what the width loses), read three times; the median time, and the process's peak RSS."""
    image, _ = a3_page(args.dpi, 11)
    width, height = round(842 / 72 * args.dpi), round(1191 / 72 * args.dpi)
    image = image.crop((0, 0, min(width, image.width), min(height, image.height)))
    times = [read(image, args.dpi, args.threads, "a3")[3] for _ in range(3)]
    result = {"machine": machine(), "dpi": args.dpi, "threads": args.threads,
              "pixels": f"{image.width}x{image.height}", "seconds": [round(t, 2) for t in times],
              "median_s": round(sorted(times)[1], 2),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(result, ensure_ascii=False), flush=True)
    save(f"ocr_a3_threads{args.threads}", result, args.out)


def hit_at_1(index: Path, files: Path) -> dict:
    qa = str(ROOT / ".venv" / "bin" / "qa")
    t0 = time.perf_counter()
    subprocess.run([qa, "--index", str(index), "build", str(files)], check=True,
                   capture_output=True)
    built = time.perf_counter() - t0
    out = subprocess.run([qa, "--index", str(index), "eval", "--misses", "0", str(DEV)],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"hit@1\s*[=:]?\s*([0-9.]+)", out)
    return {"build_s": round(built, 1), "hit@1": float(m.group(1)) if m else None,
            "eval": out.strip().splitlines()[-3:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None, help="scangen's seed (default: its own)")
    ap.add_argument("--no-eval", action="store_true", help="skip the index builds")
    ap.add_argument("--a3-only", action="store_true",
                    help="only time a page of exactly A3 (297 × 420 mm), three times")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from tests.ingest import scangen
    from tests.ingest.relayout import begins

    if args.a3_only:
        return a3_only(args)

    scans = scangen.seed_scans(args.dpi, **({"seed": args.seed} if args.seed else {}))
    import qa.ingest.ocr  # noqa: F401  (the models load on the first page; RSS after that)

    pages, found, exact, total = [], 0, 0, 0
    rss_loaded = None
    for name, scan in scans.items():
        page, lines, articles, seconds = read(scan.image, args.dpi, args.threads, name)
        rss_loaded = rss_loaded or _rss_mb()
        acc = scangen.char_accuracy(scan.truth, lines)
        got = {(a.title, a.source): a for a in articles}
        hits = [a for a in scan.articles if (a.title, a.source) in got]
        same = [a for a in hits if begins(got[(a.title, a.source)].text) == begins(a.text)]
        w, h = scan.image.size
        row = {"page": name, "pixels": f"{w}x{h}", "seconds": round(seconds, 2),
               "s_per_mpx": round(seconds / (w * h / 1e6), 2), "char_accuracy": round(acc, 4),
               "confidence": round(page.confidence, 3), "slant": round(page.slant, 2),
               "uncertain": len(page.uncertain), "articles": len(articles),
               "title_outlet_exact": f"{len(hits)}/{len(scan.articles)}",
               "and_body_start": f"{len(same)}/{len(scan.articles)}",
               "missed": [a.title for a in scan.articles if a not in hits]}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        pages.append(row)
        if name != "photo":
            found, exact, total = found + len(hits), exact + len(same), total + len(scan.articles)
    image, truth = a3_page(args.dpi, 11)
    page, lines, articles, seconds = read(image, args.dpi, args.threads, "a3")
    w, h = image.size
    a3 = {"page": "A3, 3 columns", "pixels": f"{w}x{h}", "seconds": round(seconds, 2),
          "s_per_mpx": round(seconds / (w * h / 1e6), 2),
          "char_accuracy": round(scangen.char_accuracy(truth, lines), 4),
          "articles": len(articles)}
    print(json.dumps(a3, ensure_ascii=False), flush=True)
    seeds = [p for p in pages if p["page"] != "photo"]
    summary = {
        "char_accuracy_mean": round(sum(p["char_accuracy"] for p in seeds) / len(seeds), 4),
        "char_accuracy_min": min(p["char_accuracy"] for p in seeds),
        "title_outlet_exact": f"{found}/{total}", "and_body_start": f"{exact}/{total}",
        "seconds_per_page_mean": round(sum(p["seconds"] for p in seeds) / len(seeds), 2),
        "rss_after_models_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    result = {"machine": machine(), "dpi": args.dpi, "threads": args.threads, "pages": pages,
              "a3": a3, "summary": summary}
    if not args.no_eval:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "scans").mkdir()
            (tmp / "pdfs").mkdir()
            for name, scan in scans.items():
                if name == "photo":
                    continue
                buf = io.BytesIO()
                scan.image.save(buf, format="PNG", dpi=(args.dpi, args.dpi))
                (tmp / "scans" / f"{name}.png").write_bytes(buf.getvalue())
                (tmp / "pdfs" / f"{name}.pdf").write_bytes(scan.pdf)
            result["eval_scans"] = hit_at_1(tmp / "index-scans", tmp / "scans")
            result["eval_text_pdfs"] = hit_at_1(tmp / "index-pdfs", tmp / "pdfs")
            result["eval_seed_text"] = hit_at_1(tmp / "index-seeds", ROOT / "seeds")
        for k in ("eval_scans", "eval_text_pdfs", "eval_seed_text"):
            print(k, json.dumps(result[k], ensure_ascii=False), flush=True)
    save("ocr", result, args.out)


if __name__ == "__main__":
    main()
