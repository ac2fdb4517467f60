"""SearchService over the real seed index: answers, passages, citations, bad input."""

import pytest

from qa.errors import BadQuestion, BadRequest, IndexNotFound, NotFound
from qa.search.answer import Scoring
from qa.search.filters import parse_where
from qa.search.messages import bad_k
from qa.search.service import SearchService, answer_dict, passage_sentences


@pytest.fixture(scope="module")
def service(seed_archive, encoder):
    """Retrieval's own answers (the hand-made span, order and confidence): the reader, which
    replaces them, is tested in test_reading.py and through the API and the browser."""
    return SearchService(seed_archive.settings(reader=False), encoder)


def test_answers_a_seed_question_with_its_citation(service):
    answer = service.ask("济阳区配备了多少名驻站社工？", 3)
    top = answer.results[0]
    assert "驻站社工26人" in top.text
    assert top.citation.source == "大众网" and "济阳" in top.citation.title
    assert answer.took_ms >= 0 and [h.rank for h in answer.results] == [1, 2, 3]


def test_passage_is_the_cited_span_of_its_article_and_highlight_points_into_it(service):
    for hit in service.ask("临泉县拿到社工资格证书的有多少人？", 5).results:
        c = hit.citation
        assert service.article(c.article_id).text[c.start:c.end] == hit.text
        s, e = hit.highlight.sentence
        assert 0 <= s < e <= len(hit.text)
        assert all(0 <= a < b <= len(hit.text) for a, b in hit.highlight.terms)


def test_passages_are_paragraph_sized_and_do_not_repeat(service):
    hits = service.ask("社工站开展了哪些服务？", 10).results
    s = service.settings
    assert all(len(h.text) <= max(s.paragraph_max_chars, s.passage_min_chars) + 300 for h in hits)
    # one result per article; the article's further hits are listed, not shown again
    articles = [h.citation.article_id for h in hits]
    assert len(set(articles)) == len(articles)
    assert any(h.more_in_article for h in hits)
    for h in hits:
        a = service.article(h.citation.article_id)
        for start, end in h.more_in_article:
            assert 0 <= start < end <= len(a.text)
            overlap = min(end, h.citation.end) - max(start, h.citation.start)
            assert overlap <= 0.3 * min(end - start, h.citation.end - h.citation.start)


def test_answering_sentence_and_answer_span(service):
    top = service.ask("嘉定区现在一共有几个精神健康社工站？", 3).results[0]
    s, e = top.highlight.sentence
    assert "六个" in top.text[s:e]
    a, b = top.highlight.answer
    assert top.text[a:b] == "六个"
    top = service.ask("济阳区配备了多少名驻站社工？", 1).results[0]
    a, b = top.highlight.answer
    assert top.text[a:b] == "26人"


@pytest.mark.parametrize("question", ["济阳区配备了多少名驻站社工？", "临泉县拿到社工资格证书的有多少人？",
                                      "社工站开展了哪些服务？", "凤阳县打造了多少个品牌服务项目？"])
def test_the_highlight_is_whole_sentences_around_the_answer(service, question):
    limit, reach = Scoring().window_chars, Scoring().reach
    for hit in service.ask(question, 5).results:
        c = hit.citation
        sentences = passage_sentences(service.article(c.article_id).text, c.start, c.end)
        s, e = hit.highlight.sentence
        inside = [sp for sp in sentences if s <= sp[0] and sp[1] <= e]
        # whole sentences, never cut: the best one, or it and up to ``reach`` more within the cap
        assert inside and inside[0][0] == s and inside[-1][1] == e
        assert len(inside) == 1 or (len(inside) <= reach + 1 and e - s <= limit)
        if hit.highlight.answer:
            a, b = hit.highlight.answer
            assert s <= a < b <= e


def test_found_and_confidence(service):
    answered = service.ask("凤阳县打造了多少个品牌服务项目？", 3)
    assert answered.found
    assert answered.results[0].confidence >= service.settings.found_confidence
    assert all(0.0 <= h.confidence <= 1.0 for h in answered.results)
    for off_topic in ("红烧肉怎么做才好吃？", "李白是哪个朝代的诗人？"):
        answer = service.ask(off_topic, 3)
        assert not answer.found and answer.results     # the closest passages still come back


def test_a_traditional_question_is_answered_as_its_simplified_form(service):
    typed = service.ask("濟陽區配備了多少名駐站社工？", 3)
    plain = service.ask("济阳区配备了多少名驻站社工？", 3)
    assert typed.question == "濟陽區配備了多少名駐站社工？"      # shown as typed
    assert [h.citation for h in typed.results] == [h.citation for h in plain.results]
    top = typed.results[0]
    assert top.text[top.highlight.answer[0]:top.highlight.answer[1]] == "26人"
    assert typed.found and top.confidence == plain.results[0].confidence


