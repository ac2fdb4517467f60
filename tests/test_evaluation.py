"""qa eval's scoring on tiny fixtures: both question formats, against the real seed index and a
three-passage bench set."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from qa.config import Settings
from qa.errors import BadQuestionSet
from qa.evaluation import bench_index, bench_settings, evaluate, read_questions, table
from qa.index.store import IndexStore
from qa.search.service import SearchService


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_seed_format_hits_misses_and_outlet(seed_index, encoder, tmp_path):
    qfile = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "q": "济阳区配备了多少名驻站社工？", "answers": ["26人"], "source": "大众网"},
        {"id": "b", "q": "济阳区配备了多少名驻站社工？", "answers": ["不存在的答案"], "source": "人民网"},
    ])
    service = SearchService(replace(Settings.from_env(), index_dir=seed_index), encoder)
    report = evaluate(service, read_questions(qfile), 3, "tiny")
    f = report.figures()
    assert f["questions"] == 2 and f["hit@1"] == 0.5 and f["hit@3"] == 0.5
    assert f["MRR@3"] == 0.5 and f["outlet@1"] == 0.5
    assert [m["id"] for m in report.misses] == ["b"]
    assert "hit@1 0.500" in report.text() and "未命中 b：" in report.text()


def test_bench_format_builds_from_its_passages_and_counts_gold_ids(encoder, tmp_path):
    bench = tmp_path / "tinybench"
    bench.mkdir()
    passages = write_jsonl(bench / "passages.jsonl", [
        {"id": "p1", "title": "长城", "text": "长城是中国古代的军事防御工程，明长城全长8851.8公里。"},
        {"id": "p2", "title": "网球", "text": "网球比赛中，每一局比赛结束之后交换发球权。"},
        {"id": "p3", "title": "天坛", "text": "圜丘坛是皇帝举行祭天大礼的地方，始建于嘉靖九年。"},
    ])
    qfile = write_jsonl(bench / "questions.jsonl", [
        {"id": "q1", "question": "明长城全长多少公里？", "answers": ["8851.8公里"],
         "gold_passage_ids": ["p1"]},
        {"id": "q2", "question": "圜丘坛始建于哪一年？", "answers": ["嘉靖九年"],
         "gold_passage_ids": ["p3"]},
    ])
    base = replace(Settings.from_env(), cache_dir=tmp_path / "cache")
    settings = bench_index(base, passages, encoder)
    assert settings == bench_settings(base, passages)
    assert settings.index_dir.parent == tmp_path / "cache" / "eval"
    built = IndexStore(settings.index_dir).current_name()
    assert bench_index(base, passages, encoder) == settings                  # cached: not rebuilt
    assert IndexStore(settings.index_dir).current_name() == built
    report = evaluate(SearchService(settings, encoder), read_questions(qfile), 2, "tinybench")
    f = report.figures()
    assert f["hit@1"] == 1.0 and f["R@1"] == 1.0 and f["R@2"] == 1.0


def test_bench_index_is_cached_per_model_engine_and_chunking(tmp_path):
    passages = write_jsonl(tmp_path / "passages.jsonl", [{"id": "p", "title": "t", "text": "x"}])
    base = replace(Settings.from_env(), cache_dir=tmp_path)
    same = bench_settings(base, passages).index_dir
    assert bench_settings(base, passages).index_dir == same
    for change in ({"chunk_chars": 300}, {"encoder_backend": "torch"}, {"model": "other"}):
        assert bench_settings(replace(base, **change), passages).index_dir != same


@pytest.mark.parametrize("row", [{"q": "问题", "answers": ["答"]},
                                 {"question": "问题", "answers": ["答"], "gold_passage_ids": [1]}])
def test_read_questions_accepts_both_formats(tmp_path, row):
    (q,) = read_questions(write_jsonl(tmp_path / "q.jsonl", [row]))
    assert q.text == "问题" and q.answers == ["答"]


def test_sentence_found_redundancy_and_unanswerable_questions(seed_index, encoder, tmp_path):
    qfile = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "q": "济阳区配备了多少名驻站社工？", "answers": ["26人"], "source": "大众网"},
        {"id": "b", "q": "嘉定区现在一共有几个精神健康社工站？", "answers": ["六个精神健康社工站"]},
        {"id": "u", "q": "2022年世界杯冠军是哪支球队？", "answerable": False},
        {"id": "v", "q": "李白是哪个朝代的诗人？", "answerable": False},
    ])
    questions = read_questions(qfile)
    assert [q.answerable for q in questions] == [True, True, False, False]
    service = SearchService(replace(Settings.from_env(), index_dir=seed_index), encoder)
    f = evaluate(service, questions, 5, "mixed").figures()
    assert f["questions"] == 4 and f["hit@1"] == 1.0 and f["sentence@1"] == 1.0
    assert f["found"] == 1.0 and f["not-found"] == 1.0 and f["redundant"] == 0
    assert "| mixed | 4 | 1.000 |" in table([evaluate(service, questions, 5, "mixed")])


def test_bench_questions_can_be_asked_as_unanswerable(tmp_path):
    row = {"question": "问题", "answers": ["答"], "gold_passage_ids": [1]}
    (q,) = read_questions(write_jsonl(tmp_path / "q.jsonl", [row]), unanswerable=True)
    assert not q.answerable and q.answers == [] and q.gold == []


@pytest.mark.parametrize("line", ["# a readme", "[1, 2]", '{"answers": []}'])
def test_a_file_that_is_not_questions_is_a_clear_error(tmp_path, line):
    path = tmp_path / "README.md"
    path.write_text(line + "\n", "utf-8")
    with pytest.raises(BadQuestionSet) as e:
        read_questions(path)
    assert "第 1 行" in e.value.message


@pytest.mark.parametrize("line, says", [
    ('{"q": "问题"}', "第 2 行没有答案"),
    ('{"q": "问题", "answers": []}', "第 2 行没有答案"),
    ('{"q": "问题", "answers": "答"}', "第 2 行没有答案"),
    ('{"q": "问题", "answers": [""]}', "第 2 行没有答案"),
    ('{"answers": ["答"]}', "第 2 行没有问题"),
    ('{"q": "问题", "answers": ["答"]', "第 2 行不是合法的 JSON"),
    ('["问题", "答"]', "第 2 行不是 JSON 对象"),
])
def test_a_line_that_cannot_be_scored_is_refused_with_its_number(tmp_path, line, says):
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "好问题", "answers": ["答"]}\n' + line + "\n", "utf-8")
    with pytest.raises(BadQuestionSet) as e:
        read_questions(path)
    assert e.value.message.startswith(f"{path} {says}")


def test_a_missing_or_empty_question_file_is_refused(tmp_path):
    with pytest.raises(BadQuestionSet, match="找不到问题文件"):
        read_questions(tmp_path / "questions.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", "utf-8")
    with pytest.raises(BadQuestionSet, match="里没有问题"):
        read_questions(tmp_path / "empty.jsonl")
