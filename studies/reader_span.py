"""How much of the reader's answer F1 the choice of span leaves on the table: the reader given
the *gold* passage (no retrieval), its best span chosen with a longest-span limit
(``max_answer`` tokens; shipped 48) and a length penalty per token (shipped 0), on the bench
sets it reports on (CMRC dev held-out half, DRCD dev, XQuAD-zh; none trained on). No-answer is
ignored (the best span is always taken), so each figure is what the model can extract at best.

    .venv/bin/python studies/reader_span.py                  # results/reader_span.log
    .venv/bin/python studies/reader_span.py --limit 300 --max-answer 16,48 --penalty 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qa.reader import MODEL_DIR, Reader
from qa.reader.data import load_bench
from qa.reader.evaluate import BENCH, HELDOUT, bench_sets
from qa.reader.metrics import em, f1


def numbers(kind):
    return lambda text: [kind(x) for x in text.split(",")]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR)
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--heldout", type=Path, default=HELDOUT)
    ap.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    ap.add_argument("--max-answer", type=numbers(int), default=[8, 16, 24, 32, 48, 64])
    ap.add_argument("--penalty", type=numbers(float), default=[0, 0.05, 0.1, 0.2, 0.5])
    args = ap.parse_args(argv)
    reader = Reader.load(args.model)
    print(f"model {args.model} (max_answer {reader.max_answer}); no-null EM / F1 of the best "
          "span in the gold passage")
    for name, (folder, ids) in bench_sets(args.bench, args.heldout).items():
        t = time.time()
        passages, questions = load_bench(folder, ids)
        if args.limit:
            questions = questions[:args.limit]
        pairs = [(q.question, passages[q.passage].text) for q in questions]
        logits = list(reader.logits(pairs))
        print(f"\n{name}: {len(questions)} questions, {len(logits)} windows "
              f"({time.time() - t:.0f} s to read)")
        print("max_answer  penalty     EM     F1  mean answer chars (gold: "
              f"{np.mean([min(len(a) for a in q.answers) for q in questions]):.1f})")
        for longest in args.max_answer:
            for penalty in args.penalty:
                spans = reader.decode(len(pairs), logits, longest, penalty)
                said = [text[s.start:s.end] for (_, text), s in zip(pairs, spans)]
                print(f"{longest:10d}  {penalty:7.2f}  "
                      f"{np.mean([em(a, q.answers) for a, q in zip(said, questions)]):.3f}  "
                      f"{np.mean([f1(a, q.answers) for a, q in zip(said, questions)]):.3f}  "
                      f"{np.mean([len(a) for a in said]):.1f}", flush=True)


if __name__ == "__main__":
    main()
