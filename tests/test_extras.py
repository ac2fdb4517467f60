"""What needs an optional extra says so: without it, the setting that asks for it fails with a
BadSetting naming the extra to install (a clear 500 / exit message), not an ImportError."""

from __future__ import annotations

import sys

import pytest

from qa.errors import BadSetting


def test_a_hub_model_without_the_torch_extra_names_the_extra(monkeypatch, tmp_path):
    from qa.embedding.encoder import Encoder

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)   # as if not installed
    with pytest.raises(BadSetting, match=r"qa\[torch\]"):
        Encoder("intfloat/multilingual-e5-small", tmp_path, backend="torch")


def test_the_milvus_backend_without_the_milvus_extra_names_the_extra(monkeypatch, tmp_path):
    from qa.config import Settings
    from qa.index.factory import open_backend

    monkeypatch.setitem(sys.modules, "qa.index.milvus", None)
    with pytest.raises(BadSetting, match=r"qa\[milvus\]"):
        open_backend(Settings(index_dir=tmp_path, backend="milvus"))
