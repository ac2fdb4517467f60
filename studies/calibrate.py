"""Fit and check the confidence model (qa/search/confidence.py) on bench questions.

Each bench question is asked in several ways through the service's own ``answer`` stage:

* ``own`` — as written, of its own bench index (mostly answerable);
* ``keywords`` / ``colloquial`` / ``typos`` / ``traditional`` — restyled as
  ``studies/query_styles.py`` does, of its own index: a reader's way of asking must not
  by itself make an answer look unreliable;
* ``gold-removed`` — of its own index with its gold passages taken out of both candidate
  lists: near-topic, unanswerable (same subject, same words, the fact missing);
* ``swapped`` — one of its naming words that the gold passage holds (a place, an
  organisation, a year, a figure) replaced by another of the same kind from another question
  of the set: the question the archive cannot answer that looks most like one it can
  (济阳区's figures asked for 西湖区);
* ``other`` — of another bench set's index: off-topic.

A result is labelled by whether its passage holds an answer string (``swapped``: never — it
asks about something else). A logistic model over ``Features.vector`` is fitted on the first
``--fit`` questions of every set (all conditions) and reported on the next ``--held``
questions of every set, which the fit never saw; ``found`` (some result's confidence ≥ the
threshold) per set and condition.

    .venv/bin/python studies/calibrate.py                 # fit + report (minutes; cached)
    .venv/bin/python studies/calibrate.py --check         # report the shipped WEIGHTS
"""

from __future__ import annotations

import argparse
import math
import pickle
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))   # for _common

from _candidates import Candidates, top  # noqa: E402
from _common import SHARED  # noqa: E402
from query_styles import _rng, restyle  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search import confidence as conf  # noqa: E402
from qa.search.answer import question_terms  # noqa: E402
from qa.search.understand import understand  # noqa: E402
from qa.search.script import simplified  # noqa: E402
from qa.search.service import SearchService  # noqa: E402

BENCH = SHARED / "bench"
SETS = ["cmrc2018", "xquad_zh", "drcd_simplified"]
# Whose index each set's questions are asked of in the ``other`` condition.
OTHER = {"cmrc2018": "xquad_zh", "xquad_zh": "drcd_simplified", "drcd_simplified": "cmrc2018"}
STYLES = ("keywords", "colloquial", "typos", "traditional")
ANSWERABLE = ("own",) + STYLES
CONDITIONS = ANSWERABLE + ("gold-removed", "swapped", "other")


