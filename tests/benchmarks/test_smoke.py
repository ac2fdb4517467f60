"""Every benchmark script runs end to end on a tiny input (seconds each): the numbers in
BENCHMARKS.md come from scripts that still work. The benchmarks themselves are not run here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
SEED_QUESTION = {"id": "t1", "question": "济阳区配备了多少名驻站社工？", "answers": ["驻站社工"],
                 "gold_passage_ids": ["p1"]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A three-passage corpus with one question, in the bench-set layout."""
    d = tmp_path_factory.mktemp("tiny")
    passages = [
        {"id": "p1", "title": "社工站", "text": "济阳区为每个镇街社工站配备了3名驻站社工，服务群众。"},
        {"id": "p2", "title": "天气", "text": "明天白天晴转多云，最高气温二十五摄氏度。"},
        {"id": "p3", "title": "农业", "text": "今年小麦播种面积稳定，秋粮收获基本结束。"},
    ]
    (d / "passages.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n"
                                              for p in passages), encoding="utf-8")
    (d / "questions.jsonl").write_text(json.dumps(SEED_QUESTION, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def tiny_index(tiny, tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("index") / "index"
    subprocess.run([str(Path(sys.executable).with_name("qa")), "--index", str(index), "build",
                    str(tiny / "passages.jsonl")], check=True, capture_output=True, timeout=300)
    return index


def run(script: str, *args: str, out: Path, timeout: int = 300) -> dict:
    p = subprocess.run([sys.executable, str(BENCH / script), *args, "--out", str(out)],
                       capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    name = script.removesuffix(".py")
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def test_encoder(tmp_path, tiny):
    r = run("encoder.py", "--engines", "onnx,onnx-int8", "--corpus", str(tiny / "passages.jsonl"),
            "--questions", str(tiny / "questions.jsonl"), "--n-questions", "1",
            "--n-passages", "3", "--repeats", "1", out=tmp_path)
    rows = {row["engine"]: row for row in r["engines"]}
    assert rows["onnx"]["query_cos_vs_torch"]["min"] == pytest.approx(1.0, abs=1e-4)  # its own ref
    assert rows["onnx-int8"]["passages_per_s"] > 0


def test_indexing(tmp_path, tiny):
    r = run("indexing.py", "--corpus", str(tiny / "passages.jsonl"), "--backends", "onnx-int8",
            "--limit", "1", out=tmp_path)
    assert r["builds"][0]["chunks"] >= 3
    assert r["quality"][0]["hit@5"] == 1.0


def test_http_latency(tmp_path, tiny_index):
    r = run("http_latency.py", "--index", str(tiny_index), "--engines", "onnx-int8",
            "--concurrency", "1,2", "--seconds", "0.5", "--repeats", "1", "--workers", "1",
            out=tmp_path)
    assert all(row["errors"] == 0 and row["requests"] > 0 for row in r["summary"])
    assert r["rss_mb"]["onnx-int8"]["workers"]


def test_coldstart(tmp_path, tiny_index):
    r = run("coldstart.py", "--index", str(tiny_index), "--engines", "onnx-int8", "--repeats", "1",
            "--workers", "1", out=tmp_path)
    assert r["rows"][0]["first_answer_s"] > 0


def test_scale(tmp_path):
    r = run("scale.py", "--dense-sizes", "2000", "--bm25-sizes", "300", "--queries", "5",
            out=tmp_path)
    dense = next(row for row in r["rows"] if row["kind"] == "dense")
    assert 0 <= dense["hnsw"][0]["recall@10"] <= 1


def test_milvus_scale(tmp_path):
    r = run("milvus_scale.py", "--chunks", "300", "--queries", "3", "--skip-seeds", out=tmp_path)
    scale = r["scale"]
    assert scale["chunks"] == 300
    assert scale["milvus"]["lexical_k50"]["n"] == scale["embedded"]["dense_k50"]["n"] == 3


@pytest.mark.skipif(importlib.util.find_spec("txtai") is None,
                    reason="txtai not installed (pip install -e '.[bench]')")
def test_txtai_compare(tmp_path, tiny):
    r = run("txtai_compare.py", "--corpus", str(tiny / "passages.jsonl"), "--limit", "1",
            out=tmp_path)
    assert r["rows"][0]["qa"]["R@5"] == 1.0


def test_run_all_lists_every_script():
    text = (BENCH / "run_all.py").read_text(encoding="utf-8")
    scripts = {p.name for p in BENCH.glob("*.py")} - {"run_all.py", "_common.py"}
    missing = [s for s in scripts if s not in text]
    assert not missing, f"run_all.py does not run {missing}"
