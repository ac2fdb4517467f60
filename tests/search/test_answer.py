import pytest

from qa.chunking import split_sentences
from qa.index.lexical import tokenize
from qa.search.answer import (Scoring, pick, question_terms, question_type, restates, typed_spans,
                             window)
from qa.search.understand import understand

# Written for these tests in the seeds' style; the answer sentence shares fewer words with the
# questions than its neighbours do.
TEXT = ("嘉定区精神健康社工站建设工作于去年启动，嘉定区卫生健康委、区民政局等单位参与。"
        "第二批四个社区精神健康社工站在主会场正式揭牌。"
        "据悉，嘉定区现共有六个精神健康社工站，覆盖50%的辖区街镇。"
        "2023年9月20日，服务地图在江桥镇发布，由区精神卫生中心主任王立新介绍情况。")


def answer_of(question):
    idf = {t: 1.0 for t in tokenize(TEXT)}
    p = pick(understand(question), TEXT, split_sentences(TEXT), idf)
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
    q = pick(understand("什么"), text, [], {})
    assert q.sentence == (0, len(text)) and q.answer is None


# Written for these tests: the article's subject is named in the first sentence, what is asked
# about it only in a later one.
PROFILE = ("王立新，山东济南人，王立新现任区精神卫生中心主任。"
           "他主持编写了社区心理服务工作手册。"
           "此外，他多次获评全省优秀社会工作者称号。")


def picked(question, title=None, dense=None, text=PROFILE):
    """The best sentence (before any widening of the highlight)."""
    idf = {t: 1.0 for t in tokenize(text + question)}
    p = pick(understand(question), text, split_sentences(text), idf, dense, title=title)
    return text[p.best[0]:p.best[1]]


def test_words_of_the_title_name_the_subject_not_the_answer():
    text = ("王立新，山东济南人，现任济南市济阳区精神卫生中心主任，济阳区心理服务协会会长。"
            "他主持编写了社区心理服务工作手册。后获评全省优秀社工。")
    assert picked("王立新获评过什么荣誉？", "王立新", text=text) == "后获评全省优秀社工。"
    # the title is what decides it: without it the sentence naming the subject wins
    assert "主任" in picked("王立新获评过什么荣誉？", None, text=text)


def test_chunk_cosines_break_a_lexical_tie():
    question = "王立新做过哪些工作？"
    near = picked(question, title="王立新", dense=[0.80, 0.90, None])
    assert "手册" in near
    assert "手册" not in picked(question, title="王立新", dense=[0.90, 0.80, None])


def test_spoken_framing_is_not_evidence():
    _, _, plain = answer_of("嘉定区现在一共有几个精神健康社工站？")
    _, _, spoken = answer_of("请问嘉定区现在一共有几个精神健康社工站来着？")
    assert spoken.sentence == plain.sentence and spoken.evidence == plain.evidence


# Written for these tests: a subject named in one sentence and taken up by 他 in the next.
RECORD = ("比赛中，老将培顿·曼宁带领野马队再次进入决赛。"
          "他也以三十九岁的年龄成为参赛最年长的四分卫。"
          "球队随后举行了庆祝活动，球迷在市中心游行。")


def highlighted(question, text=RECORD, scoring=Scoring()):
    idf = {t: 1.0 for t in tokenize(text + question)}
    p = pick(understand(question), text, split_sentences(text), idf, scoring=scoring)
    return text[p.sentence[0]:p.sentence[1]], text[p.best[0]:p.best[1]], p


def test_a_sentence_referring_back_is_highlighted_with_its_antecedent():
    shown, best, p = highlighted("成为参赛最年长四分卫的是谁？")
    assert best.startswith("他也以")
    # 他 alone does not say who: the sentence naming him is highlighted with it
    assert shown == RECORD[:RECORD.index("球队")] and "培顿·曼宁" in shown
    assert p.evidence > 0 and p.sentence[0] < p.best[0] and p.sentence[1] == p.best[1]


def test_the_next_sentence_joins_when_it_goes_on_about_the_best_one():
    shown, best, _ = highlighted("培顿·曼宁带领哪支球队进入决赛？")
    assert best.startswith("比赛中") and shown == RECORD[:RECORD.index("球队")]


def test_a_self_contained_sure_sentence_is_highlighted_alone():
    # the widening by doubt is off; the third sentence neither refers back nor is referred to
    shown, best, _ = highlighted("球迷在哪里游行？", scoring=Scoring(window=0.0))
    assert shown == best == "球队随后举行了庆祝活动，球迷在市中心游行。"


def test_doubt_between_neighbours_widens_and_the_cap_undoes_it():
    text = "社工站去年开展入户走访。站点今年新增了三名社工。服务对象的满意度明显提高。"
    question = "社工站的情况怎么样？"
    idf = {t: 1.0 for t in tokenize(text + question)}
    sentences = split_sentences(text)
    sure = pick(understand(question), text, sentences, idf, scoring=Scoring(window=0.0))
    unsure = pick(understand(question), text, sentences, idf, scoring=Scoring(window=0.99))
    assert sure.sentence == sure.best and unsure.best == sure.best
    assert unsure.sentence != unsure.best            # one neighbour joined
    s, e = unsure.sentence
    joined = [sp for sp in sentences if s <= sp[0] and sp[1] <= e]
    assert len(joined) == 2 and unsure.best in joined
    capped = pick(understand(question), text, sentences, idf,
                  scoring=Scoring(window=0.99, window_chars=e - s - 1))
    assert capped.sentence == capped.best


