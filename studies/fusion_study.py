"""Compare fusion methods offline on the same candidate scores.

For each question set, every chunk's dense and BM25 score is computed once (exact search over
the stored vectors, bm25s over the whole corpus) and cached; each fusion method then ranks from
those scores. A hit is an answer string in a top-k chunk (the issue's measure).

    .venv/bin/python studies/fusion_study.py --index index ../shared/eval/seed_questions_dev.jsonl
    .venv/bin/python studies/fusion_study.py ../shared/bench/cmrc2018   # bench index, cached
    .venv/bin/python studies/fusion_study.py --para --expand 400 --answer-type 0.1 \
        --styles none,keywords,terse,colloquial,typos,traditional --limit 600 \
        --methods dense,bm25,cov.1-.8,cov.1-.6 SETS…     # the issue-12 table

``--styles`` asks each set in several styles (``studies/query_styles.py``; ``terse`` keeps
three of the keywords, as a search box gets them); candidate lists are cached
(``studies/_candidates.py``), so a rerun only ranks.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qa.chunking import split_sentences  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_index, read_questions  # noqa: E402
from _candidates import Candidates, top  # noqa: E402

from qa.search import fusion  # noqa: E402
from qa.search.answer_type import asked_unit, boost  # noqa: E402
from qa.search.script import simplified  # noqa: E402
from qa.search.service import SearchService  # noqa: E402
from qa.search.window import passage_span, widen  # noqa: E402

MODE = "sentences"
MAX_PARA = 1000


def scores_for(service: SearchService, questions, n: int):
    """Each question's two candidate lists (as the service searches them: in simplified
    characters) and the coverage of its best BM25 chunk."""
    snap = service.snapshot()
    texts = [simplified(q.text) for q in questions]
    out = []
    for t, (d, lx) in zip(texts, Candidates(service).get(texts)):
        d, lx = top(d, n), top(lx, n)
        out.append((d, lx, coverage(t, lx, snap)))
    return snap, out


def expanded(snap, chunk_id: int, extra: int, cache: dict) -> str:
    """The chunk widened by whole sentences of its article, up to ``extra`` characters more."""
    ref = snap.chunks([chunk_id])[0]
    if ref.article_id not in cache:
        text = snap.article(ref.article_id).text
        cache[ref.article_id] = text, split_sentences(text)
    text, sents = cache[ref.article_id]
    if MODE == "para":
        start, end = passage_span(text, sents, ref.start, ref.end, extra, MAX_PARA)
    else:
        start, end = widen(sents, ref.start, ref.end, extra)
    return text[start:end]


def coverage(q: str, lexical: dict, snap) -> float:
    """Share of the query's idf mass that the best BM25 chunk contains."""
    if not lexical:
        return 0.0
    best = max(lexical, key=lexical.get)
    return snap.coverage(q, best)


def zfuse(d, l, w):
    """z-scores over each path's candidate list: a path whose top result stands out from its
    own distribution counts for more, whatever its raw scale."""
    ids = sorted(set(d) | set(l))
    def z(sc):
        if len(sc) < 2:
            return {i: 0.0 for i in ids}
        v = np.array(list(sc.values()))
        mu, sd = v.mean(), v.std() or 1.0
        lo = (v.min() - mu) / sd
        return {i: ((sc[i] - mu) / sd if i in sc else lo) for i in ids}
    zd, zl = z(d), z(l)
    sc = {i: (1 - w) * zd[i] + w * zl[i] for i in ids}
    order = sorted(ids, key=lambda i: (-sc[i], i))
    return [fusion.Fused(i, sc[i], d.get(i), l.get(i)) for i in order]


def rrf(dense: dict[int, float], lexical: dict[int, float], k: int = 60) -> list[fusion.Fused]:
    """Reciprocal-rank fusion, the baseline the shipped fusion is compared against."""
    score: dict[int, float] = {}
    for scores in (dense, lexical):
        for rank, i in enumerate(sorted(scores, key=lambda i: -scores[i])):
            score[i] = score.get(i, 0.0) + 1.0 / (k + rank + 1)
    order = sorted(score, key=lambda i: (-score[i], i))
    return [fusion.Fused(i, score[i], dense.get(i), lexical.get(i)) for i in order]


def adaptive(lo, hi, power=1.0):
    return lambda d, l, c: fusion.fuse(d, l, lo + (hi - lo) * c ** power)


def zadaptive(lo, hi):
    return lambda d, l, c: zfuse(d, l, lo + (hi - lo) * c)


