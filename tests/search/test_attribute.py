"""The asked-attribute gate: what a question asks about its subject, and whether the answering
sentence's neighbourhood speaks of it — on the pure functions and on the real seed index."""

import pytest

from qa.chunking import split_sentences
from qa.index.lexical import tokenize
from qa.search.answer import pick
from qa.search.attribute import (around, asked_attribute, attribute_absent, mentions,
                                 unit_absent)
from qa.search.confidence import (ATTRIBUTE_FACTOR, UNIT_ABSENT_FACTOR, Features, confidence,
                                  features)
from qa.search.understand import understand
from qa.search.service import SearchService


@pytest.mark.parametrize("question, attribute", [
    ("东吴大学香港同学会的首任会长是谁?", "会长"),            # …的 X 是谁
    ("海宁西站总建筑面积有多少平方米？", "建筑面积"),          # X 有多少 + unit
    ("马齐去世后的谥号是什么？", "谥号"),
    ("临泉县社工站的运营经费一共是多少？", "经费"),            # fillers between X and 多少
    ("军家话在海南的使用人数大约有多少人?", None),             # 人数 names the kind of answer
    ("上海市浦东新区有多少个社区卫生服务中心？", "服务中心"),   # 多少个 X: the thing counted
    ("贵州全省社工站覆盖率是多少？", "覆盖率"),
])
def test_the_asked_attribute_is_the_word_the_question_word_attaches_to(question, attribute):
    assert asked_attribute(question) == attribute


@pytest.mark.parametrize("question", [
    "福建省首家社会工作学院在哪里揭牌？",     # a verb after the question word: an event's place
    "男女主角亦有专属声优这一模式是由谁改编的？",
    "谁创立了麦肯锡公司？",                  # the question word first
    "珠穆朗玛峰有多高？",
    "明天上海会下雨吗？",                    # yes/no
    "现今露天操场普遍存在于什么地方？",       # a verb before the question word, not an attribute
])
def test_questions_asking_no_attribute_of_a_subject_give_none(question):
    assert asked_attribute(question) is None


def test_an_attribute_is_mentioned_by_itself_or_a_two_character_part():
    assert mentions("覆盖率", "社工站覆盖率达100%")
    assert mentions("覆盖率", "实现全覆盖")                     # a two-character part
    assert mentions("建筑面积", "占地面积3万平方米")
    assert not mentions("经费", "配备专业驻站社工26人")
    assert mentions("构机", "孵化培育专业性社工机构37家")          # a transposition typo
    # one shared character is no synonym
    assert not mentions("电话", "他说话很快") and not mentions("床位", "相关单位负责人")


def test_only_questions_asking_for_a_number_are_gated_unless_other_kinds_are_asked_for():
    text = "毕节市建成279个乡（镇、街道）社工站，实现市、县、乡三级全覆盖。"

    def absent(question, near=text, **kinds):
        return attribute_absent(understand(question), near, **kinds)

    assert absent("毕节市社工站每年的运营经费是多少万元？")
    assert absent("毕节市社工站的年度考核优秀率是多少？")      # a rate
    # 籍贯 is answered by 「浙江永嘉人」 without the word: who/where questions pass by default…
    assert not absent("毕节市社工总站的站长是谁？")
    assert not absent("毕节市社工总站的办公地址在哪里？")
    # …and are gated when asked for (studies/attribute_gate.py measures them)
    who_where = ("person", "place")
    assert absent("毕节市社工总站的站长是谁？", kinds=who_where)
    assert absent("毕节市社工总站的办公地址在哪里？", kinds=who_where)
    assert not absent("毕节市社工总站的站长是谁？", text + "站长由张明担任。", kinds=who_where)
    assert not absent("毕节市社工站每年的运营经费是多少万元？", kinds=who_where)
    assert not absent("毕节市建成了多少个社工站？")            # it is there
    assert not absent("毕节市建成了哪些社工站？")              # none asked


def test_around_is_the_sentence_and_its_neighbours():
    text = "甲句。乙句。丙句。丁句。"
    sentences = split_sentences(text)
    assert around(text, sentences, sentences[1]) == "甲句。乙句。丙句。"
    assert around(text, sentences, sentences[0]) == "甲句。乙句。"
    assert around(text, sentences, sentences[3]) == "丙句。丁句。"


def test_no_number_in_the_asked_unit_near_is_unit_absent():
    asked = "济阳区社工站每年的运营经费是多少万元？"
    assert unit_absent(understand(asked), "配备专业驻站社工26人")
    assert not unit_absent(understand(asked), "投入慈善资金10万余元")
    assert not unit_absent(understand("济阳区社工站每年的运营经费是多少？"),   # no unit
                           "配备专业驻站社工26人")


@pytest.mark.parametrize("money, factor", [("", UNIT_ABSENT_FACTOR),
                                           ("去年投入慈善资金10万余元。", ATTRIBUTE_FACTOR)])
def test_a_result_silent_on_the_asked_attribute_is_gated(money, factor):
    text = ("自2021年建立社工站以来，济阳区已实现街道（镇）社工站全覆盖。"
            f"{money}建设1个区级社工总站，7个街道（镇）社工站，配备专业驻站社工26人。")
    idf = {t: 2.0 for t in tokenize(text + "运营经费")}
    asked = understand("济阳区社工站每年的运营经费是多少万元？")
    answerable = understand("济阳区配备了多少名驻站社工？")
    assert attribute_absent(asked, text) and not attribute_absent(answerable, text)

    def scored(q):
        chosen = pick(q, text, split_sentences(text), idf)
        return features(q, "济阳区社工站", text, chosen, 0.9, idf, article=text, near=text)

    gated = scored(asked)
    assert gated.attribute_absent and not scored(answerable).attribute_absent
    ungated = confidence(Features(**{**gated.__dict__, "attribute_absent": False}))
    assert confidence(gated) == pytest.approx(ungated * factor)


@pytest.fixture(scope="module")
def service(seed_archive, encoder):
    return SearchService(seed_archive.settings(), encoder)


@pytest.mark.parametrize("question", [
    "济阳区配备了多少名驻站社工？",
    "临泉县拿到社工资格证书的有多少人？",
    "嘉定区现在一共有几个精神健康社工站？",
])
def test_seed_questions_asking_what_their_article_states_are_not_gated(service, question):
    snap = service.snapshot()
    found = service.explained(understand(question), 3, *_candidates(service, question), snap)
    assert not found[0][1].attribute_absent
    assert service.ask(question, 3).found


@pytest.mark.parametrize("question", [
    "济阳区驻站社工的平均年龄是多少岁？",
    "莱州市“社工+志愿”孵化基地的占地面积是多少平方米？",
    "毕节市社工站的年度考核优秀率是多少？",
])
def test_seed_articles_silent_on_the_asked_attribute_are_not_found(service, question):
    answer = service.ask(question, 5)
    assert not answer.found
    snap = service.snapshot()
    top = service.explained(understand(question), 5, *_candidates(service, question), snap)[0]
    assert top[1].attribute_absent


def _candidates(service, question):
    snap = service.snapshot()
    n = service.settings.candidates
    return snap.dense(service._query_vector(question), n), snap.lexical(question, n)
