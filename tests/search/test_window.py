from qa.chunking import split_sentences
from qa.search.window import widen

TEXT = "第一句话。第二句话比较长一些。第三句。第四句话在这里。第五句。"
SENTS = split_sentences(TEXT)


def span_of(sentence: str) -> tuple[int, int]:
    i = TEXT.index(sentence)
    return i, i + len(sentence)


def test_no_budget_keeps_the_span():
    assert widen(SENTS, *span_of("第三句。"), 0) == span_of("第三句。")


def test_widens_by_whole_sentences_after_then_before():
    s, e = widen(SENTS, *span_of("第三句。"), 5)
    assert TEXT[s:e] == "第三句。第四句话在这里。"          # the next sentence used the budget up
    s, e = widen(SENTS, *span_of("第三句。"), 9)
    assert TEXT[s:e] == "第二句话比较长一些。第三句。第四句话在这里。"


def test_stops_at_the_article_edges():
    assert widen(SENTS, *span_of("第五句。"), 1000) == (0, len(TEXT))
    assert widen([], 3, 5, 100) == (3, 5)


def test_result_always_contains_the_chunk():
    for sentence in ("第一句话。", "第四句话在这里。"):
        a, b = span_of(sentence)
        s, e = widen(SENTS, a, b, 8)
        assert s <= a and b <= e
