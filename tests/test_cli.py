"""The qa command as a user runs it: a real subprocess, real seeds, real model."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from qa.cli import main, number_text

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
QUESTION = "济阳区配备了多少名驻站社工？"


def qa(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, **kw)


def test_ingest_prints_articles_and_summary():
    run = qa("ingest", "seeds/")
    assert run.returncode == 0
    articles = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(articles) == 19
    assert {"id", "issue", "title", "source", "text"} <= set(articles[0])
    assert run.stderr.strip().endswith("收录 5 个文件，5 期，19 篇文章")
    assert "识别扫描页" not in run.stderr          # no progress bar without scans


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
    assert set(answer) == {"question", "results", "took_ms", "found"}
    assert len(answer["results"]) == 2 and answer["found"] is True
    top = answer["results"][0]
    assert "驻站社工26人" in top["text"] and top["citation"]["source"] == "大众网"


def test_errors_are_one_line_without_traceback(tmp_path, seed_index):
    run = qa("--index", str(tmp_path / "none"), "ask", "济阳区社工站")
    assert run.returncode == 2 and run.stderr.startswith("错误：") and "Traceback" not in run.stderr
    run = qa("--index", str(seed_index), "ask", "   ")
    assert run.returncode == 2 and "请输入问题" in run.stderr


def test_add_with_metadata_list_remove_and_compact(tmp_path, seed_index):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    page = tmp_path / "A03.txt"
    page.write_bytes((ROOT / "seeds" / "002_ebf6d75d4c563302.txt").read_bytes())
    run = qa("--index", str(index), "add", str(page), "--issue", "2024-08-15", "--date",
             "2024-08-15", "--paper", "中国社会报", "--page", "3", "--number", "第5000期")
    assert run.returncode == 0, run.stderr
    assert "新增 1 个版面" in run.stdout and "新嵌入 0 段" in run.stdout   # known text
    listing = json.loads(qa("--index", str(index), "issues", "--json").stdout)
    issue = next(i for i in listing if i["id"] == "2024-08-15")
    assert issue["date"] == "2024-08-15" and issue["pages"][0] == {
        "id": "2024-08-15.A03", "page": 3, "articles": 4}
    text = qa("--index", str(index), "issues").stdout
    assert "2024-08-15  中国社会报 2024-08-15 第5000期  1 个版面，4 篇文章" in text

    run = qa("--index", str(index), "remove", "2024-08-15", "nope")
    assert run.returncode == 2 and "nope" in run.stderr and "Traceback" not in run.stderr
    run = qa("--index", str(index), "remove", "2024-08-15", "000_31cc67d840a6dd88")
    assert run.returncode == 0, run.stderr
    assert "删除 2 个版面：2024-08-15.A03、000_31cc67d840a6dd88" in run.stdout
    run = qa("--index", str(index), "compact", "--all")      # drops the removed seed page
    assert run.returncode == 0 and "已合并为 seg-" in run.stdout
    assert len(json.loads(qa("--index", str(index), "issues", "--json").stdout)) == 4


def scan_files(folder: Path) -> Path:
    """A folder with a scanned page (PNG), a TIFF of a blank page and a text page."""
    from PIL import Image

    from tests.ingest import scangen
    from tests.web.support import scanned_page

    folder.mkdir()
    (folder / "A03.png").write_bytes(scangen.to_png(scanned_page()))
    (folder / "A04.tif").write_bytes(scangen.to_tiff([Image.new("L", (800, 600), 250)]))
    (folder / "A05.txt").write_bytes((ROOT / "seeds" / "002_ebf6d75d4c563302.txt").read_bytes())
    return folder


def test_ingest_and_add_show_a_progress_bar_over_scanned_pages(tmp_path, seed_index):
    import shutil

    from tests.web.support import SCAN_TITLE

    folder = scan_files(tmp_path / "new")
    run = qa("ingest", str(folder))
    assert run.returncode == 1, run.stderr                  # the blank page is skipped
    assert SCAN_TITLE in {json.loads(line)["title"] for line in run.stdout.splitlines()}
    bar = run.stderr.replace("\r", "\n")
    assert "识别扫描页" in bar and "2/2" in bar and "Traceback" not in bar
    assert f"跳过 {folder / 'A04.tif'}：空白页" in run.stderr
    assert run.stderr.strip().endswith("收录 2 个文件，2 期，5 篇文章；跳过 1 个文件")

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    run = qa("--index", str(index), "add", str(folder / "A03.png"), "--issue", "2024-09-01")
    assert run.returncode == 0, run.stderr
    assert "识别扫描页" in run.stderr and "1/1" in run.stderr
    assert "新增 1 个版面" in run.stdout and "写入 1 篇文章" in run.stdout


def test_issue_number_is_printed_as_given_or_as_di_n_qi():
    assert [number_text(n) for n in ("第5000期", "5000", "第五千", "5000期", None, "")] == [
        "第5000期", "第5000期", "第五千", "5000期", None, None]


def test_bad_date_is_a_one_line_error(tmp_path):
    run = qa("--index", str(tmp_path / "i"), "add", "seeds/", "--date", "2024-02-30")
    assert run.returncode == 2 and "date" in run.stderr and "Traceback" not in run.stderr


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    """Built as the README tells a newcomer, ``--index`` after the command: ``qa build`` with an
    untitled article, then ``qa add``."""
    d = tmp_path_factory.mktemp("small")
    first = write_jsonl(d / "issue1.jsonl", [
        {"id": "a1", "title": "", "source": "大众网",
         "text": "今年以来，社工站持续开展走访。济阳区为每个镇街社工站配备了3名驻站社工。"}])
    second = write_jsonl(d / "issue2.jsonl", [
        {"id": "b1", "title": "天气", "text": "明天白天晴转多云，最高气温二十五摄氏度。"}])
    index = d / "index"
    for args in (("build", str(first)), ("add", str(second))):
        run = qa(*args, "--index", str(index))
        assert run.returncode == 0, run.stderr
    return index


def test_index_is_accepted_after_every_command_and_the_later_one_wins(small_index, tmp_path):
    assert all("--index" in {o for p in cmd.params for o in p.opts}
               for cmd in main.commands.values())
    run = qa("--index", str(tmp_path / "none"), "ask", QUESTION, "--json", "--index",
             str(small_index))
    assert run.returncode == 0, run.stderr
    assert {r["citation"]["article_id"] for r in json.loads(run.stdout)["results"]} == {"a1", "b1"}


def test_piped_answer_marks_the_sentence_and_reads_naturally(small_index):
    run = qa("ask", QUESTION, "-k", "1", "--index", str(small_index))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    head, hit = lines[0], next(line for line in lines if line.startswith("#1"))
    assert head.startswith(QUESTION) and "（1 条结果，用时" in head
    assert "（无标题），据大众网" in hit and "《" not in hit
    answer = next(line for line in lines if line.startswith("   答："))
    assert answer == "   答：【济阳区为每个镇街社工站配备了3名驻站社工。】"
    assert "\x1b[" not in run.stdout


def test_answer_on_a_terminal_is_bold_not_bracketed(small_index):
    leader, follower = pty.openpty()
    with open(leader, "rb", buffering=0) as out:
        proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "ask", QUESTION, "-k", "1",
                                 "--index", str(small_index)], cwd=ROOT, stdout=follower,
                                stderr=subprocess.DEVNULL)
        os.close(follower)
        text = b""
        while True:
            try:
                data = out.read(4096)
            except OSError:                       # EIO: the child closed the terminal
                break
            if not data:
                break
            text += data
        assert proc.wait(timeout=300) == 0
    text = text.decode()
    answer = next(line for line in text.splitlines() if "答：" in line)
    assert answer.startswith("   答：\x1b[1m")                   # bold, the short answer underlined
    assert re.sub(r"\x1b\[[0-9;]*m", "", answer) == "   答：济阳区为每个镇街社工站配备了3名驻站社工。"
    assert "【" not in text


def test_cli_speaks_chinese_in_every_help_text():
    """One rule (qa/cli.py): what qa says to a person is Chinese, help included."""
    texts = {"qa": main.help}
    for name, cmd in [("qa", main), *main.commands.items()]:
        texts[name] = cmd.help
        texts.update({f"{name} {p.opts[0]}": p.help for p in cmd.params
                      if isinstance(p, click.Option)})
    english = [k for k, v in texts.items() if not v or not CJK.search(v)]
    assert not english, english


def test_eval_on_a_folder_without_questions_is_one_clear_line(tmp_path):
    run = qa("eval", str(tmp_path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == f"错误：找不到问题文件 {tmp_path / 'questions.jsonl'}"


def test_eval_refuses_a_question_without_answers_naming_its_line(tmp_path, small_index):
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "1", "q": QUESTION, "answers": ["3名"]},
        {"id": "2", "q": "明天最高气温多少度？"}])
    run = qa("eval", str(questions), "--index", str(small_index))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{questions} 第 2 行没有答案" in run.stderr


def test_eval_scores_with_index_after_the_command(tmp_path, small_index):
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "1", "q": QUESTION, "answers": ["3名驻站社工"], "source": "大众网"},
        {"id": "2", "q": "明天最高气温多少度？", "answers": ["二十五摄氏度"]}])
    run = qa("eval", str(questions), "-k", "1", "--index", str(small_index))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{questions}：问题数 2  hit@1 1.000"), run.stdout


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
    assert "新嵌入 0 段；共 5 期、5 个版面、19 篇文章、143 段" in run.stdout
    run = qa("--index", str(index), "ask", "济阳区配备了多少名驻站社工？", "-k", "1", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert "驻站社工26人" in json.loads(run.stdout)["results"][0]["text"]
    page = tmp_path / "A03.txt"
    page.write_bytes((ROOT / "seeds" / "002_ebf6d75d4c563302.txt").read_bytes())
    run = qa("--index", str(index), "add", str(page), "--issue", "2024-08-15", "--date",
             "2024-08-15", env=env)
    assert run.returncode == 0 and "其中新嵌入 0 段" in run.stdout, run.stderr
    run = qa("--index", str(index), "remove", "000_31cc67d840a6dd88", env=env)
    assert run.returncode == 0 and "共 5 期" in run.stdout, run.stderr
    run = qa("--index", str(index), "compact", env=env)
    assert run.returncode == 0 and "qa_s000001_chunks" in run.stdout, run.stderr
    run = qa("--index", str(index), "migrate", "--to", "embedded", env=env)
    assert run.returncode == 0 and "新嵌入 0 段" in run.stdout, run.stderr
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
    assert run.stderr.startswith("错误：无法使用 Milvus") and len(run.stderr.splitlines()) == 1


@pytest.mark.parametrize("setting, says", [({"QA_BACKEND": "elastic"}, "QA_BACKEND"),
                                           ({"QA_BACKEND": "milvus",
                                             "QA_MILVUS_PREFIX": "9-bad"}, "QA_MILVUS_PREFIX")])
def test_a_setting_the_service_cannot_run_with_is_named_not_a_traceback(tmp_path, setting, says):
    run = qa("--index", str(tmp_path / "index"), "issues", env={**os.environ, **setting})
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert run.stderr.startswith("错误：") and says in run.stderr
