"""Does the user dictionary or the stopword list help BM25? Recall on the public bench sets.

For each set in ../shared/bench, BM25Index is built over ``title + "\\n" + text`` of every
passage and each question is searched; R@k counts a question as found when a gold passage is in
the top k. A second, cruder table covers the newspaper domain the user dictionary was written for:
the seed pages (whitespace removed, chunked) against the dev questions, a hit being a top-k chunk
that contains an answer string.

    .venv/bin/python studies/lexical_ablation.py [--bench DIR] [--eval DIR] [--seeds DIR]
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import SHARED, read_jsonl  # noqa: E402  (also puts the checkout on sys.path)

from qa.chunking import chunk_article  # noqa: E402
from qa.index.lexical import STOPWORDS, BM25Index, Tokenizer, userdict_terms  # noqa: E402
from qa.types import Article  # noqa: E402

SETS = ["cmrc2018", "xquad_zh", "drcd_simplified"]
KS = (1, 5, 20)
# The usual short list of Chinese function words, tried against the shipped STOPWORDS.
FUNCTION_WORDS = frozenset("的 了 是 在 和 与 及 等 也 都 而 并 或 被 把 将 对 从 之 其 着 过".split())


def variants() -> dict[str, Tokenizer]:
    out = {}
    for dict_name, terms in (("no userdict", ()), ("userdict", userdict_terms())):
        base = Tokenizer(terms)
        for stop_name, stopwords in (("no stopwords", frozenset()),
                                     ("function words", FUNCTION_WORDS),
                                     ("question words (shipped)", STOPWORDS),
                                     ("function+question", FUNCTION_WORDS | STOPWORDS)):
            # Share one jieba dictionary between stopword variants: only the filter differs.
            tok = copy.copy(base)
            tok.stopwords = stopwords
            out[f"{dict_name} / {stop_name}"] = tok
    return out


def bench_recall(folder: Path, tok: Tokenizer) -> dict[int, float]:
    passages = read_jsonl(folder / "passages.jsonl")
    questions = read_jsonl(folder / "questions.jsonl")
    index = BM25Index.build(list(range(len(passages))),
                            [f"{p['title']}\n{p['text']}" for p in passages], tokenizer=tok)
    names = [p["id"] for p in passages]
    found = dict.fromkeys(KS, 0)
    for q in questions:
        _, ids = index.search(q["question"], max(KS))
        ranked = [names[i] for i in ids]
        gold = set(q["gold_passage_ids"])
        for k in KS:
            found[k] += bool(gold & set(ranked[:k]))
    return {k: found[k] / len(questions) for k in KS}


def seed_recall(seeds: Path, questions: list[dict], tok: Tokenizer) -> dict[int, float]:
    texts = []
    for page in sorted(seeds.glob("*.txt")):
        # The pages break lines mid-word; without a real ingest, dropping whitespace and treating
        # each blank-line-free run as text is close enough for a relative comparison.
        text = re.sub(r"\s+", "", page.read_text(encoding="utf-8"))
        article = Article(id=page.stem, issue=page.stem, title=None, source=None, text=text)
        texts += [c.text for c in chunk_article(article)]
    index = BM25Index.build(list(range(len(texts))), texts, tokenizer=tok)
    found = dict.fromkeys(KS, 0)
    for q in questions:
        _, ids = index.search(q["q"], max(KS))
        for k in KS:
            found[k] += any(a in texts[i] for i in ids[:k] for a in q["answers"])
    return {k: found[k] / len(questions) for k in KS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=SHARED / "bench")
    ap.add_argument("--eval", type=Path, default=SHARED / "eval")
    ap.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[1] / "seeds")
    args = ap.parse_args()

    toks = variants()
    header = "| tokenizer | " + " | ".join(f"{s} R@1 | {s} R@5" for s in SETS) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(SETS)))
    for name, tok in toks.items():
        start = time.perf_counter()
        cells = []
        for s in SETS:
            r = bench_recall(args.bench / s, tok)
            cells += [f"{r[1]:.3f}", f"{r[5]:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + f" |   ({time.perf_counter() - start:.0f}s)",
              flush=True)

    qfile = args.eval / "seed_questions_dev.jsonl"
    if qfile.exists() and args.seeds.is_dir():
        questions = read_jsonl(qfile)
        print(f"\nnewspaper seeds, {len(questions)} dev questions, answer in a top-k chunk (crude)")
        print("| tokenizer | " + " | ".join(f"R@{k}" for k in KS) + " |")
        print("|" + "---|" * (1 + len(KS)))
        for name, tok in toks.items():
            r = seed_recall(args.seeds, questions, tok)
            print(f"| {name} | " + " | ".join(f"{r[k]:.3f}" for k in KS) + " |")


if __name__ == "__main__":
    main()
