import numpy as np
import pytest

from qa.errors import IndexCorrupt
from qa.index.lexical import BM25Index, Tokenizer, get_tokenizer, tokenize, userdict_terms

DOCS = {
    11: "济阳区社工站为7.7万余人提供了专业服务，累计开展服务活动1300余场。",
    22: "凤阳县探索建立“慈善+社工+志愿者”联动服务模式，打造了5个品牌服务项目。",
    33: "全国已建成健康企业近1.9万家，和2022年相比增加了38.5%。",
    44: "贵州有1583名志愿者驻站开展服务，推动五社联动。",
}


def build(docs=DOCS):
    return BM25Index.build(list(docs), list(docs.values()))


def test_tokenize_drops_punctuation_and_question_words_keeps_numbers():
    tokens = tokenize("全国已建成健康企业近 1.9万家，增加了 38.5%！有多少家？")
    assert "1.9" in tokens and "38.5%" in tokens
    assert not {"，", "！", "？", " ", "多少"} & set(tokens)
    assert "企业" in tokens


def test_tokenize_lowercases_latin():
    assert {"ai", "gdp"} <= set(tokenize("AI 助力 GDP 增长"))


def test_userdict_keeps_domain_terms_whole_and_pieces_too():
    assert "社工站" in userdict_terms()
    tokens = tokenize("驻站社工在社工站服务")
    assert {"社工站", "驻站社工", "社工"} <= set(tokens)
    plain = Tokenizer(())("驻站社工在社工站服务")
    assert "社工站" not in plain


def test_userdict_stays_private():
    import jieba

    tokenize("社工站")
    assert "社工站" not in jieba.lcut("社工站")


def test_search_finds_the_right_document():
    index = build()
    assert len(index) == 4
    scores, ids = index.search("济阳区社工站为多少人提供了服务？", 3)
    assert ids[0] == 11
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert list(scores) == sorted(scores, reverse=True)
    assert build().search("健康企业增加了百分之多少", 2)[1][0] == 33
    assert build().search("贵州志愿者", 1)[1].tolist() == [44]


def test_only_matching_documents_and_k_larger_than_corpus():
    scores, ids = build().search("凤阳县", 50)
    assert ids.tolist() == [22] and (scores > 0).all()
    assert sorted(build().search("服务 健康", 50)[1].tolist()) == [11, 22, 33, 44]


@pytest.mark.parametrize("query", ["", "？？！", "什么", "量子引力"])
def test_query_without_known_tokens_is_empty(query):
    scores, ids = build().search(query, 5)
    assert scores.shape == (0,) and ids.shape == (0,)


def test_empty_index(tmp_path):
    index = BM25Index.build([], [])
    assert len(index) == 0 and len(index.search("服务", 3)[1]) == 0
    index.save(tmp_path)
    assert len(BM25Index.load(tmp_path)) == 0


def test_save_load_round_trip(tmp_path):
    index = build()
    index.save(tmp_path / "lexical")
    loaded = BM25Index.load(tmp_path / "lexical")
    assert len(loaded) == len(index)
    assert loaded.tokenizer is get_tokenizer()       # shared, not a second jieba dictionary
    for query in ("社工站服务了多少人", "志愿者", "38.5%"):
        a, b = index.search(query, 4), loaded.search(query, 4)
        assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0])


def test_add_after_load_matches_a_full_build(tmp_path):
    first = dict(list(DOCS.items())[:2])
    rest = dict(list(DOCS.items())[2:])
    build(first).save(tmp_path)
    grown = BM25Index.load(tmp_path)
    grown.add(list(rest), list(rest.values()))
    full = build()
    for query in ("社工站服务了多少人", "志愿者驻站", "健康企业"):
        a, b = grown.search(query, 4), full.search(query, 4)
        assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0])
    with pytest.raises(ValueError):
        grown.add([11], ["重复的编号"])


def test_load_missing_or_broken_is_corrupt(tmp_path):
    with pytest.raises(IndexCorrupt):
        BM25Index.load(tmp_path / "nowhere")
    build().save(tmp_path)
    (tmp_path / "lexical.json").write_text("{", "utf-8")
    with pytest.raises(IndexCorrupt):
        BM25Index.load(tmp_path)


def test_coverage_is_idf_weighted_share_of_query_terms():
    index = build()
    # Every term of this query is in doc 11: full coverage.
    assert index.coverage("济阳区社工站", 11) == pytest.approx(1.0)
    # Only part of it is in doc 44, and none in doc 33.
    partial = index.coverage("济阳区社工站 志愿者", 44)
    assert 0.0 < partial < 1.0
    assert index.coverage("济阳区社工站", 33) == 0.0


def test_coverage_counts_terms_unknown_to_the_corpus_against_the_document():
    index = build()
    assert index.coverage("健康企业 钢琴演奏", 33) < index.coverage("健康企业", 33)


def test_coverage_of_unknown_document_or_empty_query_is_zero():
    index = build()
    assert index.coverage("健康企业", 999) == 0.0
    assert index.coverage("？！", 33) == 0.0


def test_coverage_follows_documents_added_after_it_was_first_asked():
    index = build()
    assert index.coverage("珊瑚礁", 55) == 0.0                     # no such document yet
    index.add([55], ["珊瑚礁修复实验站建成投用。"])
    assert index.coverage("珊瑚礁", 55) == pytest.approx(1.0)
