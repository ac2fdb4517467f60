"""SearchService over the real seed index: answers, passages, citations, bad input."""

import pytest

from qa.errors import BadQuestion, BadRequest, IndexNotFound, NotFound
from qa.search.service import SearchService, answer_dict


@pytest.fixture(scope="module")
def service(seed_archive, encoder):
    return SearchService(seed_archive.settings(), encoder)


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
    spans = [(h.citation.article_id, h.citation.start, h.citation.end) for h in hits]
    assert len(set(spans)) == len(spans)


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
    assert set(d) == {"question", "results", "took_ms"}
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


def test_question_of_only_punctuation_or_unknown_words_still_answers_without_error(service):
    assert service.ask("？？？！", 3).results is not None
    assert len(service.ask("zzzzqqq", 3).results) == 3     # dense always has neighbours


def test_unknown_article_and_missing_index(service, seed_archive, tmp_path):
    with pytest.raises(NotFound):
        service.article("nope")
    empty = SearchService(seed_archive.elsewhere(tmp_path).settings(), service.encoder)
    with pytest.raises(IndexNotFound):
        empty.ask("济阳区社工站")
    assert empty.health()["status"] == "unavailable"
