"""Text embeddings: the ``Encoder`` and the offline conversion of the default model."""

from qa.embedding.encoder import Encoder, UsesEncoder

__all__ = ["Encoder", "UsesEncoder"]
