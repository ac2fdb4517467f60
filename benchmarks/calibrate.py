"""Fit and check the confidence model (qa/search/confidence.py) on bench questions.

Each bench question is asked three ways, through the service's own ``answer`` stage:

* ``own``  — of its own bench index (mostly answerable);
* ``gold-removed`` — of the same index with its gold passages' chunks taken out of both
  candidate lists: a near-topic question the index cannot answer (same subject, same words, the
  fact missing);
* ``other`` — of another bench set's index: an off-topic question.

Every result is labelled by whether its passage holds an answer string (honestly: an answer
that happens to occur in another passage counts as answered). A logistic model over
``Features.vector`` is fitted on the first half of CMRC 2018 and reported on everything else;
``found`` (top result's confidence ≥ the threshold) is reported per set and condition.

    .venv/bin/python benchmarks/calibrate.py --limit 800            # fit + report
    .venv/bin/python benchmarks/calibrate.py --limit 800 --check    # report the shipped WEIGHTS
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search import confidence as conf  # noqa: E402
from qa.search.answer import pick  # noqa: E402
from qa.search.service import SearchService, passage_sentences  # noqa: E402

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
# Whose index each set's questions are asked of in the ``other`` condition.
OTHER = {"cmrc2018": "xquad_zh", "xquad_zh": "drcd_simplified", "drcd_simplified": "cmrc2018"}


def candidates(service: SearchService, vectors: np.ndarray, q, drop: set[str] = frozenset()):
    snap = service.snapshot()
    n = service.settings.candidates
    dense = snap.dense(vectors, n + (200 if drop else 0))
    lexical = snap.lexical(q.text, n + (200 if drop else 0))
    if drop:
        keep = lambda i: snap.chunks([i])[0].article_id not in drop  # noqa: E731
        dense = dict(list((i, s) for i, s in dense.items() if keep(i))[:n])
        lexical = dict(list((i, s) for i, s in lexical.items() if keep(i))[:n])
    return dense, lexical


def rows_for(service: SearchService, q, dense, lexical, k: int = 5) -> list[tuple[list, int, int]]:
    """(feature vector, label, rank) for each result."""
    snap = service.snapshot()
    idf = snap.idf(q.text)
    out = []
    for h in service.answer(q.text, k, dense, lexical, snap):
        a = snap.article(h.citation.article_id)
        chosen = pick(q.text, h.text, passage_sentences(a.text, h.citation.start,
                                                        h.citation.end), idf, tokenize)
        f = conf.features(q.text, a.title, h.text, chosen, h.scores["dense"], idf, tokenize)
        out.append((f.vector(conf.DENSE_FLOOR), int(any(x in h.text for x in q.answers)),
                    h.rank))
    return out


def collect(base: Settings, names: list[str], limit: int | None):
    services, encoder = {}, None
    for name in names + [OTHER[n] for n in names]:
        if name not in services:
            s = bench_settings(base, BENCH / name / "passages.jsonl")
            services[name] = SearchService(s, encoder)
            encoder = services[name].encoder
    data = {}
    for name in names:
        questions = read_questions(BENCH / name / "questions.jsonl")[:limit]
        vecs = encoder.encode_queries([q.text for q in questions])
        for cond in ("own", "gold-removed", "other"):
            svc = services[OTHER[name] if cond == "other" else name]
            per_q = []
            for q, v in zip(questions, vecs):
                drop = set(q.gold) if cond == "gold-removed" else set()
                d, lx = candidates(svc, v, q, drop)
                per_q.append(rows_for(svc, q, d, lx))
            data[(name, cond)] = per_q
            print(f"  collected {name} / {cond}: {len(per_q)} questions", file=sys.stderr)
    return data


def fit(X: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method (a handful of features, thousands of rows)."""
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(X @ w, -50, 50)))
        g = X.T @ (p - y) + l2 * w
        H = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(X.shape[1])
        w -= np.linalg.solve(H, g)
    return w


def prob(w, x) -> float:
    z = float(np.dot(w, x))
    return 1 / (1 + math.exp(-max(min(z, 50), -50)))


def report(data, w, threshold: float, split: int | None) -> None:
    print(f"{'set / condition':36}{'questions':>10}{'answerable':>11}{'found':>8}"
          f"{'found|ans':>10}{'found|not':>10}{'Brier':>8}")
    for (name, cond), per_q in data.items():
        for part, qs in (("fit", per_q[:split]), ("held-out", per_q[split:])) if (
                name == "cmrc2018" and split) else ((("all", per_q),)):
            tops = [r[0] for r in qs if r]
            found = [prob(w, x) >= threshold for x, _, _ in tops]
            ans = [y for _, y, _ in tops]
            fa = sum(f for f, a in zip(found, ans) if a) / max(sum(ans), 1)
            fn = sum(f for f, a in zip(found, ans) if not a) / max(len(ans) - sum(ans), 1)
            brier = np.mean([(prob(w, x) - y) ** 2 for r in qs for x, y, _ in r])
            print(f"{name + ' / ' + cond + ' / ' + part:36}{len(tops):>10}"
                  f"{sum(ans) / max(len(ans), 1):>11.3f}{np.mean(found):>8.3f}{fa:>10.3f}"
                  f"{fn:>10.3f}{brier:>8.3f}")


def choose_threshold(data, w, split: int, want: float) -> float:
    """The highest threshold at which at least ``want`` of the fit half's answerable
    questions (top result holds an answer) are still found."""
    tops = [rows[0] for rows in data[("cmrc2018", "own")][:split] if rows and rows[0][1]]
    probs = sorted(prob(w, x) for x, _, _ in tops)
    return probs[int((1 - want) * len(probs))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=800, help="questions per bench set")
    ap.add_argument("--check", action="store_true", help="report the shipped weights only")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--want-found", type=float, default=0.97,
                    help="choose the threshold so that this share of the fit half's answered "
                         "questions is found")
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the collected rows")
    args = ap.parse_args()
    base = Settings.from_env()
    names = ["cmrc2018", "xquad_zh", "drcd_simplified"]
    if args.cache and args.cache.exists():
        import pickle

        data = pickle.loads(args.cache.read_bytes())
    else:
        data = collect(base, names, args.limit)
        if args.cache:
            import pickle

            args.cache.write_bytes(pickle.dumps(data))
    split = len(data[("cmrc2018", "own")]) // 2
    if args.check:
        w = np.array(conf.WEIGHTS)
    else:
        X, y = [], []
        for cond in ("own", "gold-removed", "other"):
            for rows in data[("cmrc2018", cond)][:split]:
                for x, label, _ in rows:
                    X.append(x)
                    y.append(label)
        w = fit(np.array(X), np.array(y, dtype=float))
        print("fitted WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    threshold = args.threshold
    if threshold is None:
        threshold = base.found_confidence if args.check else choose_threshold(
            data, w, split, args.want_found)
    print(f"found: top confidence >= {threshold:.3f}")
    report(data, w, threshold, split)


if __name__ == "__main__":
    main()
