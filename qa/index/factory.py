"""The one place the engine is chosen: ``open_backend(settings)`` gives the ``Backend``
``Settings.backend`` names. Everything that depends on the engine — reading, writing, the write
lock, what ``qa serve`` must run for its workers — is asked of that object.

Engines import the interfaces (``qa.index.backend``), never this module, so adding one means
writing it and naming it here. Each is imported only when chosen: Milvus is an extra.
"""

from __future__ import annotations

from qa.config import Settings
from qa.errors import BadSetting, needs_extra
from qa.index.backend import Backend


def open_backend(settings: Settings) -> Backend:
    """The engine ``settings.backend`` names."""
    if settings.backend == "embedded":
        from qa.index.embedded import EmbeddedBackend

        return EmbeddedBackend(settings)
    if settings.backend == "milvus":
        with needs_extra("milvus", "QA_BACKEND=milvus "):
            from qa.index.milvus import MilvusBackend

        return MilvusBackend(settings)
    raise BadSetting(f"QA_BACKEND 只能是 embedded 或 milvus，而不是 {settings.backend!r}")
