"""Which sentence a found result highlights once the reader has answered: retrieval's
(the answer shown only when inside it), the reader's (the sentence holding its span), the two
together (the run of sentences holding both, within the window read: what the service does),
or the reader's only above a margin. Per policy and fit set (``reader_fit.question_sets``):
sentence@1 and answer F1 of the top result after the reader's reordering.

    .venv/bin/python studies/reader_sentence.py --index index --fit 200
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from reader_fit import question_sets  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.embedding.encoder import Encoder  # noqa: E402
from qa.evaluation import bench_index  # noqa: E402
from qa.reader.metrics import f1  # noqa: E402
from qa.search.reading import logit, read  # noqa: E402
from qa.search.service import SearchService, _holding, _sentences  # noqa: E402


def collect(index: Path, fit: int) -> list[dict]:
    s = replace(Settings.from_env(), index_dir=index, reader=False)
    enc = Encoder(s.model, s.cache_dir, backend=s.encoder_backend)
    seed = SearchService(s, enc)
    rows = []
    for name, passages, qs in question_sets(fit):
        if not qs or not qs[0].answerable:
            continue
        svc = seed if passages is None else SearchService(bench_index(s, passages, enc), enc)
        for q in qs:
            hits = svc.ask(q.text, 5).results[:s.reader_top]
            if not hits:
                continue
            reads = read(seed.reader, q.text, hits, [_sentences(h.text) for h in hits],
                         s.reader_window_chars)
            for h, r in zip(hits, reads):
                ret = h.highlight.sentence
                own = _holding(_sentences(h.text), r.answer) if r.answer[1] > r.answer[0] else ret
                both = _holding(_sentences(h.text), (min(ret[0], r.answer[0]),
                                                     max(ret[1], r.answer[1])))

                def holds(span, h=h, q=q):
                    return any(a in h.text[span[0]:span[1]] for a in q.answers)
                rows.append(dict(set=name, qid=q.id, c=h.confidence, m=r.margin,
                                 answers=q.answers, ans=h.text[r.answer[0]:r.answer[1]],
                                 ret_ok=holds(ret), read_ok=holds(own), both_ok=holds(both),
                                 inside=ret[0] <= r.answer[0] and r.answer[1] <= ret[1]))
        print(name, file=sys.stderr, flush=True)
    return rows


def judge(rows: list[dict], policy, weight: float) -> dict[str, tuple[float, float]]:
    by = defaultdict(list)
    for r in rows:
        by[(r["set"], r["qid"])].append(r)
    out = defaultdict(lambda: [0, 0, 0.0])
    for (name, _), rs in by.items():
        b = max(rs, key=lambda r: logit(r["c"]) + weight * r["m"])
        ok, ans = policy(b)
        o = out[name]
        o[0] += 1
        o[1] += ok
        o[2] += f1(ans, b["answers"]) if ans else 0.0
    return {k: (round(v[1] / v[0], 3), round(v[2] / v[0], 3)) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--fit", type=int, default=200)
    args = ap.parse_args()
    rows = collect(args.index, args.fit)
    weight = Settings.from_env().reader_weight
    policies = {"retrieval's": lambda b: (b["ret_ok"], b["ans"] if b["inside"] else None),
                "reader's": lambda b: (b["read_ok"], b["ans"]),
                "both (shipped)": lambda b: (b["both_ok"], b["ans"])}
    for t in (0, 2, 4):
        policies[f"reader's if margin > {t}"] = (lambda t: lambda b: (
            (b["ret_ok"], b["ans"]) if b["inside"] else
            (b["read_ok"], b["ans"]) if b["m"] > t else (b["ret_ok"], None)))(t)
    print("policy: per set (sentence@1, answer F1)")
    for name, policy in policies.items():
        print(f"{name}: {judge(rows, policy, weight)}")


if __name__ == "__main__":
    main()
