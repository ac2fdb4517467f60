"""A question is analysed once: ``understand`` holds what the analysis steps say of it."""

import dataclasses

import pytest

from qa.index.lexical import tokenize
from qa.search.answer import question_terms, question_type
from qa.search.answer_type import asked_unit
from qa.search.attribute import asked_attribute
from qa.search.confidence import naming, organisations
from qa.search.understand import understand


@pytest.mark.parametrize("text", [
    "济南市第一人民医院有多少名医务社工？",
    "济阳区社工站每年的运营经费是多少万元？",
    "服务地图是什么时候发布的？",
    "谁介绍了服务地图的情况？",
    "？？",
])
def test_a_question_holds_what_each_analysis_step_says_of_it(text):
    q = understand(text)
    assert q.text == text
    assert q.type == question_type(text) and q.unit == asked_unit(text)
    assert q.terms == question_terms(text, tokenize)
    assert q.named == tuple(t for t in q.terms if naming(t))
    assert [list(names) for names in q.organisations] == organisations(text, tokenize)
    assert q.attribute == asked_attribute(text)


def test_a_question_is_frozen_and_its_parts_are_read_once():
    q = understand("济阳区社工站每年的运营经费是多少万元？")
    assert (q.type.kind, q.unit, q.attribute, q.named) == ("count", "元", "经费", ("济阳",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.text = "别的问题"
    assert hash(q) == hash(understand(q.text))
