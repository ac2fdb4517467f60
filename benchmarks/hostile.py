"""Hostile-input probes (issue 23) against a real ``qa serve`` over loopback, on either backend:
each case's status, time and reply size, and whether the reply leaks a path, an expression or a
traceback. The archive is synthetic: ``--reprints`` JSON Lines records that all end in the same
boilerplate paragraph (one chunk, the same text in every article), plus the seed page.

    .venv/bin/python benchmarks/hostile.py --backend embedded --reprints 3000
    .venv/bin/python benchmarks/hostile.py --backend milvus --reprints 3000 --timeout 300

Prints one JSON object: the archive, then a row per case. Loopback only; every request has a
timeout (``--timeout``), so a case that runs past it is reported as such, not waited for.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("qa_load_benchmark", ROOT / "benchmarks" / "load.py")
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)

SEED_PAGE = ROOT / "seeds" / "001_5e68e9660a63f3de.txt"
BOILERPLATE = ("本报所有文章版权归本报社所有。未经本报社书面授权，任何单位和个人不得转载、摘编或以其他"
               "方式使用本报文章，违者必究。")
REPRINT_QUESTION = "未经书面授权能否转载本报文章？"
TITLES = 40          # distinct titles among the reprints: the boilerplate chunk is embedded once each
# What a reply must never show a reader: a file path, a Milvus filter expression, a traceback.
LEAK = re.compile(r"/tmp/|/work/|/home/|/root/|/app/|/var/|\.py\b|Traceback|"
                  r"\bgen <= |page_id in |\bexpr\b|milvus_lite|\bin \[", re.I)


def reprint_corpus(n: int) -> bytes:
    """``n`` records, each a short article ending in the boilerplate paragraph."""
    lines = []
    for i in range(n):
        lines.append(json.dumps({"id": f"rp-{i:06d}", "title": f"本报声明第{i % TITLES}号",
                                 "text": BOILERPLATE}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def backend_env(backend: str) -> dict[str, str]:
    return {"QA_BACKEND": backend} if backend != "embedded" else {}


def build(index: Path, backend: str, reprints: int, work: Path) -> float:
    corpus = work / "reprints.jsonl"
    corpus.write_bytes(reprint_corpus(reprints))
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "--index",
                    str(index), "build", str(SEED_PAGE), str(corpus)],
                   env=load.child_env(**backend_env(backend)), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def glyph_pdf(glyphs: int, pages: int = 1) -> bytes:
    """A tiny PDF whose pages draw ``glyphs`` characters each: one Flate-compressed content
    stream, shared by every page, of a line of text repeated (it compresses ~300:1)."""
    line = b"(Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor.) Tj T*\n"
    per_line = 78
    content = b"BT /F1 2 Tf 2.2 TL 10 14000 Td\n" + line * (glyphs // per_line) + b"ET\n"
    stream = zlib.compress(content, 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
            + b"\nendstream"]
    for _ in range(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] "
                    b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def deep_json(depth: int) -> bytes:
    return b'{"q": ' + b"[" * depth + b"]" * depth + b"}"


def cases(n_articles: int, question_mb: float, filter_values: int) -> list[tuple]:
    """(name, method, path, request kwargs, admin?) of each probe."""
    last = max(1, -(-n_articles // 100))
    big_q = "问" * int(question_mb * 1024 * 1024 / 3)
    jsonl = "application/x-ndjson"
    return [
        ("reprint question", "POST", "/api/ask", {"json": {"q": REPRINT_QUESTION, "k": 5}}, False),
        (f"articles page={last} per_page=100", "GET", "/api/articles",
         {"params": {"page": last, "per_page": 100}}, False),
        ("issues", "GET", "/api/issues", {}, False),
        (f"{question_mb:g} MB question", "POST", "/api/ask", {"json": {"q": big_q}}, False),
        (f"{filter_values:,} filter values", "POST", "/api/ask",
         {"json": {"q": "社工", "source": [f"s{i}" for i in range(filter_values)]}}, False),
        ("JSON nested 2,000 deep", "POST", "/api/ask",
         {"data": deep_json(2000), "headers": {"Content-Type": "application/json"}}, False),
        ("q = lone surrogate \\ud800", "POST", "/api/ask",
         {"data": b'{"q": "\\ud800"}', "headers": {"Content-Type": "application/json"}}, False),
        ("source with NUL", "POST", "/api/ask", {"json": {"q": "社工", "source": "a\u0000b"}},
         False),
        ("article id with NUL", "GET", "/api/articles/a%00b", {}, False),
        ("corpus: title not text", "POST", "/api/issues", {"params": {"name": "t1.jsonl"},
         "data": b'{"id":"t1","title":["x"],"text":"\xe6\x96\x87"}\n',
         "headers": {"Content-Type": "text/plain"}}, True),
        ("corpus: nested 5,000 deep", "POST", "/api/issues", {"params": {"name": "t2.jsonl"},
         "data": b'{"id":"t2","text":"a","x":' + b"[" * 5000 + b"]" * 5000 + b"}\n",
         "headers": {"Content-Type": "text/plain"}}, True),
        ("corpus: 5,000-digit number", "POST", "/api/issues", {"params": {"name": "t3.jsonl"},
         "data": b'{"id":"t3","text":"a","page":' + b"9" * 5000 + b"}\n",
         "headers": {"Content-Type": "text/plain"}}, True),
        ("corpus: id ../../../etc/passwd", "POST", "/api/issues", {"params": {"name": "t4.jsonl"},
         "data": '{"id":"../../../etc/passwd","text":"济阳区社工站。"}\n'.encode(),
         "headers": {"Content-Type": "text/plain"}}, True),
        ("corpus: id a/b", "POST", "/api/issues", {"params": {"name": "t5.jsonl"},
         "data": '{"id":"a/b","text":"济阳区社工站。"}\n'.encode(),
         "headers": {"Content-Type": "text/plain"}}, True),
        ("corpus: id with ESC", "POST", "/api/issues", {"params": {"name": "t6.jsonl"},
         "data": '{"id":"x\\u001b[31mred","text":"济阳区社工站。"}\n'.encode(),
         "headers": {"Content-Type": "text/plain"}}, True),
        ("PDF 640k glyphs, 1 page", "POST", "/api/issues", {"params": {"name": "g1.pdf"},
         "data": glyph_pdf(640_000), "headers": {"Content-Type": "application/pdf"}}, True),
        ("PDF 640k glyphs x 10 pages", "POST", "/api/issues", {"params": {"name": "g10.pdf"},
         "data": glyph_pdf(640_000, 10), "headers": {"Content-Type": "application/pdf"}}, True),
    ]


def probe(base: str, token: str, name: str, method: str, path: str, kwargs: dict, admin: bool,
          timeout: float) -> dict:
    headers = dict(kwargs.pop("headers", {}))
    if admin:
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    row = {"case": name}
    try:
        r = requests.request(method, base + path, headers=headers, timeout=timeout, **kwargs)
    except requests.Timeout:
        row.update(status="timeout", s=round(time.monotonic() - started, 2))
        return row
    except requests.ConnectionError as e:
        row.update(status=f"connection error: {e.__class__.__name__}",
                   s=round(time.monotonic() - started, 2))
        return row
    row.update(status=r.status_code, s=round(time.monotonic() - started, 2),
               bytes=len(r.content))
    leak = LEAK.search(r.text)
    if leak:
        row["leak"] = r.text[max(0, leak.start() - 60):leak.end() + 60]
    try:
        body = r.json()
    except ValueError:
        return row
    if isinstance(body, dict) and "results" in body:
        row["also_in"] = [len(h["also_in"]) for h in body["results"]]
        more = [h.get("also_in_more") for h in body["results"] if h.get("also_in_more")]
        if more:
            row["also_in_more"] = more
    elif isinstance(body, dict) and "error" in body:
        row["error"] = body["error"]["message"][:120]
    elif isinstance(body, dict) and "added" in body:
        row["added"] = body["added"]
        row["ids"] = [a["id"] for a in body.get("articles", [])][:3]
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("embedded", "milvus"), default="embedded")
    p.add_argument("--reprints", type=int, default=3000)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--question-mb", type=float, default=4)
    p.add_argument("--filter-values", type=int, default=200_000)
    p.add_argument("--start-timeout", type=float, default=300,
                   help="seconds qa serve may take to answer /api/health (Milvus Lite builds its "
                        "indexes when it starts: minutes at 17k chunks)")
    p.add_argument("--only", help="run only the cases whose name contains one of these "
                                  "(comma-separated)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qa-hostile-") as tmp:
        index = Path(tmp) / "index"
        built = build(index, args.backend, args.reprints, Path(tmp))
        report = {"backend": args.backend, "reprints": args.reprints, "build_s": round(built, 1),
                  "rows": []}
        with load.serve_copy(index, workers=2, env=backend_env(args.backend),
                             start_timeout=args.start_timeout,
                             log=Path(tmp) / "serve.log") as (base, pid, token):
            n = requests.get(f"{base}/api/health", timeout=30).json()["articles"]
            report["articles"] = n
            for case in cases(n, args.question_mb, args.filter_values):
                if args.only and not any(w in case[0] for w in args.only.split(",")):
                    continue
                row = probe(base, token, *case, timeout=args.timeout)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
                report["rows"].append(row)
                if row["status"] == "timeout" or str(row["status"]).startswith("connection"):
                    # the server may still be busy with it: give it back before the next case
                    time.sleep(5)
            report["server_log_tracebacks"] = (Path(tmp) / "serve.log").read_text(
                errors="replace").count("Traceback")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
