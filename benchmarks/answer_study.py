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
from qa.search.answer import Scoring, pick  # noqa: E402
from qa.search.highlight import highlight  # noqa: E402
from qa.search.service import SearchService  # noqa: E402


def variants(dense: bool) -> dict:
    out = {
        "overlap(old)": None,
        "idf": Scoring(neighbour=0, typed=0),
        "idf+nb": Scoring(typed=0),
        "idf+type": Scoring(neighbour=0),
        "idf+nb+type": Scoring(),
        "nb.15+type.2": Scoring(neighbour=0.15, typed=0.2),
        "nb.3+type.5": Scoring(neighbour=0.3, typed=0.5),
    }
    if dense:
        for w in (0.5, 1.0, 2.0, 4.0):
            out[f"all+dense{w}"] = Scoring(dense=w)
        out["dense only"] = "dense"
    return out


def collect(service: SearchService, questions, want_dense: bool):
    snap = service.snapshot()
    rows = []
    for q in questions:
        results = service.ask(q.text, 1).results
        if not results:
            continue
        text = results[0].text
        sents = split_sentences(text) or [(0, len(text))]
        rows.append({"q": q, "text": text, "sents": sents, "idf": snap.lexical.idf(q.text),
                     "in_passage": any(a in text for a in q.answers)})
    if want_dense:
        t0 = time.perf_counter()
        qv = service.encoder.encode_queries([r["q"].text for r in rows])
        uniq = sorted({r["text"][s:e] for r in rows for s, e in r["sents"]})
        vecs = service.encoder.encode_passages(uniq)
        index = {t: i for i, t in enumerate(uniq)}
        for r, v in zip(rows, qv):
            r["dense"] = [float(vecs[index[r["text"][s:e]]] @ v) for s, e in r["sents"]]
        print(f"  encoded {len(uniq)} sentences in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    return rows


def score(rows, variant) -> tuple[float, float]:
    hit = 0
    for r in rows:
        text, q = r["text"], r["q"]
        if variant is None:
            s, e = highlight(text, q.text, tokenize).sentence
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
    ap.add_argument("--offset", type=int, default=0, help="skip the first N questions")
    ap.add_argument("--dense", action="store_true", help="also score with sentence vectors")
    args = ap.parse_args()
    base = Settings.from_env(index_dir=args.index)
    encoder = None
    names = list(variants(args.dense))
    print("set".ljust(22) + "".join(n.rjust(15) for n in names) + "   (sentence@1 / cond)")
    for path in args.sets:
        qfile = path / "questions.jsonl" if path.is_dir() else path
        questions = read_questions(qfile)[args.offset:]
        questions = questions[: args.limit]
        settings = base
        if questions[0].gold:
            settings = bench_settings(base, qfile.parent / "passages.jsonl")
        service = SearchService(replace(settings), encoder)
        encoder = service.encoder
        rows = collect(service, questions, args.dense)
        cells = [score(rows, v) for v in variants(args.dense).values()]
        row = qfile.parent.name if questions[0].gold else qfile.stem
        print(row[:21].ljust(22) + "".join(f"{a:.3f}/{c:.3f}".rjust(15) for a, c in cells),
              flush=True)


if __name__ == "__main__":
    main()
