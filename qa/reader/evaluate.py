"""Held-out evaluation of the reader alone, given the gold passage, and its latency.

For each question: the best span over all windows of its gold passage (EM/F1, a null
prediction scoring 0) and the answerability margin; and no-answer pairs made from the same set:
the question against another passage of the same article and against the top BM25 passage of
another article (neither containing a gold answer), and the question with a name/place/time/
number swapped against its gold passage. AUC is answerable vs each kind of no-answer pair.

    python -m qa.reader.evaluate                     # CMRC dev held-out half, DRCD dev, XQuAD
    python -m qa.reader.evaluate --latency
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.reader import MODEL_DIR, Reader
from qa.reader.data import Passage, Question, Retriever, load_bench, swapped_questions
from qa.reader.metrics import auc, em, f1

BENCH = Path("/work/shared/bench")
HELDOUT = Path(__file__).resolve().parents[2] / "training" / "cmrc_dev_heldout.json"
KINDS = ("article", "retrieved", "swapped")


@dataclass
class Scored:
    margins: list[float] = field(default_factory=list)      # answerable pairs
    em: list[float] = field(default_factory=list)           # of the best span, ignoring null
    f1: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)         # per answerable pair (optional)
    negatives: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})


def score(reader: Reader, passages: dict[str, Passage], questions: list[Question],
          retriever: Retriever, seed: int = 0) -> Scored:
    out = Scored()
    spans = reader.spans([(q.question, passages[q.passage].text) for q in questions])
    for q, span in zip(questions, spans):
        text = passages[q.passage].text[span.start:span.end]
        out.margins.append(span.margin)
        out.em.append(em(text, q.answers))
        out.f1.append(f1(text, q.answers))
    pairs = {k: [] for k in KINDS}
    for q in questions:
        for kind, same in (("article", True), ("retrieved", False)):
            pid = retriever.wrong(q, same_article=same)
            if pid is not None:
                pairs[kind].append((q.question, passages[pid].text))
    swaps = swapped_questions(questions, passages, seed)
    pairs["swapped"] = [(swaps[q.id], passages[q.passage].text) for q in questions
                        if q.id in swaps]
    for kind in KINDS:
        out.negatives[kind] = [s.margin for s in reader.spans(pairs[kind])] if pairs[kind] else []
    return out


def summary(s: Scored, threshold: float) -> dict:
    """Figures at the margin ``threshold`` (a pair is answered when its margin >= threshold)."""
    kept = np.array(s.margins) >= threshold
    res = {"questions": len(s.margins),
           "EM": float((np.array(s.em) * kept).mean()), "F1": float((np.array(s.f1) * kept).mean()),
           "EM_no_null": float(np.mean(s.em)), "F1_no_null": float(np.mean(s.f1)),
           "answerable_rate": float(kept.mean())}
    all_neg = []
    for kind, neg in s.negatives.items():
        all_neg += neg
        if neg:
            res[kind] = {"pairs": len(neg), "AUC": auc(s.margins, neg),
                         "no_answer_rate": float((np.array(neg) < threshold).mean())}
    res["all_negatives"] = {"pairs": len(all_neg), "AUC": auc(s.margins, all_neg),
                            "no_answer_rate": float((np.array(all_neg) < threshold).mean())}
    return res


def bench_sets(bench: Path, heldout: Path) -> dict[str, tuple[Path, set[str] | None]]:
    held = set(json.loads(heldout.read_text())["question_ids"])
    return {"cmrc2018_heldout": (bench / "cmrc2018", held),
            "drcd_dev": (bench / "drcd_simplified", None),
            "xquad_zh": (bench / "xquad_zh", None)}


def latency(reader: Reader, tokens: int = 160, repeats: int = 200) -> dict:
    """ms per (question, window) pair of exactly ``tokens`` tokens, batches of 1 and 6."""
    ids = np.random.default_rng(0).integers(5, 50_000, (6, tokens)).astype(np.int64)
    ids[:, 0] = reader.bos
    mask = np.ones_like(ids)
    res = {}
    for batch in (1, 6):
        reader.run(ids[:batch], mask[:batch])
        t = time.perf_counter()
        for _ in range(repeats):
            reader.run(ids[:batch], mask[:batch])
        res[f"batch_{batch}_ms_per_pair"] = (time.perf_counter() - t) * 1000 / repeats / batch
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR)
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--heldout", type=Path, default=HELDOUT)
    ap.add_argument("--sets", nargs="*", default=None)
    ap.add_argument("--latency", action="store_true", help="only measure latency")
    ap.add_argument("--drcd-train", type=Path, default=None,
                    help="DRCD_test.json: also split DRCD dev by whether its article title is "
                         "one of the training set's")
    args = ap.parse_args(argv)
    reader = Reader.load(args.model)
    size = (args.model / "model-int8.onnx").stat().st_size
    if args.latency:
        print(json.dumps({"model_bytes": size, **latency(reader)}, indent=2))
        return
    threshold = float(np.log(reader.threshold / (1 - reader.threshold)))
    results = {}
    for name, (folder, ids) in bench_sets(args.bench, args.heldout).items():
        if args.sets and name not in args.sets:
            continue
        t = time.time()
        passages, questions = load_bench(folder, ids)
        s = score(reader, passages, questions, Retriever(passages))
        results[name] = summary(s, threshold)
        if name == "drcd_dev" and args.drcd_train:
            from opencc import OpenCC
            conv = OpenCC("t2s").convert
            seen = {conv(a["title"]) for a in
                    json.loads(args.drcd_train.read_text(encoding="utf-8"))["data"]}
            inside = np.array([passages[q.passage].article in seen for q in questions])
            kept = np.array(s.margins) >= threshold
            for label, sel in (("title_in_training", inside), ("title_not_in_training", ~inside)):
                results[name][label] = {
                    "questions": int(sel.sum()),
                    "F1": float((np.array(s.f1) * kept)[sel].mean()),
                    "EM": float((np.array(s.em) * kept)[sel].mean())}
        results[name]["seconds"] = round(time.time() - t, 1)
        print(name, json.dumps(results[name], indent=2), flush=True)
    print(json.dumps({"threshold_prob": reader.threshold, "threshold_margin": threshold,
                      "model_bytes": size, "results": results}, indent=2))


if __name__ == "__main__":
    main()
