"""The qa command as a user runs it: a real subprocess, real seeds, real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def qa(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, **kw)


def test_ingest_prints_articles_and_summary():
    run = qa("ingest", "seeds/")
    assert run.returncode == 0
    articles = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(articles) == 19
    assert {"id", "issue", "title", "source", "text"} <= set(articles[0])
    assert run.stderr.strip().endswith("ingested 5 file(s), 5 issue(s), 19 article(s)")


def test_ingest_skips_a_bad_file_keeps_the_rest_and_says_so(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    good = sorted((ROOT / "seeds").glob("*.txt"))[0]
    (tmp_path / good.name).write_bytes(good.read_bytes())
    run = qa("ingest", str(tmp_path))
    assert run.returncode == 1
    assert run.stdout.strip() and "empty.txt" in run.stderr and "Traceback" not in run.stderr


def test_ask_json_is_the_api_object(seed_index):
    run = qa("--index", str(seed_index), "ask", "济阳区配备了多少名驻站社工？", "-k", "2", "--json")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert set(answer) == {"question", "results", "took_ms"} and len(answer["results"]) == 2
    top = answer["results"][0]
    assert "驻站社工26人" in top["text"] and top["citation"]["source"] == "大众网"


def test_errors_are_one_line_without_traceback(tmp_path, seed_index):
    run = qa("--index", str(tmp_path / "none"), "ask", "济阳区社工站")
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    run = qa("--index", str(seed_index), "ask", "   ")
    assert run.returncode == 2 and "请输入问题" in run.stderr


def test_add_with_metadata_list_remove_and_compact(tmp_path, seed_index):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    page = tmp_path / "A03.txt"
    page.write_bytes((ROOT / "seeds" / "002_ebf6d75d4c563302.txt").read_bytes())
    run = qa("--index", str(index), "add", str(page), "--issue", "2024-08-15", "--date",
             "2024-08-15", "--paper", "中国社会报", "--page", "3")
    assert run.returncode == 0, run.stderr
    assert "1 page(s) added" in run.stdout and "0 embedded" in run.stdout   # known text
    listing = json.loads(qa("--index", str(index), "issues", "--json").stdout)
    issue = next(i for i in listing if i["id"] == "2024-08-15")
    assert issue["date"] == "2024-08-15" and issue["pages"][0] == {
        "id": "2024-08-15.A03", "page": 3, "articles": 4}
    text = qa("--index", str(index), "issues").stdout
    assert "2024-08-15  中国社会报 2024-08-15  1 page(s), 4 article(s)" in text

    run = qa("--index", str(index), "remove", "2024-08-15", "nope")
    assert run.returncode == 2 and "nope" in run.stderr and "Traceback" not in run.stderr
    run = qa("--index", str(index), "remove", "2024-08-15", "000_31cc67d840a6dd88")
    assert run.returncode == 0, run.stderr
    assert "removed 2 page(s): 2024-08-15.A03, 000_31cc67d840a6dd88" in run.stdout
    run = qa("--index", str(index), "compact", "--all")      # drops the removed seed page
    assert run.returncode == 0 and "merged into seg-" in run.stdout
    assert len(json.loads(qa("--index", str(index), "issues", "--json").stdout)) == 4


def test_bad_date_is_a_one_line_error(tmp_path):
    run = qa("--index", str(tmp_path / "i"), "add", "seeds/", "--date", "2024-02-30")
    assert run.returncode == 2 and "date" in run.stderr and "Traceback" not in run.stderr


def test_the_milvus_backend_from_the_command_line(tmp_path, seed_index):
    """QA_BACKEND=milvus with the default Lite folder (<index>/milvus), served from each
    command's own process: copy in, ask, add, remove, compact, copy back."""
    import os
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("QA_")},
           "QA_BACKEND": "milvus"}
    run = qa("--index", str(index), "migrate", "--to", "milvus", env=env)
    assert run.returncode == 0, run.stderr
    assert "19 article(s), 143 chunk(s); 0 embedded" in run.stdout
    run = qa("--index", str(index), "ask", "济阳区配备了多少名驻站社工？", "-k", "1", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert "驻站社工26人" in json.loads(run.stdout)["results"][0]["text"]
    page = tmp_path / "A03.txt"
    page.write_bytes((ROOT / "seeds" / "002_ebf6d75d4c563302.txt").read_bytes())
    run = qa("--index", str(index), "add", str(page), "--issue", "2024-08-15", "--date",
             "2024-08-15", env=env)
    assert run.returncode == 0 and "0 embedded" in run.stdout, run.stderr
    run = qa("--index", str(index), "remove", "000_31cc67d840a6dd88", env=env)
    assert run.returncode == 0 and "total 5 issue(s)" in run.stdout, run.stderr
    run = qa("--index", str(index), "compact", env=env)
    assert run.returncode == 0 and "qa_s000001_chunks" in run.stdout, run.stderr
    run = qa("--index", str(index), "migrate", "--to", "embedded", env=env)
    assert run.returncode == 0 and "0 embedded" in run.stdout, run.stderr
    embedded = {**env, "QA_BACKEND": "embedded"}
    issues = json.loads(qa("--index", str(index), "issues", "--json", env=embedded).stdout)
    assert len(issues) == 5 and "000_31cc67d840a6dd88" not in {i["id"] for i in issues}


def test_an_unreachable_milvus_is_a_one_line_error(tmp_path):
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("QA_")},
           "QA_BACKEND": "milvus", "QA_MILVUS_URI": f"http://127.0.0.1:{port}",
           "QA_MILVUS_TIMEOUT": "3"}
    run = qa("--index", str(tmp_path), "ask", "济阳区社工站", env=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: 无法使用 Milvus") and len(run.stderr.splitlines()) == 1
