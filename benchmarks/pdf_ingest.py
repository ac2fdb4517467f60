"""PDF ingest: pages per second and the memory a page takes, against the text pages.

PDF pages are laid out from the seed articles by tests/ingest/pdfgen.py (reportlab, the test
extra): the five seed pages in ``--layouts`` layouts, plus ``--pages`` pages of 3–5 articles in
one multi-page PDF. A fresh child process (this script with ``--child``) imports the ingest,
reads one page to warm up (jieba's dictionary, PDFium), then ingests every file ``--repeats``
times and reports per page: wall and CPU time (medians), and Python's allocation peak
(tracemalloc, measured in a separate pass so it does not slow the timed one); and for the
process: RSS after the warm-up and its peak (GNU time or wait4). The same is done for the five
seed text pages. Quality comes along: how many laid-out articles came out with their title,
outlet and first 15 characters.

    .venv/bin/python benchmarks/pdf_ingest.py [--pages 40] [--layouts 3] [--repeats 3]
        [--seed 7] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median, pct, run_measured, save  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))   # the generator: tests/ingest/pdfgen.py


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generate(folder: Path, pages: int, layouts: int, seed: int) -> dict:
    """Write the PDFs; return what the child needs to score them."""
    from ingest import pdfgen
    from ingest.relayout import begins

    expected = []
    seeds = pdfgen.seed_pages()
    for n in range(layouts):
        for i, (stem, arts) in enumerate(seeds.items()):
            issue = pdfgen.make_pdf([arts], seed=seed * 1000 + n * 10 + i)
            name = f"layout{n}-{stem}.pdf"
            (folder / name).write_bytes(issue.data)
            expected += [[name, 1, p.article.title, p.article.source, begins(p.article.text)]
                         for p in issue.placements]
    if pages:
        issue = pdfgen.make_pdf(pdfgen.random_pages(pages, random.Random(seed)), seed=seed)
        (folder / "issue.pdf").write_bytes(issue.data)
        expected += [["issue.pdf", p.page, p.article.title, p.article.source,
                      begins(p.article.text)] for p in issue.placements]
    return {"expected": expected}


def child(folder: Path, repeats: int) -> None:
    """Runs in its own process: timings and memory of ingesting every file in ``folder``."""
    import tracemalloc

    import pypdfium2 as pdfium

    from qa.ingest import ingest_bytes

    files = sorted(folder.glob("*.pdf")) + sorted(folder.glob("*.txt"))
    data = {f.name: f.read_bytes() for f in files}
    warm = next(f for f in files if f.suffix == ".pdf")
    ingest_bytes(data[warm.name], warm.name)
    rss_start = _rss_mb()
    out = {"rss_after_warmup_mb": round(rss_start, 1), "files": {}}
    for f in files:
        kind = f.suffix[1:]
        n_pages = len(pdfium.PdfDocument(data[f.name])) if kind == "pdf" else 1
        times, cpu, arts = [], [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            arts = ingest_bytes(data[f.name], f.name)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        tracemalloc.start()
        ingest_bytes(data[f.name], f.name)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out["files"][f.name] = {
            "kind": kind, "pages": n_pages, "seconds": median(times), "cpu_seconds": median(cpu),
            "tracemalloc_peak_kb": round(peak / 1024), "bytes": len(data[f.name]),
            "articles": [[a.page or 1, a.title, a.source, a.text.replace("\n", "")[:15]]
                         for a in arts]}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))


def summarise(files: dict, kind: str) -> dict:
    rows = [r for r in files.values() if r["kind"] == kind]
    pages = sum(r["pages"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    cpu = sum(r["cpu_seconds"] for r in rows)
    per_page = [r["seconds"] / r["pages"] for r in rows for _ in range(r["pages"])]
    multi = [r for r in rows if r["pages"] > 1]
    single = [r["tracemalloc_peak_kb"] for r in rows if r["pages"] == 1]
    return {"files": len(rows), "pages": pages, "seconds": round(seconds, 3),
            "pages_per_s": round(pages / seconds, 2) if seconds else None,
            # CPU time: what a page costs whatever else the machine is doing
            "pages_per_cpu_s": round(pages / cpu, 2) if cpu else None,
            "ms_per_page_p50": round(1000 * median(per_page), 1) if per_page else None,
            "ms_per_page_p90": round(1000 * pct(per_page, 90), 1) if per_page else None,
            "python_peak_kb_one_page_file_p50": round(median(single)) if single else None,
            "python_peak_kb_one_page_file_max": max(single) if single else None,
            # a many-page file is read page by page: its peak grows with its articles only
            "python_peak_kb_multipage_file": [[r["pages"], r["tracemalloc_peak_kb"]]
                                              for r in multi]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=40, help="pages in the multi-page PDF")
    ap.add_argument("--layouts", type=int, default=3, help="layouts of the five seed pages")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeats)
        return
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-pdf-"))
    try:
        start = machine()
        gen = generate(scratch, args.pages, args.layouts, args.seed)
        for page in sorted((ROOT / "seeds").glob("*.txt")):
            shutil.copy(page, scratch / page.name)
        run = run_measured([sys.executable, __file__, "--child", str(scratch),
                            "--repeats", str(args.repeats)], cwd=ROOT)
        if run["status"] != 0:
            raise SystemExit(f"child failed:\n{run['stderr'][-3000:]}")
        res = json.loads(run["stdout"].strip().splitlines()[-1])
        got = {(name, *a) for name, r in res["files"].items() for a in r["articles"]}
        recovered = sum(tuple(e) in got for e in gen["expected"])
        result = {
            "start": start,
            "pdf": summarise(res["files"], "pdf"),
            "text": summarise(res["files"], "txt"),
            "memory": {"rss_after_warmup_mb": res["rss_after_warmup_mb"],
                       "peak_rss_mb": round(run["peak_rss_mb"], 1),
                       "peak_minus_warmup_mb": round(run["peak_rss_mb"] -
                                                     res["rss_after_warmup_mb"], 1),
                       "peak_rss_source": run["peak_rss_source"]},
            "quality": {"articles_laid_out": len(gen["expected"]), "recovered": recovered,
                        "rate": round(recovered / len(gen["expected"]), 4)},
            "pdf_bytes_per_page_p50": median([r["bytes"] / r["pages"] for r in
                                              res["files"].values() if r["kind"] == "pdf"]),
        }
        path = save("pdf_ingest", result, args.out)
        print(json.dumps({k: result[k] for k in ("pdf", "text", "memory", "quality")},
                         indent=2, ensure_ascii=False))
        print(f"written {path}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
