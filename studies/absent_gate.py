"""Measure the gate on naming words an article never mentions (``ABSENT_FACTOR`` in
qa/search/confidence.py) on bench questions, in ``studies/calibrate.py``'s conditions.

    .venv/bin/python studies/absent_gate.py --n 600   # rows cached in $QA_CACHE_DIR/studies

Per set and condition: the share of questions found (some result's confidence, before the
gate, times the factor when its article lacks one of the question's naming words, reaches
the threshold) for several factors (1.0 = no gate); then how often results whose article
lacks a naming word hold an answer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibrate as cal  # noqa: E402
from _candidates import Candidates, cached, top  # noqa: E402
from query_styles import restyle  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search import confidence as conf  # noqa: E402
from qa.search.understand import understand  # noqa: E402
from qa.search.script import simplified  # noqa: E402
from qa.search.service import SearchService  # noqa: E402

FACTORS = (1.0, 0.7, 0.5, 0.3, 0.0)


def collect(base: Settings, n: int) -> dict:
    """(set, condition) -> per question, per result: (confidence before the gate, the
    question's naming words its article lacks, whether it holds an answer)."""
    svcs, enc = {}, None
    for name in cal.SETS:
        svcs[name] = SearchService(bench_settings(base, cal.BENCH / name / "passages.jsonl"), enc)
        enc = svcs[name].encoder
    cands = {n: Candidates(s) for n, s in svcs.items()}
    out = {}
    for name in cal.SETS:
        snap = svcs[name].snapshot()
        every = read_questions(cal.BENCH / name / "questions.jsonl")
        pool = cal.naming_pool(every)
        for cond in cal.CONDITIONS:
            tname = cal.OTHER[name] if cond == "other" else name
            target, tsnap = svcs[tname], svcs[tname].snapshot()
            texts = []
            for q in every[:n]:
                if cond in cal.STYLES:
                    t = restyle(q.text, q.id, cond)
                elif cond == "swapped":
                    t = cal.swap(q, " ".join(snap.article(g).text for g in q.gold), pool)
                else:
                    t = q.text
                texts.append(None if t is None else simplified(t))
            got = iter(cands[tname].get([t for t in texts if t is not None]))
            rows = []
            for q, t in zip(every[:n], texts):
                if t is None:
                    continue
                d, lx = next(got)
                keep = cal.keeper(q, cond, snap)
                question = understand(t, tokenize)
                named = question.named
                res = []
                for h, f in target.explained(question, 5, top(d, 50, keep), top(lx, 50, keep),
                                             tsnap):
                    a = tsnap.article(h.citation.article_id)
                    hay = f"{a.title or ''}\n{a.text}".lower()
                    res.append((conf.confidence(f.__class__(**{**f.__dict__, "named_absent": 0})),
                                [x for x in named if x.lower() not in hay],
                                cond != "swapped" and any(x in h.text for x in q.answers)))
                rows.append(res)
            out[(name, cond)] = rows
            print(f"  {name} / {cond}: {len(rows)} questions", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=600, help="questions per bench set")
    args = ap.parse_args()
    base = Settings.from_env()
    data = cached(base, f"absent-gate-{args.n}", lambda: collect(base, args.n))
    thr = base.found_confidence
    print(f"found (confidence >= {thr}) by gate factor")
    print(f"{'set / condition':32}" + "".join(f"{f:>8.1f}" for f in FACTORS)
          + "   absent results: n, share holding an answer")
    for (name, cond), rows in data.items():
        cells = [sum(any((c * f if ab else c) >= thr for c, ab, _ in r) for r in rows)
                 / max(len(rows), 1) for f in FACTORS]
        absent = [ok for r in rows for _, ab, ok in r if ab]
        print(f"{name + ' / ' + cond:32}" + "".join(f"{c:>8.3f}" for c in cells)
              + f"   {len(absent):6} {sum(absent) / max(len(absent), 1):.3f}")


if __name__ == "__main__":
    main()
