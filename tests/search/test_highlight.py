from qa.index.lexical import tokenize
from qa.search.highlight import highlight, terms

TEXT = ("济阳区于2020年建成区级社工总站。各街镇社工分站累计开展服务活动1300余场，"
        "为7.7万余人提供了专业服务。今年还将继续扩大覆盖面。")


def test_terms_drop_question_words_and_prefer_long_ones():
    t = terms("济阳区社工站为多少人提供了专业服务？", tokenize)
    assert "多少" not in t
    assert t == sorted(t, key=len, reverse=True)
    assert "专业服务" in t or "专业" in t


def test_highlight_picks_the_answering_sentence_and_marks_terms():
    h = highlight(TEXT, "济阳区社工站为多少人提供了专业服务？", tokenize)
    s, e = h.sentence
    assert "7.7万余人" in TEXT[s:e]
    marked = {TEXT[a:b] for a, b in h.terms}
    assert marked and all(m in TEXT for m in marked)
    assert all(a < b for a, b in h.terms)
    assert [a for a, _ in h.terms] == sorted(a for a, _ in h.terms)


def test_highlight_spans_never_overlap():
    h = highlight("社工站社工站社工", "社工站 社工", tokenize)
    flat = sorted(h.terms)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(flat, flat[1:]))


def test_highlight_without_matches_still_returns_a_sentence():
    h = highlight(TEXT, "钢琴", tokenize)
    assert h.terms == [] and h.sentence[0] < h.sentence[1]
