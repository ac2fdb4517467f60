"""Trained torch reader -> the shipped files: pruned vocabulary, int8 ONNX, checksums.

The word-embedding table (250k XLM-R pieces x 384) is cut to the pieces Chinese news text can
use, by a rule over the vocabulary alone: the special tokens; every single-character piece;
every piece made only of CJK ideographs, digits, punctuation and symbols (ASCII, CJK, fullwidth,
general punctuation); and the ``LATIN`` most probable pieces (highest unigram score) made of
ASCII letters, digits and punctuation (English words and abbreviations in Chinese text). The
table was frozen in training, so kept rows are unchanged; the runtime maps a pruned id to
``<unk>``.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from pathlib import Path

import numpy as np

from qa.reader import CONFIG_FILE, IDS_FILE, ONNX_FILE, SUMS_FILE, sha256

LATIN = 30_000
META = "\u2581"


def _cjk(c: str) -> bool:
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x2FFFF)


def _punct(c: str) -> bool:
    o = ord(c)
    if c.isascii():
        return c.isprintable() and not c.isalnum()
    return (0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF or 0x2000 <= o <= 0x206F
            or (o < 0x3000 and unicodedata.category(c)[0] in "PS"))


def kept_ids(tokenizer_file: Path, latin: int = LATIN) -> np.ndarray:
    """Sorted ids of the pieces the pruned table keeps (see the module docstring)."""
    model = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))
    vocab = model["model"]["vocab"]
    specials = {t["id"] for t in model["added_tokens"]}
    keep, letters = set(specials), []
    for i, (piece, score) in enumerate(vocab):
        body = piece.replace(META, "")
        if len(body) <= 1 or all(_cjk(c) or _punct(c) or (c.isascii() and c.isdigit())
                                 for c in body):
            keep.add(i)
        elif all(c.isascii() and c.isprintable() for c in body):
            letters.append((-score, i))
    keep.update(i for _, i in sorted(letters)[:latin])
    return np.array(sorted(keep), np.int32)


def export_onnx(model, kept: np.ndarray, path: Path) -> None:
    """The QA model with its embedding rows cut to ``kept``, as a float32 ONNX graph with
    inputs input_ids, attention_mask (int64) and outputs start_logits, end_logits."""
    import torch

    model = copy.deepcopy(model).eval()
    emb = model.bert.embeddings.word_embeddings
    model.bert.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(
        emb.weight.detach()[torch.from_numpy(kept).long()].clone(), freeze=True)
    model.config.vocab_size = len(kept)

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=torch.zeros_like(input_ids))
            return out.start_logits, out.end_logits

    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"}
            for name in ["input_ids", "attention_mask", "start_logits", "end_logits"]}
    with torch.no_grad():
        torch.onnx.export(Logits(model), (ids, torch.ones_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask"],
                          output_names=["start_logits", "end_logits"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


def quantise(src: Path, dest: Path) -> None:
    """int8 weights as in ``qa.embedding.onnx``: dynamic, one scale per output channel for the
    matrices (the embedding Gather gets one scale)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True)


def write_model(model, tokenizer_file: Path, out: Path, config: dict, tmp: Path) -> None:
    """Write model-int8.onnx, kept_ids.npy and reader.json into ``out`` (SHA256SUMS: ``seal``)."""
    out.mkdir(parents=True, exist_ok=True)
    kept = kept_ids(tokenizer_file)
    np.save(out / IDS_FILE, kept)
    export_onnx(model, kept, tmp / "model.onnx")
    quantise(tmp / "model.onnx", out / ONNX_FILE)
    vocab = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))["model"]
    config = {**config, "unk": int(vocab["unk_id"]), "kept_pieces": int(len(kept)),
              "tokenizer_sha256": sha256(tokenizer_file)}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def seal(out: Path) -> None:
    """SHA256SUMS over the files the reader loads (``sha256sum -c`` format)."""
    names = [ONNX_FILE, IDS_FILE, CONFIG_FILE]
    (out / SUMS_FILE).write_text("".join(f"{sha256(out / n)}  {n}\n" for n in names))
