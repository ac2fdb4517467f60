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


def test_a_scan_without_the_ocr_extra_names_the_extra(monkeypatch):
    """An image, and a PDF page without a text layer, both say what to install."""
    from PIL import Image

    import qa.ingest.ocr as ocr
    from qa.ingest import ingest_bytes
    from tests.ingest import scangen

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    monkeypatch.setattr(ocr, "_ENGINES", {})
    page = Image.new("L", (800, 600), 255)
    page.paste(0, (100, 100, 700, 140))           # ink, so the page is not blank
    for data, name in ((scangen.to_png(page), "p.png"), (scangen.to_scanned_pdf([page]), "p.pdf")):
        with pytest.raises(BadSetting, match=r"qa\[ocr\]"):
            ingest_bytes(data, name)
