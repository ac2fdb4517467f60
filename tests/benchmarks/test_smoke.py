"""Every benchmark script runs end to end on a tiny input (seconds each): the numbers in
BENCHMARKS.md come from scripts that still work. The benchmarks themselves are not run here."""

from __future__ import annotations

import importlib.util
import json
import os
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
    (row,) = r["rows"]
    (one,) = row["runs"]
    # one worker process found and measured: it holds the model and the index, the master not
    assert len(one["rss_mb"]["workers"]) == 1
    assert one["rss_mb"]["workers"][0] > 2 * one["rss_mb"]["master"]
    assert row["worker_rss_mb"] == one["rss_mb"]["workers"][0]


def test_scale(tmp_path, tiny_index):
    r = run("scale.py", "--index", str(tiny_index), "--dense-sizes", "2000", "--bm25-sizes", "300",
            "--questions", str(ROOT / "eval" / "paraphrase_questions.jsonl"), "--queries", "20",
            out=tmp_path)
    dense = next(row for row in r["rows"] if row["kind"] == "dense")
    assert dense["real_base_vectors"] == 3                  # the three chunks of --index
    recall = {h["ef_search"]: h["recall@10"] for h in dense["hnsw"]}
    assert recall[max(recall)] >= 0.9                      # HNSW against exact, ids aligned
    bm25 = next(row for row in r["rows"] if row["kind"] == "bm25")
    assert bm25["size"] == 300 and bm25["queries"] == 20


def test_scale_without_vectors_says_what_to_pass(tmp_path):
    p = subprocess.run([sys.executable, str(BENCH / "scale.py"), "--index", str(tmp_path / "none"),
                        "--dense-sizes", "100", "--bm25-sizes", "", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert f"no index in {tmp_path / 'none'}" in p.stderr and "--index" in p.stderr


def test_milvus_scale(tmp_path):
    r = run("milvus_scale.py", "--chunks", "300", "--queries", "3", "--skip-seeds", out=tmp_path)
    scale = r["scale"]
    assert scale["chunks"] == 300
    assert scale["milvus"]["lexical_k50"]["n"] == scale["embedded"]["dense_k50"]["n"] == 3


@pytest.mark.skipif(importlib.util.find_spec("txtai") is None
                    and not os.environ.get("QA_TEST_REQUIRE_TXTAI"),
                    reason="txtai comes with the bench extra, which make test does not install "
                           "(nothing but this benchmark uses it); make bench installs it and "
                           "runs this test with QA_TEST_REQUIRE_TXTAI=1, where it cannot skip")
def test_txtai_compare(tmp_path, tiny):
    r = run("txtai_compare.py", "--corpus", str(tiny / "passages.jsonl"), "--limit", "1",
            out=tmp_path)
    (row,) = r["rows"]
    assert row["questions"] == 1 and row["chunks"] == 3
    assert row["qa"]["R@1"] == 1.0 and row["txtai"]["R@1"] == 1.0   # both engines really ran


def test_pdf_ingest(tmp_path):
    r = run("pdf_ingest.py", "--pages", "2", "--layouts", "1", "--repeats", "1", out=tmp_path)
    pdf = r["pdf"]
    assert pdf["pages"] == 5 + 2
    # the throughput is the measured time's: pages over seconds, wall and CPU
    assert pdf["pages_per_s"] == pytest.approx(pdf["pages"] / pdf["seconds"], rel=0.01)
    assert 0 < pdf["ms_per_page_p50"] <= pdf["ms_per_page_p90"]
    assert pdf["pages_per_cpu_s"] * pdf["seconds"] >= 0.5 * pdf["pages"]   # CPU ≲ wall × 2 cores
    assert r["text"]["pages"] == 5
    assert r["memory"]["peak_rss_mb"] >= r["memory"]["rss_after_warmup_mb"] > 0
    assert r["quality"]["articles_laid_out"] >= 19 + 6


def test_run_all_lists_every_script():
    spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    # _name.py are modules the scripts import, not scripts
    scripts = {p.name for p in BENCH.glob("[!_]*.py")} - {"run_all.py"}
    assert scripts == set(run_all.JOBS), "run_all.py runs exactly the benchmarks"
    studies = {p.name for p in (ROOT / "studies").glob("[!_]*.py")}
    assert studies == set(run_all.STUDIES), "run_all.py --studies runs exactly the studies"


def test_hnsw_recall(tmp_path, tiny):
    index = tmp_path / "index"
    # an HNSW graph even for three chunks
    subprocess.run([str(Path(sys.executable).with_name("qa")), "--index", str(index), "build",
                    str(tiny / "passages.jsonl")], check=True, capture_output=True, timeout=300,
                   env=dict(os.environ, QA_EXACT_MAX="1"))
    # k under the segment's size, or the search is exact
    r = run("hnsw_recall.py", str(index), "--questions", "3", "--ef", "16", "--k", "2",
            out=tmp_path)
    assert [s["kind"] for s in r["segments"]] == ["hnsw"] and r["questions"] == 3
    row = r["rows"][0]
    # three vectors: the graph finds them all, and FAISS counted the distances it computed
    assert row["recall@2"] == row["exact_top5_in_top2"] == 1.0
    assert row["distances_per_question"] > 0


def test_archive(tmp_path, tiny):
    """The archive benchmark end to end on a ~300-chunk archive: every step, and the checks
    that its figures describe what happened (the issue added is held, the one removed gone,
    both indexes of the quality step answer alike)."""
    r = run("archive.py", "--sizes", "300", "--data", str(tmp_path / "data"),
            "--base-vectors", "16", "--questions", "6", "--workers", "2", "--quality",
            "--quality-sets", str(tiny), "--adds", "3", out=tmp_path, timeout=600)
    size = r["sizes"][0]
    build = size["build"]
    assert build["articles"] == 20 * build["issues"] and build["chunks"] >= 150
    assert build["totals"]["chunks"] == build["chunks"] == sum(s["chunks"] for s in build["segments"])
    assert build["peak_pss_mb"] > 0 and build["peak_rss_mb"] > 0
    assert [o["chunks"] for o in size["open"]] == [build["chunks"]] * 2

    ops = {o["op"]: o for o in size["update"]["ops"]}
    add, replace, remove = ops["add"], ops["replace"], ops["remove"]
    assert len(add["added"]) in (4, 5) and add["target_held"]
    assert add["articles_after"] == add["articles_before"] + 20
    assert add["chunks_after"] == add["chunks_before"] + add["chunks"]
    assert add["wchar"] >= add["new_segment_bytes"] > 0
    assert replace["replaced"] == [replace["target"]] and replace["target_held"]
    assert replace["articles_after"] == replace["articles_before"]
    assert remove["target_gone"] and remove["articles_after"] == remove["articles_before"] - 20
    assert all(o["reloaded_generation"] == o["generation"] for o in ops.values())
    assert size["embed"]["chunks"] == add["texts_recorded"] == add["embedded"] > 0

    serve = size["serve"]
    assert serve["latency"]["errors"] == 0 and serve["latency"]["requests"] == 6
    assert all(m["USS"] > 0 for m in serve["memory_after_queries"].values())
    pickup = serve["pickup"]
    assert pickup["generation_after"] != pickup["generation_before"]
    assert pickup["workers_on_new_generation"] == pickup["workers"]
    assert len(pickup["workers"]) == 2

    quality = r["quality"]["sets"][0]
    assert quality["adds"] == 3 and quality["in_adds"]["segments"] >= 1
    assert quality["at_once"]["hit@5"] == quality["in_adds"]["hit@5"] == 1.0
    assert quality["different_results"] == 0
