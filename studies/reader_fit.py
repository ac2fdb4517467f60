"""How the reader's score joins retrieval's: the study behind ``Settings.reader_*``.

Every question is asked with the reader off (retrieval's own order and confidence), then its
best ``--top`` results are read (``qa.search.reading.read``, the service's own windows). Per
result read: retrieval's confidence ``c``, the reader's margin ``m`` (its answerability logit),
whether the result holds a gold answer, and the F1 of the reader's span against the gold.

The service orders the results read by ``z = logit(c) + w·m``. The study picks ``w`` on hit@1
and answer F1; then, per ``w``, it asks whether ``z`` would also serve for ``found`` (some
``z ≥ t``): ``t`` the highest that keeps ``found`` ≥ .95 on every answerable fit set, and what
that leaves of not-found on the near-topic questions. ``w = 0`` is retrieval's confidence alone.
With the shipped model every ``w > 0`` lowered near-topic not-found (BENCHMARKS.md, "The
reader"), so ``found`` stays retrieval's and ``w`` only orders.

Fit questions (never the ones reported as held out): the trained-on half of CMRC dev (its
held-out half is ``eval/cmrc2018_heldout``), the first ``--fit`` of DRCD dev, the
house's dev sets on the seed index (seed dev, paraphrases, the five styles, short queries) and
``eval/unanswerable_dev.jsonl`` plus the first ``--fit`` CMRC questions asked of the seed
index as the unanswerable side. ``eval/unanswerable_questions.jsonl`` and XQuAD stay held out.

    .venv/bin/python studies/reader_fit.py --index index [--cache FILE]     # ~3 minutes
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))   # for _common

from _common import ROOT, SHARED  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.embedding.encoder import Encoder  # noqa: E402
from qa.evaluation import bench_index, passages_of, read_questions  # noqa: E402
from qa.reader.metrics import f1 as f1_score  # noqa: E402
from qa.search.reading import logit, read  # noqa: E402
from qa.search.service import SearchService, _sentences  # noqa: E402

HOUSE = ["seed_questions_dev.jsonl", "paraphrase_questions.jsonl", "short_queries.jsonl",
         "styles_colloquial.jsonl", "styles_keywords.jsonl", "styles_terse.jsonl",
         "styles_traditional.jsonl", "styles_typos.jsonl"]


def question_sets(fit: int) -> list[tuple[str, Path | None, list]]:
    """(name, passages or None for the seed index, questions)."""
    held = {json.loads(line)["id"] for line in
            (ROOT / "eval/cmrc2018_heldout/questions.jsonl").read_text().splitlines() if line}
    cmrc = SHARED / "bench/cmrc2018/questions.jsonl"
    out = [("cmrc-trained-half", cmrc.parent / "passages.jsonl",
            [q for q in read_questions(cmrc) if q.id not in held][:fit])]
    drcd = SHARED / "bench/drcd_simplified/questions.jsonl"      # XQuAD: never fitted on
    out.append(("drcd_simplified", passages_of(drcd), read_questions(drcd)[:fit]))
    for name in HOUSE:
        path = SHARED / "eval" / name if (SHARED / "eval" / name).exists() else ROOT / "eval" / name
        out.append((name, None, read_questions(path)))
    out.append(("unanswerable_dev", None, read_questions(ROOT / "eval/unanswerable_dev.jsonl")))
    out.append(("cmrc-on-seed", None, read_questions(cmrc, unanswerable=True)[:fit]))
    return out


def collect(index: Path, fit: int, top: int, window_chars: int) -> list[dict]:
    settings = replace(Settings.from_env(), index_dir=index, reader=False)
    encoder = Encoder(settings.model, settings.cache_dir, backend=settings.encoder_backend)
    seed = SearchService(settings, encoder)
    reader = seed.reader
    rows = []
    for name, passages, questions in question_sets(fit):
        service = seed if passages is None else \
            SearchService(bench_index(settings, passages, encoder), encoder)
        for q in questions:
            hits = service.ask(q.text, 5).results
            reads = read(reader, q.text, hits[:top], [_sentences(h.text) for h in hits[:top]],
                         window_chars) if hits else []
            rows.append({"set": name, "answerable": q.answerable, "answers": q.answers,
                         "hits": [{"c": h.confidence, "holds": any(a in h.text for a in q.answers),
                                   "m": r.margin if i < len(reads) else None,
                                   "f1": f1_score(h.text[r.answer[0]:r.answer[1]], q.answers)
                                   if q.answerable and r is not None else 0.0}
                                  for i, (h, r) in enumerate(zip(hits, reads + [None] * 5))]})
        print(f"{name}: {len(questions)} questions", file=sys.stderr, flush=True)
    return rows


def judge(rows: list[dict], w: float, t: float) -> dict[str, dict]:
    """Per set: hit@1, answer F1, found (answerable) or not-found, under (w, t)."""
    out: dict[str, dict] = {}
    for r in rows:
        s = out.setdefault(r["set"], {"n": 0, "hit1": 0, "f1": 0.0, "found": 0})
        read_ = [h for h in r["hits"] if h["m"] is not None]
        if not read_:
            s["n"] += 1
            continue
        z = [logit(h["c"]) + w * h["m"] for h in read_]
        best = int(np.argmax(z))
        found = z[best] >= t
        s["n"] += 1
        s["found"] += found
        s["hit1"] += read_[best]["holds"]
        s["f1"] += read_[best]["f1"] if found else 0.0
    for s in out.values():
        for k in ("hit1", "f1", "found"):
            s[k] = round(s[k] / max(s["n"], 1), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--fit", type=int, default=200)
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--window-chars", type=int, default=120)
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the reads here and reuse them (a file of an earlier run)")
    ap.add_argument("--found", type=float, default=0.95)
    args = ap.parse_args()
    if args.cache and args.cache.exists():
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = collect(args.index, args.fit, args.top, args.window_chars)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(rows))
    answerable = {r["set"] for r in rows if r["answerable"]}
    unanswerable = {r["set"] for r in rows if not r["answerable"]}
    print("w      hit@1 (mean over answerable sets)  F1 at found-everything")
    for w in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0):
        j = judge(rows, w, -1e9)
        print(f"{w:<6} {np.mean([j[s]['hit1'] for s in answerable]):.3f}  "
              f"{np.mean([j[s]['f1'] for s in answerable]):.3f}")
    for w in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0):
        ts = sorted({logit(h["c"]) + w * h["m"] for r in rows if r["answerable"]
                     for h in r["hits"] if h["m"] is not None})
        lo, hi = 0, len(ts) - 1            # found falls as t rises: the last t that keeps it
        if min(judge(rows, w, ts[0])[s]["found"] for s in answerable) < args.found:
            continue
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if min(judge(rows, w, ts[mid])[s]["found"] for s in answerable) >= args.found:
                lo = mid
            else:
                hi = mid - 1
        best_t = ts[lo]
        j = judge(rows, w, best_t)
        print(f"\nw {w} t {best_t:.3f}: " + "; ".join(
            f"{s} hit1 {j[s]['hit1']} F1 {j[s]['f1']} found {j[s]['found']}"
            for s in sorted(answerable)) + " | not-found " + "; ".join(
            f"{s} {1 - j[s]['found']:.3f}" for s in sorted(unanswerable)))


if __name__ == "__main__":
    main()
