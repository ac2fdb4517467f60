import pytest

from qa.chunking import split_sentences
from qa.index.lexical import tokenize
from qa.search.answer import pick, question_type, typed_spans

# Written for these tests in the seeds' style; the answer sentence shares fewer words with the
# questions than its neighbours do.
TEXT = ("嘉定区精神健康社工站建设工作于去年启动，嘉定区卫生健康委、区民政局等单位参与。"
        "第二批四个社区精神健康社工站在主会场正式揭牌。"
        "据悉，嘉定区现共有六个精神健康社工站，覆盖50%的辖区街镇。"
        "2023年9月20日，服务地图在江桥镇发布，由区精神卫生中心主任王立新介绍情况。")


def answer_of(question):
    idf = {t: 1.0 for t in tokenize(TEXT)}
    p = pick(question, TEXT, split_sentences(TEXT), idf, tokenize)
    s, e = p.sentence
    return TEXT[s:e], (TEXT[p.answer[0]:p.answer[1]] if p.answer else None), p


@pytest.mark.parametrize("question, kind, unit", [
    ("济阳区配备了多少名驻站社工？", "count", "名"), ("一共有几个站？", "count", "个"),
    ("覆盖率是多少？", "ratio", None), ("服务地图何时发布？", "time", None),
    ("服务地图在哪里发布？", "place", None), ("谁介绍了情况？", "person", None),
    ("社工站有什么作用？", None, None), ("投入了多少资金？", "count", None)])
def test_question_types(question, kind, unit):
    t = question_type(question)
    assert (t.kind, t.unit) == (kind, unit)


def test_typed_spans_find_the_asked_kind():
    text = "截至2023年底，已建成1.9万家，覆盖率72.45%，共26人。"
    assert [text[a:b] for a, b in typed_spans(text, question_type("覆盖率是多少？"))] == ["72.45%"]
    assert "2023年" in [text[a:b] for a, b in typed_spans(text, question_type("哪一年建成？"))]
    assert [text[a:b] for a, b in typed_spans(text, question_type("有多少人？"))] == ["26人"]


def test_the_sentence_stating_the_asked_quantity_beats_the_one_repeating_the_question():
    sentence, span, p = answer_of("嘉定区现在一共有几个精神健康社工站？")
    assert "六个" in sentence and span == "六个" and p.typed


def test_a_number_the_question_already_states_is_not_the_answer():
    sentence, span, _ = answer_of("继第二批四个之后，嘉定区现在共有几个精神健康社工站？")
    assert span == "六个"


def test_ratio_date_and_person_answers():
    assert answer_of("嘉定精神健康社工站覆盖了多大比例的街镇？覆盖率是多少？")[1] == "50%"
    assert answer_of("服务地图是什么时候发布的？")[1].startswith("2023年9月20日")
    sentence, span, _ = answer_of("谁介绍了服务地图的情况？")
    assert "王立新" in sentence


def test_evidence_is_a_share_and_unknown_words_do_not_break_it():
    _, _, p = answer_of("钢琴比赛的冠军是谁？")
    assert 0.0 <= p.evidence <= 1.0
    text = "只有一句话"
    q = pick("什么", text, [], {}, tokenize)
    assert q.sentence == (0, len(text)) and q.answer is None
