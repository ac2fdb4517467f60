"""Which sentence of the top passage answers? Sentence scorers compared offline.

For each question the service's top passage is taken as it is served; every scorer then picks
one of its sentences, and answer-in-sentence@1 counts questions whose picked sentence holds an
answer string (``cond`` counts only questions whose top passage holds one, i.e. what the
sentence choice alone can win). Sentence vectors for the dense variants are encoded here on the
fly (the service never does that at query time) so their worth can be measured before any
storage is built for them.

    .venv/bin/python benchmarks/answer_study.py --index index ../shared/eval/seed_questions_dev.jsonl
    .venv/bin/python benchmarks/answer_study.py --dense --limit 400 ../shared/bench/xquad_zh
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.chunking import split_sentences  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search.answer import FEATURES, Scoring, pick, sentence_features  # noqa: E402
from qa.search.highlight import term_spans  # noqa: E402
from qa.search.service import SearchService, passage_sentences  # noqa: E402


def old_overlap(text: str, question: str) -> tuple[int, int]:
    """The sentence picker shipped before issue 12: most question-term characters, +0.5 per
    distinct term, +0.5 for holding a digit."""
    spans = term_spans(text, question, tokenize)
    best, best_w = (0, len(text)), float("-inf")
    for s, e in split_sentences(text) or [(0, len(text))]:
        inside = [(a, b) for a, b in spans if a >= s and b <= e]
        w = (sum(b - a for a, b in inside) + 0.5 * len({text[a:b] for a, b in inside})
             + (0.5 if any(c.isdigit() for c in text[s:e]) else 0))
        if w > best_w:
            best, best_w = (s, e), w
    return best


def variants(dense: bool, fitted: dict) -> dict:
    out = {"overlap(old)": None, "hand": Scoring((1.0, 0.3, 0.35, 0.3, 0, 0, 0, 0)),
           "shipped": Scoring()}
    out.update(fitted)
    if dense:
        out["dense only"] = "dense"
    return out


def fit(rows, use_dense: bool) -> tuple[float, ...]:
    """Conditional logit: each passage's sentences compete, the one holding an answer wins."""
    from scipy.optimize import minimize

    groups = []
    for r in rows:
        X, *_ = sentence_features(r["q"].text, r["text"], r["sents"], r["idf"], tokenize,
                                  r.get("dense") if use_dense else None)
        y = [any(a in r["text"][s:e] for a in r["q"].answers) for s, e in r["sents"]]
        if any(y) and not all(y):
            groups.append((np.array(X), np.array(y, dtype=float)))

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for X, y in groups:
            z = X @ w
            z -= z.max()
            p = np.exp(z) / np.exp(z).sum()
            total -= float(np.log((p * y).sum() + 1e-12))
            # gradient of -log sum_{pos} p
            pos = p * y / max((p * y).sum(), 1e-12)
            grad -= X.T @ (pos - p)
        return total + 0.01 * w @ w, grad + 0.02 * w

    w0 = np.array(Scoring().weights, dtype=float)
    if not use_dense:
        w0[FEATURES.index("dense")] = 0.0
    res = minimize(loss, w0, jac=True, method="L-BFGS-B")
    w = res.x
    if not use_dense:
        w[FEATURES.index("dense")] = 0.0
    return tuple(round(float(v), 3) for v in w)


def collect(service: SearchService, questions, want_dense: bool):
    """The served top passage of each question (as ``SearchService.answer`` builds it)."""
    snap = service.snapshot()
    rows = []
    vecs = service.encoder.encode_queries([q.text for q in questions])
    for q, v in zip(questions, vecs):
        n = service.settings.candidates
        hits = service.answer(q.text, 1, snap.dense(v, n), snap.lexical(q.text, n), snap)
        if not hits:
            continue
        c = hits[0].citation
        a = snap.article(c.article_id)
        text = hits[0].text
        rows.append({"q": q, "text": text, "sents": passage_sentences(a.text, c.start, c.end),
                     "idf": snap.idf(q.text), "title": a.title,
                     "in_passage": any(x in text for x in q.answers)})
    if want_dense:
        t0 = time.perf_counter()
        qv = service.encoder.encode_queries([r["q"].text for r in rows])
        # embedded as the chunks are: under the article's title
        key = lambda r, s, e: f"{r['title']}\n{r['text'][s:e]}" if r["title"] else r["text"][s:e]  # noqa: E731
        uniq = sorted({key(r, s, e) for r in rows for s, e in r["sents"]})
        vecs = service.encoder.encode_passages(uniq)
        index = {t: i for i, t in enumerate(uniq)}
        for r, v in zip(rows, qv):
            r["dense"] = [float(vecs[index[key(r, s, e)]] @ v) for s, e in r["sents"]]
        print(f"  encoded {len(uniq)} sentences in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    return rows


def score(rows, variant) -> tuple[float, float]:
    hit = 0
    for r in rows:
        text, q = r["text"], r["q"]
        if variant is None:
            s, e = old_overlap(text, q.text)
        elif variant == "dense":
            s, e = r["sents"][int(np.argmax(r["dense"]))]
        else:
            s, e = pick(q.text, text, r["sents"], r["idf"], tokenize, r.get("dense"),
                        variant).sentence
        hit += any(a in text[s:e] for a in q.answers)
    n = len(rows)
    inside = sum(r["in_passage"] for r in rows)
    return hit / max(n, 1), hit / max(inside, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--dense", action="store_true", help="also score with sentence vectors")
    ap.add_argument("--fit", type=Path, default=None,
                    help="bench set to fit weights on (its first --fit-n questions); they are "
                         "then scored on its remaining questions and on the other sets")
    ap.add_argument("--fit-n", type=int, default=600)
    args = ap.parse_args()
    base = Settings.from_env(index_dir=args.index)
    encoder = None
    fitted: dict = {}

    def load(path: Path, lo: int, hi: int | None):
        nonlocal encoder
        qfile = path / "questions.jsonl" if path.is_dir() else path
        questions = read_questions(qfile)[lo:hi]
        settings = base
        if questions[0].gold:
            settings = bench_settings(base, qfile.parent / "passages.jsonl")
        service = SearchService(replace(settings), encoder)
        encoder = service.encoder
        name = qfile.parent.name if questions[0].gold else qfile.stem
        return name, collect(service, questions, args.dense)

    todo = []
    if args.fit:
        name, rows = load(args.fit, 0, args.fit_n)
        fitted["fit-lex"] = Scoring(fit(rows, False))
        if args.dense:
            fitted["fit-dense"] = Scoring(fit(rows, True))
        for k, v in fitted.items():
            print(f"{k}: weights {v.weights}  ({', '.join(FEATURES)})")
        print(f"(fitted on the first {args.fit_n} questions of {name})")
        todo.append((f"{name} held-out", args.fit, args.fit_n, None))
    todo += [(None, p, 0, None) for p in args.sets]
    names = list(variants(args.dense, fitted))
    print("set".ljust(22) + "".join(n.rjust(15) for n in names) + "   (sentence@1 / cond)")
    for label, path, lo, hi in todo:
        name, rows = load(path, lo, hi if args.limit is None else lo + args.limit)
        cells = [score(rows, v) for v in variants(args.dense, fitted).values()]
        print((label or name)[:21].ljust(22)
              + "".join(f"{a:.3f}/{c:.3f}".rjust(15) for a, c in cells), flush=True)


if __name__ == "__main__":
    main()
