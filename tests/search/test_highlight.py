from qa.search.highlight import term_spans
from qa.search.understand import understand

TEXT = ("济阳区于2020年建成区级社工总站。各街镇社工分站累计开展服务活动1300余场，"
        "为7.7万余人提供了专业服务。今年还将继续扩大覆盖面。")
QUESTION = "济阳区社工站为多少人提供了专业服务？"
TERMS = understand(QUESTION).terms


def test_terms_are_question_words_in_text_order_and_never_overlap():
    spans = term_spans(TEXT, TERMS)
    marked = [TEXT[a:b] for a, b in spans]
    assert "济阳" in marked and "服务" in marked and "多少" not in marked
    assert spans == sorted(spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))


def test_longer_words_win_and_spans_stay_inside_the_sentence():
    text = "社工站社工站社工"
    assert [text[a:b] for a, b in term_spans(text, understand("社工站 社工").terms)] \
        == ["社工站", "社工站", "社工"]
    s = TEXT.index("各街镇")
    e = TEXT.index("。", s) + 1
    inside = term_spans(TEXT, TERMS, within=(s, e))
    assert inside and all(s <= a < b <= e for a, b in inside)
    assert "济阳" not in {TEXT[a:b] for a, b in inside}     # it is only in the first sentence


def test_no_matches():
    assert term_spans(TEXT, understand("钢琴").terms) == []