def swap(question, gold_text: str, pool: dict[str, list[str]]) -> str | None:
    """``question`` with one naming word its gold passage holds replaced by another of the
    same kind the passage lacks, or None when it names nothing the passage holds."""
    terms = [t for t in question_terms(question.text, tokenize)
             if conf.naming(t) and t in gold_text.lower() and t in question.text.lower()]
    if not terms:
        return None
    rng = _rng("swap:" + question.id)
    term = max(terms, key=lambda t: (len(t), t))
    if re.fullmatch(r"\d+", term):
        n = int(term)
        if 1000 <= n <= 2100:                                  # a year
            new = str(n + rng.choice((-1, 1)) * rng.randint(3, 30))
        else:
            new = str(n + rng.randint(1, max(2, n // 2)))
    else:
        kind = "digit" if any(c.isdigit() for c in term) else term[-1]
        others = [t for t in pool.get(kind, ()) if t != term and t not in gold_text.lower()
                  and len(t) >= 2]
        if not others:
            return None
        new = rng.choice(sorted(others))
    i = question.text.lower().find(term)
    return question.text[:i] + new + question.text[i + len(term):]


def naming_pool(questions) -> dict[str, list[str]]:
    """The set's naming words by kind (last character; anything with a figure is one kind)."""
    pool: dict[str, set[str]] = {}
    for q in questions:
        for t in question_terms(q.text, tokenize):
            if conf.naming(t) and not re.fullmatch(r"\d+", t):
                kind = "digit" if any(c.isdigit() for c in t) else t[-1]
                pool.setdefault(kind, set()).add(t)
    return {k: sorted(v) for k, v in pool.items()}


def keeper(question, cond: str, snap):
    """Which candidates a question may see: in ``gold-removed``, none of its gold articles."""
    if cond != "gold-removed":
        return None
    drop = set(question.gold)
    return lambda i: snap.chunks([i])[0].article_id not in drop


def rows_for(service: SearchService, text: str, answers: list[str], dense, lexical,
             answerable: bool = True) -> list[tuple[list, int, int]]:
    """(feature vector, label, rank) for each of the top 5 results, as the service computes
    them."""
    return [(f.vector(conf.DENSE_FLOOR), int(answerable and any(x in h.text for x in answers)),
             h.rank) for h, f in service.explained(understand(text, tokenize), 5, dense, lexical,
                                                   service.snapshot())]


def collect(base: Settings, n: int) -> dict:
    services, encoder = {}, None
    for name in SETS:
        services[name] = SearchService(bench_settings(base, BENCH / name / "passages.jsonl"),
                                       encoder)
        encoder = services[name].encoder
    cands = {name: Candidates(svc) for name, svc in services.items()}
    data = {}
    for name in SETS:
        svc, snap = services[name], services[name].snapshot()
        every = read_questions(BENCH / name / "questions.jsonl")
        questions = every[:n]
        pool = naming_pool(every)
        for cond in CONDITIONS:
            target = services[OTHER[name]] if cond == "other" else svc
            texts = []
            for q in questions:
                if cond in STYLES:
                    t = restyle(q.text, q.id, cond)
                elif cond == "swapped":
                    gold = " ".join(snap.article(g).text for g in q.gold)
                    t = swap(q, gold, pool)
                else:
                    t = q.text
                texts.append(None if t is None else simplified(t))
            found = cands[OTHER[name] if cond == "other" else name].get(
                [t for t in texts if t is not None])
            lists = iter(found)
            per_q = []
            for q, t in zip(questions, texts):
                if t is None:
                    per_q.append(None)
                    continue
                d, lx = next(lists)
                keep = keeper(q, cond, snap)
                per_q.append(rows_for(target, t, q.answers, top(d, 50, keep), top(lx, 50, keep),
                                      answerable=cond != "swapped"))
            data[(name, cond)] = per_q
            print(f"  collected {name} / {cond}: "
                  f"{sum(r is not None for r in per_q)} questions", file=sys.stderr)
    return data


def fit(X: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1e-2,
        steps: int = 60) -> np.ndarray:
    """Weighted logistic regression by Newton's method (a handful of features, thousands of
    rows)."""
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(X @ w, -50, 50)))
        g = X.T @ (weight * (p - y)) + l2 * w
        H = (X * (weight * p * (1 - p))[:, None]).T @ X + l2 * np.eye(X.shape[1])
        w -= np.linalg.solve(H, g)
    return w


def training_rows(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every result of every question, each set and condition weighing the same in all:
    swapped questions are few, and without this the model would learn to ignore them."""
    X, y, weight = [], [], []
    for per_q in data.values():
        rows = [r for q in per_q for r in q]
        for x, label, _ in rows:
            X.append(x)
            y.append(label)
            weight.append(1.0 / len(rows))
    weight = np.array(weight)
    return np.array(X), np.array(y, dtype=float), weight * len(weight) / weight.sum()


def prob(w, x) -> float:
    z = float(np.dot(w, x))
    return 1 / (1 + math.exp(-max(min(z, 50), -50)))


def part(data, lo: int, hi: int | None):
    return {k: [r for r in v[lo:hi] if r is not None] for k, v in data.items()}


def report(data, w, threshold: float, label: str) -> None:
    """Per set and condition: how often any result is confident enough (found, as the service decides); for
    answerable conditions also among questions whose top result holds an answer."""
    print(f"\n{label}: found = best confidence >= {threshold:.3f}")
    print(f"{'set / condition':34}{'questions':>10}{'top holds':>10}{'found':>8}"
          f"{'found|holds':>12}{'Brier':>8}")
    for (name, cond), per_q in data.items():
        asked = [r for r in per_q if r]
        if not asked:
            continue
        tops = [r[0] for r in asked]
        # as the service decides: found when any of the results is confident enough
        found = [max(prob(w, x) for x, _, _ in r) >= threshold for r in asked]
        holds = [y for _, y, _ in tops]
        fh = sum(f for f, a in zip(found, holds) if a) / max(sum(holds), 1)
        brier = np.mean([(prob(w, x) - y) ** 2 for r in per_q for x, y, _ in r])
        print(f"{name + ' / ' + cond:34}{len(tops):>10}{np.mean(holds):>10.3f}"
              f"{np.mean(found):>8.3f}{fh:>12.3f}{brier:>8.3f}")


def choose_threshold(data, w, want: float) -> float:
    """The highest threshold at which ``want`` of the fit questions asked answerably (every
    answerable condition) whose top result holds an answer are still found."""
    probs = sorted(max(prob(w, x) for x, _, _ in rows) for (name, cond), per_q in data.items()
                   if cond in ANSWERABLE for rows in per_q if rows and rows[0][1])
    return probs[int((1 - want) * len(probs))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", type=int, default=400, help="questions per set to fit on")
    ap.add_argument("--held", type=int, default=400,
                    help="the questions after those, per set, reported as held out")
    ap.add_argument("--check", action="store_true", help="report the shipped weights only")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--want-found", type=float, default=0.98,
                    help="choose the threshold so that this share of the fit questions whose "
                         "top result holds an answer is found")
    ap.add_argument("--cache", type=Path, default=None,
                    help="pickle of the collected rows (default under $QA_CACHE_DIR)")
    args = ap.parse_args()
    base = Settings.from_env()
    n = args.fit + args.held
    cache = args.cache or base.cache_dir / "studies" / f"calibrate-{n}.pkl"
    if cache.exists():
        data = pickle.loads(cache.read_bytes())
    else:
        data = collect(base, n)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(data))
    fitted, held = part(data, 0, args.fit), part(data, args.fit, n)
    if args.check:
        w = np.array(conf.WEIGHTS)
    else:
        w = fit(*training_rows(fitted))
        print("fitted WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    threshold = args.threshold
    if threshold is None:
        threshold = base.found_confidence if args.check else choose_threshold(
            fitted, w, args.want_found)
    report(fitted, w, threshold, f"fit (first {args.fit} questions of each set)")
    report(held, w, threshold, f"held out (next {args.held} questions of each set)")


if __name__ == "__main__":
    main()