def test_an_outlet_filter_applies_inside_retrieval(service):
    """Filtered before the top-k cut: 贵州日报's article answers even though, unfiltered,
    济阳's passages fill the whole top k for this question."""
    q = "济阳区配备了多少名驻站社工？"
    unfiltered = service.ask(q, 2).results
    assert unfiltered[0].citation.source == "大众网"
    shown = {h.citation.source for h in unfiltered}
    other = next(s for s in ("贵州日报", "包头新闻网", "新华社客户端", "人民网") if s not in shown)
    hits = service.ask(q, 2, where=parse_where(source=other)).results
    assert hits and all(h.citation.source == other for h in hits)
    both = service.ask(q, 10, where=parse_where(source=[other, "大众网"])).results
    assert {h.citation.source for h in both} == {other, "大众网"}
    # The seeds carry no dates: a date filter leaves nothing, and nothing is found.
    dated = service.ask(q, 3, where=parse_where(date_from="2024-01-01"))
    assert dated.results == [] and not dated.found


@pytest.mark.parametrize("kwargs, param", [({"date_from": "2024-13-01"}, "date_from"),
                                           ({"date_to": "昨天"}, "date_to"),
                                           ({"source": 5}, "source"),
                                           ({"date_from": "2024-02-01",
                                             "date_to": "2024-01-01"}, "date_from")])
def test_bad_filters_name_their_parameter(kwargs, param):
    with pytest.raises(BadRequest) as e:
        parse_where(**kwargs)
    assert param in e.value.message


def test_sort_must_be_known(service):
    with pytest.raises(BadRequest) as e:
        service.ask("济阳区社工站", 3, sort="newest")
    assert "sort" in e.value.message


def test_scores_are_ordered_and_per_path_scores_reported(service):
    hits = service.ask("健康企业建设", 5).results
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(set(h.scores) == {"dense", "lexical"} for h in hits)
    assert any(h.scores["dense"] is not None for h in hits)


def test_quantity_question_prefers_the_passage_stating_the_number(service):
    top = service.ask("河南社工千站暖万家行动组织了多少家社工站参与？", 1).results[0]
    assert "千余家社工站" in top.text


def test_answer_dict_is_the_json_shape(service):
    d = answer_dict(service.ask("凤阳县打造了多少个品牌服务项目？", 2))
    assert set(d) == {"question", "results", "took_ms", "found"}
    assert set(d["results"][0]["citation"]) == {"issue", "article_id", "title", "source",
                                                 "start", "end", "page_id", "paper", "date",
                                                 "page"}


@pytest.mark.parametrize("question", ["", "   \n\t", None, 42, "问" * 501])
def test_bad_questions_are_refused_clearly(service, question):
    with pytest.raises(BadQuestion) as e:
        service.ask(question)
    assert e.value.status == 400 and e.value.message


@pytest.mark.parametrize("k", [0, -1, 10**9, "5", 2.5, True])
def test_bad_k_is_refused(service, k):
    with pytest.raises(BadRequest):
        service.ask("济阳区社工站", k)


@pytest.mark.parametrize("k", [0, 10**9, "5", True])
def test_check_k_is_the_one_rule_and_names_the_parameter(service, k):
    assert service.check_k(None) == service.settings.default_k
    assert service.check_k(service.settings.max_k, "top_k") == service.settings.max_k
    with pytest.raises(BadRequest) as e:
        service.check_k(k, "top_k")
    assert e.value.message == bad_k(service.settings.max_k, "top_k")


@pytest.mark.parametrize("question", ["？？？！", "zzzzqqq"])
def test_question_of_only_punctuation_or_unknown_words_still_answers_without_error(service,
                                                                                   question):
    hits = service.ask(question, 3).results
    # BM25 has no term to match; dense always has neighbours, so the answer is dense alone
    assert len(hits) == 3
    assert all(h.scores["lexical"] is None and h.scores["dense"] is not None for h in hits)


def test_unknown_article_and_missing_index(service, seed_archive, tmp_path):
    with pytest.raises(NotFound):
        service.article("nope")
    empty = SearchService(seed_archive.elsewhere(tmp_path).settings(), service.encoder)
    with pytest.raises(IndexNotFound):
        empty.ask("济阳区社工站")
    assert empty.health()["status"] == "unavailable"


def test_warm_loads_what_a_first_question_would_wait_for(seed_index):
    # A fresh interpreter: in this one the tables are loaded already by earlier tests.
    code = """
import sys
from pathlib import Path
import jieba
from qa.config import Settings
from qa.search import confidence
from qa.search.service import SearchService
svc = SearchService(Settings.from_env(index_dir=Path(sys.argv[1])))
assert "jieba.posseg" not in sys.modules and not jieba.dt.initialized
svc.warm()
assert svc.loaded_encoder is not None and svc._snapshot is not None
assert "jieba.posseg" in sys.modules and jieba.dt.initialized
assert confidence._dictionary_names.cache_info().currsize == 1
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code, str(seed_index)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