METHODS = {
    "dense": lambda d, l, q: fusion.fuse(d, {}, 0.0),
    "bm25": lambda d, l, q: fusion.fuse({}, l, 1.0) if l else fusion.fuse(d, {}, 0.0),
    "rrf": lambda d, l, q: rrf(d, l),
    "mm0.3": lambda d, l, q: fusion.fuse(d, l, 0.3),
    "mm0.5": lambda d, l, q: fusion.fuse(d, l, 0.5),
    "mm0.7": lambda d, l, q: fusion.fuse(d, l, 0.7),
    "z0.5": lambda d, l, q: zfuse(d, l, 0.5),
    "z0.3": lambda d, l, q: zfuse(d, l, 0.3),
    "z0.7": lambda d, l, q: zfuse(d, l, 0.7),
    "cov.2-.7": adaptive(0.2, 0.7),
    "cov.1-.8": adaptive(0.1, 0.8),
    "cov.3-.6": adaptive(0.3, 0.6),
    "cov0-.7": adaptive(0.0, 0.7),
    "zcov.2-.7": zadaptive(0.2, 0.7),
    "cov.1-.5": adaptive(0.1, 0.5),
    "cov.1-.6": adaptive(0.1, 0.6),
    "cov.1-.8^2": adaptive(0.1, 0.8, 2.0),
    "cov.1-.8^3": adaptive(0.1, 0.8, 3.0),
    "cov0-.8^3": adaptive(0.0, 0.8, 3.0),
    "cov.1-.7": adaptive(0.1, 0.7),
    "cov.2-.6": adaptive(0.2, 0.6),
    "cov.2-.5": adaptive(0.2, 0.5),
    "cov.3-.5": adaptive(0.3, 0.5),
    "cov.1-.4": adaptive(0.1, 0.4),
    "mm0.4": lambda d, l, q: fusion.fuse(d, l, 0.4),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--expand", type=int, default=0,
                    help="score hits on chunks widened by up to N characters of whole sentences")
    ap.add_argument("--answer-type", type=float, default=0.0,
                    help="bonus for chunks stating a quantity in the unit the question asks")
    ap.add_argument("--styles", default="none",
                    help="comma-separated query styles to ask each set in: none (as written), "
                         "keywords, colloquial, typos, traditional, terse")
    ap.add_argument("--methods", default=None, help="comma-separated subset of methods")
    ap.add_argument("--para", action="store_true",
                    help="whole paragraphs (up to 1000 characters), widened by sentences to "
                         "at least --expand characters")
    args = ap.parse_args()
    global MODE
    MODE = "para" if args.para else "sentences"
    base = Settings.from_env(index_dir=args.index)
    encoder = None
    methods = METHODS
    if args.methods:
        methods = {m: methods[m] for m in args.methods.split(",")}
    print("set".ljust(28) + "".join(m.rjust(16) for m in methods))
    from query_styles import restyle

    results: dict[str, list[float]] = {m: [] for m in methods}
    for path in args.sets:
        qfile = path / "questions.jsonl" if path.is_dir() else path
        asked = read_questions(qfile)[: args.limit]
        encoder = encoder or SearchService(base).encoder
        settings = base
        if asked[0].gold:         # a bench set: its cached index, built on first use
            settings = bench_index(base, qfile.parent / "passages.jsonl", encoder)
        service = SearchService(settings, encoder)
        encoder = service.encoder
        for style in args.styles.split(","):
            questions = asked if style == "none" else [
                replace(q, text=restyle(q.text, q.id, style)) for q in asked]
            snap, cached = scores_for(service, questions, 50)
            row = (qfile.parent.name if asked[0].gold else qfile.stem) + (
                f" [{style}]" if style != "none" else "")
            cells, cache = [], {}
            for name, method in methods.items():
                h1 = hk = 0
                for q, (d, l, c) in zip(questions, cached):
                    text = simplified(q.text)
                    ranked = boost(method(d, l, c), asked_unit(text),
                                   lambda i: snap.chunks([i])[0].text, args.answer_type)[: args.k]
                    texts = [expanded(snap, f.id, args.expand, cache) for f in ranked]
                    first = next((i for i, t in enumerate(texts)
                                  if any(a in t for a in q.answers)), None)
                    h1 += first == 0
                    hk += first is not None
                results[name].append(h1 / len(questions))
                cells.append(f"{h1 / len(questions):.3f}/{hk / len(questions):.3f}")
            print(row[:27].ljust(28) + "".join(c.rjust(16) for c in cells), flush=True)
    if "dense" in results and "bm25" in results and len(results["dense"]) > 1:
        # hit@1 against the better of the two parts, set by set
        parts = [max(a, b) for a, b in zip(results["dense"], results["bm25"])]
        print("mean hit@1".ljust(28) + "".join(f"{np.mean(v):.4f}".rjust(16)
                                             for v in results.values()))
        print("sets below both parts".ljust(28) + "".join(
            str(sum(x < p - 1e-9 for x, p in zip(v, parts))).rjust(16) for v in results.values()))
        print("worst vs better part".ljust(28) + "".join(
            f"{min(x - p for x, p in zip(v, parts)):+.3f}".rjust(16) for v in results.values()))


if __name__ == "__main__":
    main()
