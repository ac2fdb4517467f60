"""The fast path for the default model: ONNX Runtime over an export of the converted folder.

Sentence-transformers on torch spends 30-60 ms on one question (and seconds when gunicorn's
threads and torch's own thread pool fight over two cores); the same network in ONNX Runtime with
one thread per call takes 15-17 ms in float32 and 7-8 ms with int8 weights (dynamic
quantisation, one scale per output channel). Numbers, and the cosine and hit@k checks that show
the int8 vectors change nothing that matters: BENCHMARKS.md, ``benchmarks/encoder.py``.

The graph is exported once, at setup, from the converted sentence-transformers folder (the same
weights torch loads) and includes the mean pooling and the L2 normalisation, so a run returns
finished vectors. Tokenisation is the folder's own ``tokenizer.json`` through ``tokenizers``,
exactly what sentence-transformers runs (prompt + text, ``<s> … </s>``, truncated at
``max_seq_length``). Nothing here imports torch except the one-off export.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from qa.embedding.folders import ensure, publish
from qa.errors import needs_extra

# Bump when the export changes, so an older export in the cache is not reused.
EXPORT_REVISION = 1
FP32, INT8 = "model.onnx", "model-int8.onnx"


def onnx_dir(model_dir: Path) -> Path:
    """Where the export of a converted model folder lives: beside it, never inside it."""
    model_dir = Path(model_dir)
    return model_dir.with_name(f"{model_dir.name}-onnx-r{EXPORT_REVISION}")


def ensure_onnx(model_dir: Path) -> Path:
    """The ONNX export (float32 and int8) of ``model_dir``, made on first use under a lock.

    Like the model conversion it is assembled in a temporary folder and renamed into place, so
    several workers starting at once export once and nobody loads a half-written file.
    """
    model_dir = Path(model_dir)

    def write(tmp: Path) -> None:
        export(model_dir, tmp / FP32)
        quantise(tmp / FP32, tmp / INT8)
        (tmp / "README.md").write_text(
            f"ONNX export of {model_dir.name} by qa.embedding.onnx (revision "
            f"{EXPORT_REVISION}): {FP32} float32, {INT8} int8 weights (dynamic, "
            "per channel). Inputs input_ids, attention_mask (int64); output embedding, "
            "mean-pooled and L2-normalised.\n", encoding="utf-8")

    return ensure(onnx_dir(model_dir), INT8, lambda dest: publish(dest, write))


def export(model_dir: Path, path: Path) -> None:
    """Export the folder's transformer + mean pooling + normalisation as one float32 graph."""
    with needs_extra("torch", "把默认模型导出为 ONNX（只在首次建索引时做一次）"):
        import torch
        from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    with torch.no_grad():
        # The TorchScript exporter: one self-contained file, and it needs no onnxscript.
        torch.onnx.export(Pooled(model), (ids, torch.ones_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


def quantise(src: Path, dest: Path) -> None:
    """int8 weights, one scale per output channel (per-tensor scales lose more: cosine 0.987
    against 0.997 for per channel, at the same speed)."""
    with needs_extra("torch", "量化导出的 ONNX 模型"):
        from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True)


class OnnxBackend:
    """Vectors from an ONNX Runtime session over the exported graph.

    One session with one intra-op thread: the server runs several requests at once on few
    cores, and one thread per question is both the fastest single question and the most
    questions per second. Passages (indexing) run one per call, ``passage_threads`` calls at a
    time (default: one per core).
    """

    def __init__(self, model_dir: Path, quantised: bool = True,
                 passage_threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._ort = ort
        self.model_dir = Path(model_dir)
        self.path = ensure_onnx(self.model_dir) / (INT8 if quantised else FP32)
        self.quantised = quantised
        self.passage_threads = passage_threads or os.cpu_count() or 1
        config = json.loads((self.model_dir / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config.get("max_seq_length") or 512)
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tok.enable_truncation(self.max_tokens)
        self._tok.no_padding()
        self._session_1 = self._session(1)
        self.dim = int(self._run(self._session_1, ["维度"]).shape[1])

    @property
    def tokenizer(self):
        return self._tok

    def _session(self, threads: int):
        ort = self._ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads must not spin on a machine shared with the web server's threads.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])

    def _run(self, session, texts: list[str]) -> np.ndarray:
        encodings = self._tok.encode_batch(texts, add_special_tokens=True)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), np.int64)
        mask = np.zeros((len(encodings), width), np.int64)
        for i, e in enumerate(encodings):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def encode(self, texts: list[str], prompt: str, passages: bool,
               show_progress: bool = False) -> np.ndarray:
        texts = [prompt + t for t in texts] if prompt else list(texts)
        if not passages or len(texts) == 1:
            return np.asarray(self._run(self._session_1, texts), np.float32)
        # One text per run, several runs at once on the same one-thread session (ONNX Runtime
        # releases the GIL). Measured faster than padded batches of 2-32, which this int8
        # graph runs at a third to half the speed (benchmarks/encoder.py).
        from concurrent.futures import ThreadPoolExecutor

        from tqdm import tqdm

        out = np.empty((len(texts), self.dim), np.float32)
        with ThreadPoolExecutor(self.passage_threads) as pool:
            rows = pool.map(lambda t: self._run(self._session_1, [t])[0], texts)
            for i, row in enumerate(tqdm(rows, total=len(texts), desc="Embedding",
                                         disable=not show_progress)):
                out[i] = row
        return out
