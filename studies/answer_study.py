"""Which sentence of the top passage answers? Sentence scorers compared offline.

For each question the service's top passage is taken as it is served; every scorer then picks
one of its sentences, and answer-in-sentence@1 counts questions whose picked sentence holds an
answer string (``cond`` counts only questions whose top passage holds one, i.e. what the
sentence choice alone can win). Sentence vectors for the dense variants are encoded here on the
fly (the service never does that at query time) so their worth can be measured before any
storage is built for them.

The shipped weights (``Scoring``) are fitted here: ``--fit`` takes the first ``--fit-n``
questions of each bench set named, the fitted scorer is then reported on the rest of those sets
(held out) and on any other sets. ``--misses`` sorts each set's misses by kind (no answer in
the passage, answer across sentences, a neighbouring sentence picked, one further away).

    .venv/bin/python studies/answer_study.py --fit ../shared/bench/{xquad_zh,cmrc2018,drcd_simplified} \
        --index index ../shared/eval/seed_questions_dev.jsonl eval/paraphrase_questions.jsonl
    .venv/bin/python studies/answer_study.py --dense --limit 400 ../shared/bench/xquad_zh

``--window`` scores the shipped scorer's highlight at several ``Scoring.window`` shares (how
unsure the scorer must be before the likelier neighbour joins the best sentence), with the mean
highlighted characters, so answers gained can be weighed against what the reader must read:

    .venv/bin/python studies/answer_study.py --limit 600 --window 0,.5,.6,.7,.8 ../shared/bench/cmrc2018

``--reach`` adds how far from the best sentence the joining one may be (``Scoring.reach``; 1 =
a neighbour only), ``--restates`` how few characters the question lacks make a best sentence a
restatement of it (``Scoring.restates``; -1 = never), at each share:

    .venv/bin/python studies/answer_study.py --window .6 --reach 1,2,3 --restates -1 \
        ../shared/bench/{cmrc2018,drcd_simplified}
    .venv/bin/python studies/answer_study.py --window .6 --restates -1,2,4,6,8 \
        ../shared/bench/{cmrc2018,drcd_simplified}
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _candidates import Candidates, top  # noqa: E402

from qa.chunking import split_sentences  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search.answer import Scoring, pick, question_terms, sentence_features  # noqa: E402
from qa.search.highlight import term_spans  # noqa: E402
from qa.search.understand import understand  # noqa: E402
from qa.search.script import simplified  # noqa: E402
from qa.search.service import SearchService, chunk_cosines, passage_sentences  # noqa: E402


# The columns of answer.sentence_features' rows, in the order of Scoring.weights.
FEATURES = ("own", "neighbour", "typed", "continues", "bigrams", "untitled", "dense")


def old_overlap(text: str, question: str) -> tuple[int, int]:
    """The sentence picker shipped before issue 12: most question-term characters, +0.5 per
    distinct term, +0.5 for holding a digit."""
    spans = term_spans(text, question_terms(question, tokenize))
    best, best_w = (0, len(text)), float("-inf")
    for s, e in split_sentences(text) or [(0, len(text))]:
        inside = [(a, b) for a, b in spans if a >= s and b <= e]
        w = (sum(b - a for a, b in inside) + 0.5 * len({text[a:b] for a, b in inside})
             + (0.5 if any(c.isdigit() for c in text[s:e]) else 0))
        if w > best_w:
            best, best_w = (s, e), w
    return best


# The scorer shipped before issue 12's second round (round 1's fitted weights over its features:
# own, neighbour, typed, chars, bigrams, first, length, dense) is not expressible over today's
# features; "overlap(old)" is the picker before issue 12, "chunks off" today's scorer without
# the chunk cosines.
def variants(dense: bool, fitted: dict) -> dict:
    shipped = Scoring()
    no_chunks = Scoring(tuple(0.0 if f == "dense" else w
                              for f, w in zip(FEATURES, shipped.weights)))
    out = {"overlap(old)": None, "shipped": shipped, "chunks off": no_chunks}
    out.update(fitted)
    if dense:
        out["dense only"] = "dense"
    return out


def fit(rows, dense_key: str = "chunks") -> tuple[float, ...]:
    """Conditional logit: each passage's sentences compete, the one holding an answer wins.
    ``dense_key``: which per-sentence cosines feed the dense feature (``chunks`` as the
    service computes them, ``sentences`` for on-the-fly sentence vectors)."""
    from scipy.optimize import minimize

    groups = []
    for r in rows:
        X, *_ = sentence_features(r["question"], r["text"], r["sents"], r["idf"],
                                  r.get(dense_key), title=r["title"])
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

    res = minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B")
    return tuple(round(float(v), 2) for v in res.x)


def collect(service: SearchService, questions, want_dense: bool):
    """The served top passage of each question (as ``SearchService.answer`` builds it), with
    what its sentence picker sees: title, chunk cosines, idf."""
    snap = service.snapshot()
    n = service.settings.candidates
    texts = [simplified(q.text) for q in questions]
    rows = []
    for q, t, (d, lx) in zip(questions, texts, Candidates(service).get(texts)):
        d, lx = top(d, n), top(lx, n)
        question = understand(t, tokenize)
        hits = service.answer(question, 1, d, lx, snap)
        if not hits:
            continue
        c = hits[0].citation
        a = snap.article(c.article_id)
        text = hits[0].text
        sents = passage_sentences(a.text, c.start, c.end)
        ranked = service._rank(question, d, lx, snap)
        mine = [f for f in ranked if snap.chunks([f.id])[0].article_id == a.id]
        rows.append({"q": q, "q_text": t, "question": question, "text": text, "sents": sents,
                     "idf": snap.idf(t), "title": a.title, "chunks": chunk_cosines(sents, c.start, mine, snap),
                     "in_passage": any(x in text for x in q.answers)})
    if want_dense:
        t0 = time.perf_counter()
        qv = service.encoder.encode_queries([r["q_text"] for r in rows])
        # embedded as the chunks are: under the article's title
        key = lambda r, s, e: f"{r['title']}\n{r['text'][s:e]}" if r["title"] else r["text"][s:e]  # noqa: E731
        uniq = sorted({key(r, s, e) for r in rows for s, e in r["sents"]})
        vecs = service.encoder.encode_passages(uniq)
        index = {t: i for i, t in enumerate(uniq)}
        for r, v in zip(rows, qv):
            r["sentences"] = [float(vecs[index[key(r, s, e)]] @ v) for s, e in r["sents"]]
        print(f"  encoded {len(uniq)} sentences in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    return rows


def kind_of_miss(r, span) -> str | None:
    text, answers = r["text"], r["q"].answers
    if not any(a in text for a in answers):
        return "no answer in passage"
    good = [i for i, (s, e) in enumerate(r["sents"]) if any(a in text[s:e] for a in answers)]
    if not good:
        return "answer across sentences"
    picked = next((i for i, sp in enumerate(r["sents"]) if tuple(sp) == tuple(span)), None)
    if picked in good:
        return None
    if picked is not None and min(abs(picked - g) for g in good) == 1:
        return "neighbouring sentence"
    return "further sentence"


def chosen(r, variant) -> tuple[int, int]:
    text, q = r["text"], r["q"]
    if variant is None:
        return old_overlap(text, q.text)
    if variant == "dense":
        return r["sents"][int(np.argmax(r["sentences"]))]
    key = "sentences" if isinstance(variant, tuple) else "chunks"
    scoring = variant[1] if isinstance(variant, tuple) else variant
    return pick(r["question"], text, r["sents"], r["idf"], r.get(key), scoring,
                title=r["title"]).sentence


def score(rows, variant) -> tuple[float, float]:
    hit = 0
    for r in rows:
        s, e = chosen(r, variant)
        hit += any(a in r["text"][s:e] for a in r["q"].answers)
    n = len(rows)
    inside = sum(r["in_passage"] for r in rows)
    return hit / max(n, 1), hit / max(inside, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--dense", action="store_true",
                    help="also score with sentence vectors encoded on the fly")
    ap.add_argument("--fit", type=Path, nargs="*", default=[],
                    help="bench sets to fit weights on (the first --fit-n questions of each); "
                         "the rest of each is then scored as held out")
    ap.add_argument("--fit-n", type=int, default=600)
    ap.add_argument("--window", type=lambda v: [float(x) for x in v.split(",")], default=None,
                    help="comma-separated Scoring.window shares to compare (sentence@1, chars)")
    ap.add_argument("--reach", type=lambda v: [int(x) for x in v.split(",")],
                    default=[Scoring().reach],
                    help="with --window: comma-separated Scoring.reach values to compare")
    ap.add_argument("--restates", type=lambda v: [int(x) for x in v.split(",")],
                    default=[Scoring().restates],
                    help="with --window: comma-separated Scoring.restates values to compare")
    ap.add_argument("--misses", action="store_true",
                    help="count each set's misses of the shipped scorer by kind")
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
        rows = []
        for path in args.fit:
            rows += load(path, 0, args.fit_n)[1]
        fitted["fitted"] = Scoring(fit(rows))
        if args.dense:
            fitted["fitted+sentence vectors"] = ("sentences", Scoring(fit(rows, "sentences")))
        for k, v in fitted.items():
            v = v[1] if isinstance(v, tuple) else v
            print(f"{k}: weights {v.weights}  ({', '.join(FEATURES)})")
        print(f"(fitted on the first {args.fit_n} questions of "
              f"{', '.join(p.name for p in args.fit)})")
        todo += [(f"{p.name} held-out", p, args.fit_n, None) for p in args.fit]
    todo += [(None, p, 0, None) for p in args.sets]
    names = list(variants(args.dense, fitted))
    print("set".ljust(24) + "".join(n.rjust(24) for n in names) + "   (sentence@1 / cond)")
    for label, path, lo, hi in todo:
        name, rows = load(path, lo, hi if args.limit is None else lo + args.limit)
        cells = [score(rows, v) for v in variants(args.dense, fitted).values()]
        print((label or name)[:23].ljust(24)
              + "".join(f"{a:.3f}/{c:.3f}".rjust(24) for a, c in cells), flush=True)
        grid = [(share, reach, re) for share in args.window or () for reach in args.reach
                for re in args.restates]
        for i, (share, reach, re) in enumerate(grid):
            scoring = replace(Scoring(), window=share, reach=reach, restates=re)
            picks = [pick(r["question"], r["text"], r["sents"], r["idf"], r.get("chunks"),
                          scoring, title=r["title"]) for r in rows]
            # the best sentence alone, as highlighted before the window: once, as the baseline
            for label, spans in ([("best sentence alone", [p.best for p in picks])] if i == 0
                                 else []) + [(f"window {share:.2f} reach {reach} "
                                              f"restates {re}",
                                              [p.sentence for p in picks])]:
                hit = sum(any(a in r["text"][s:e] for a in r["q"].answers)
                          for r, (s, e) in zip(rows, spans))
                widened = sum(sp != p.best for sp, p in zip(spans, picks))
                print(f"   {label}: sentence@1 {hit / len(rows):.3f}  mean highlight "
                      f"{sum(e - s for s, e in spans) / len(rows):.0f} chars  "
                      f"widened {widened / len(rows):.2f}")
        if args.misses:
            kinds: dict[str, int] = {}
            for r in rows:
                k = kind_of_miss(r, chosen(r, Scoring()))
                if k:
                    kinds[k] = kinds.get(k, 0) + 1
            print("   misses: " + ", ".join(f"{k} {v / len(rows):.3f}"
                                          for k, v in sorted(kinds.items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