def test_window_never_goes_past_its_reach():
    text = "他来了。她也来了。它跑了。这很好。鸟飞了。"
    sentences = split_sentences(text)
    for reach in (1, 2):
        for scores in ([0.0] * 5, [2.0, 0.0, 1.9, 0.0, 1.9], [0.0, 1.9, 0.0, 2.0, 0.0]):
            for best in range(len(sentences)):
                lo, hi = window(text, sentences, scores, best, Scoring(reach=reach))
                assert lo <= best <= hi and hi - lo <= reach


# No sentence here opens by referring back, so only the widening by doubt can join one.
PLAIN = "甲地建了学校。乙地修了道路。丙地开了医院。丁地种了树木。"


def test_an_unsure_best_is_shown_with_the_runner_up_two_sentences_on():
    sentences = split_sentences(PLAIN)
    scores = [3.0, 0.0, 2.9, 0.0]         # the best holds about half the probability
    assert window(PLAIN, sentences, scores, 0) == (0, 2)    # with the sentence between
    assert window(PLAIN, sentences, scores, 0, Scoring(reach=1)) == (0, 1)
    # sure enough: alone
    assert window(PLAIN, sentences, [6.0, 0.0, 2.9, 0.0], 0) == (0, 0)
    # the runner-up three sentences on is out of reach: the likelier of those within it joins
    assert window(PLAIN, sentences, [3.0, 0.0, 0.5, 2.9], 0) == (0, 2)


def test_a_runner_up_too_far_to_fit_gives_way_to_the_next_likeliest_that_fits():
    sentences = split_sentences(PLAIN)
    scores = [3.0, 0.0, 2.9, 0.0]
    two = sentences[1][1] - sentences[0][0]
    assert window(PLAIN, sentences, scores, 0, Scoring(window_chars=two)) == (0, 1)
    assert window(PLAIN, sentences, scores, 0, Scoring(window_chars=two - 1)) == (0, 0)
    # nor across a paragraph break, even when it would fit
    text = PLAIN.replace("丙地", "\n丙地")
    assert window(text, split_sentences(text), scores, 0) == (0, 1)


def test_the_highlight_does_not_reach_into_another_paragraph():
    # the same text with a paragraph break before 他: a new paragraph's 他 is left alone
    text = RECORD.replace("他也以", "\n他也以")
    shown, best, _ = highlighted("成为参赛最年长四分卫的是谁？", text=text,
                                 scoring=Scoring(window=0.0))
    assert best.startswith("他也以") and shown == best


def test_a_sentence_saying_nothing_beyond_the_question_restates_it():
    question = "全市社工站的数量在全省排第几？"
    assert restates(question, "全市社工站的数量在全省。", 4)
    assert not restates(question, "截至今年五月，全市社工站已达一百二十个。", 4)
    # punctuation is not content; a question never restates anything when not given
    assert restates(question, "“全市社工站！”", 0) and not restates("", "全市社工站。", 4)


def test_a_sure_best_sentence_that_restates_the_question_is_shown_with_its_likeliest_neighbour():
    text = "乙地今年新修道路十二公里。乙地修了道路。丙地开了医院。"
    sentences = split_sentences(text)
    scores = [0.5, 6.0, 0.0]                 # the best is sure: over 0.99 of the probability
    question = "乙地修了多少道路？"
    assert window(text, sentences, scores, 1, Scoring(), question) == (0, 1)
    assert window(text, sentences, scores, 1, Scoring(restates=-1), question) == (1, 1)
    assert window(text, sentences, scores, 1) == (1, 1)       # no question, no restating
    # through pick: the sentence stating the figure is highlighted with the restating one
    idf = {t: 1.0 for t in tokenize(text + question)}
    # (scored by the question's character pairs alone, the restating sentence is sure)
    p = pick(understand(question), text, sentences, idf,
             scoring=Scoring(weights=(0, 0, 0, 0, 10.0, 0, 0)))
    assert text[p.best[0]:p.best[1]] == "乙地修了道路。"
    assert text[p.sentence[0]:p.sentence[1]] == "乙地今年新修道路十二公里。乙地修了道路。"


def test_words_that_only_ask_or_point_back_are_not_content_words():
    """jieba keeps 哪年哪月 and 多长时间 whole and cuts 哪一年 as 哪 + 一年: as content words they
    are missing from the very passage that answers, whose coverage fell to .17."""
    assert question_terms("河南这项社工行动从哪年哪月开始执行？", tokenize) == (
        "河南", "社工", "行动", "开始", "执行")
    assert "一年" not in question_terms("青龙街道社工站是哪一年建成的？", tokenize)
    assert not {"多长时间", "长时间", "时间"} & set(question_terms("多长时间才能量产石油？", tokenize))
    assert question_terms("几月几日举行？", tokenize) == ("举行",)
    # a year asked about, not asking: kept
    assert "一年" in question_terms("一年有多少天？", tokenize)
