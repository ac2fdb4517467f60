"""Milvus's own BM25 against ours, lexical retrieval alone, on the bench sets.

Ours is what the Milvus backend serves: our jieba tokens (search mode, user dictionary,
question-word stopwords) in client-side sparse vectors, rescored exactly with archive-wide idf
(the embedded backend's scores). Milvus's is its BM25 function: a ``VARCHAR`` field with the
``jieba`` analyzer feeding a ``SPARSE_FLOAT_VECTOR`` field, searched with metric ``BM25``. Both
index the same chunks (title + chunk text, as the service chunks them) in one Milvus Lite
server process. A hit is the answer string in the top chunk (hit@1) or in one of the top five
(hit@5); R@1 counts the top chunk's passage being the gold one.

    .venv/bin/python benchmarks/milvus_bm25.py [--sets xquad_zh,cmrc2018] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, median, read_jsonl, save  # noqa: E402
from milvus_scale import RandomQueries, lite  # noqa: E402


def native_collection(conn, name: str, rows: list[dict]) -> None:
    from pymilvus import DataType, Function, FunctionType

    client = conn.client(create=True)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["bm25"]))
    index = client.prepare_index_params()
    index.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    conn.call("create_collection", collection_name=name, schema=schema, index_params=index)
    for i in range(0, len(rows), 1000):
        conn.call("insert", collection_name=name, data=rows[i:i + 1000], timeout=600)
    conn.call("flush", collection_name=name, timeout=600)


def one_set(root: Path, name: str, uri: str, limit: int | None) -> dict:
    from qa.config import Settings
    from qa.index.factory import open_backend
    from qa.index.milvus.client import Connection
    from qa.issues import IssueMeta, IssueService

    bench = SHARED / "bench" / name
    settings = replace(Settings.from_env(), backend="milvus", milvus_uri=uri,
                       milvus_prefix=f"ours_{name}", model=RandomQueries.model_id,
                       background_merge=False)
    service = IssueService(settings, RandomQueries())      # vectors play no part here
    pages, _, _ = service.read_paths([bench / "passages.jsonl"], IssueMeta())
    service.build(pages)
    archive = open_backend(settings).open()
    chunks = archive.scan("chunks", archive.view, ("article_id", "text"))
    titles = {p.id: a.title for p in pages for a in p.articles}
    rows = [{"id": r["id"], "text": f"{titles.get(r['article_id']) or ''}\n{r['text']}"}
            for r in chunks]
    conn = Connection(settings)
    native = f"native_{name}"
    native_collection(conn, native, rows)
    text_of = {r["id"]: r["text"] for r in chunks}
    article_of = {r["id"]: r["article_id"] for r in chunks}
    questions = read_jsonl(bench / "questions.jsonl")[:limit]
    figures = {}
    for method in ("ours", "milvus_bm25"):
        hit1 = hit5 = gold1 = 0
        ms = []
        for q in questions:
            t = time.perf_counter()
            if method == "ours":
                keys = list(archive.lexical(q["question"], 5))
            else:
                found = conn.call("search", collection_name=native, data=[q["question"]],
                                  anns_field="bm25", limit=5,
                                  search_params={"metric_type": "BM25"})
                keys = [int(h["id"]) for h in found[0]]
            ms.append((time.perf_counter() - t) * 1000)
            answers = q.get("answers") or []
            hits = [any(a in text_of[k] for a in answers) for k in keys]
            hit1 += bool(hits) and hits[0]
            hit5 += any(hits)
            gold1 += bool(keys) and article_of[keys[0]] in {str(g) for g in
                                                            q.get("gold_passage_ids") or []}
        n = max(len(questions), 1)
        figures[method] = {"hit@1": round(hit1 / n, 3), "hit@5": round(hit5 / n, 3),
                           "R@1": round(gold1 / n, 3), "p50_ms": round(median(ms), 1)}
        print(name, method, figures[method], flush=True)
    return {"questions": len(questions), "chunks": len(chunks), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="xquad_zh,cmrc2018,drcd_simplified")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from qa.index.milvus.client import stop_lite_server

    root = Path(tempfile.mkdtemp(prefix="qa-bench-bm25-"))
    proc, uri = lite(root)
    try:
        rows = {name: one_set(root, name, uri, args.limit) for name in args.sets.split(",")}
    finally:
        stop_lite_server(proc)
        shutil.rmtree(root, ignore_errors=True)
    print(save("milvus_bm25", {"sets": rows}, args.out))


if __name__ == "__main__":
    main()
