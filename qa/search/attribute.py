"""What a question asks about its subject, and whether a text states anything of the kind.

「济阳区社工站每年的运营经费是多少万元？」 names a subject the archive covers (济阳区's social-work
stations) and asks for one attribute of it (经费). An article on 济阳区 that never speaks of 经费
cannot answer, however well its words match the rest of the question. The naming-words gate
(``confidence.naming``) cannot see that — the article names 济阳区 — so this is a check of its
own: find the **asked attribute** (the content word the question word attaches to: 经费 in
经费是多少, 热线电话 in 热线电话是多少, 站长 in 站长是谁, 社工 in 多少名驻站社工) and look for it, or
a part of it, around the answering sentence. Pure: the service and the benchmarks call the
same code; ``confidence.ATTRIBUTE_FACTOR`` says what a result it fails keeps.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.search.answer import Span, typed_spans
from qa.search.answer_type import UNIT

if TYPE_CHECKING:
    from qa.search.question import Question

# What may stand between the attribute and the question word: a copula, a hedge, a total.
_FILLER = (r"(?:是|为|有|在|位于|约|约为|大约|大概|一般|通常|共|共有|一共|总共|共计|合计|累计|达|达到|"
           r"等于|叫|叫做|是由|由)*")
# The question words an attribute attaches to, when nothing but a unit or the question's end
# follows them: 「…经费是多少万元？」, 「…站长是谁？」, 「…名称是什么？」.
_ASKS_LAST = re.compile(
    rf"(?P<head>[\u4e00-\u9fffA-Za-z0-9]+?){_FILLER}"
    r"(?:多少|几|什么|谁|哪[个位些里儿年天]?|何时|何地|何人|何处)"
    rf"(?:[十百千万亿]*(?:{UNIT}))?[？?。！!\s]*$")
# 「配备了多少名驻站社工？」: the thing counted follows the question word and its measure word.
_ASKS_FIRST = re.compile(
    rf"(?:多少|几)[十百千万亿]*(?:{UNIT})"
    r"(?P<tail>[\u4e00-\u9fffA-Za-z0-9]{2,12})[？?。！!\s]*$")
# Words that name no attribute: pronouns, the question's framing, bare function words, and
# measure words left over by the patterns above.
_NOT_ATTRIBUTE = frozenset(
    "这 那 这个 那个 它 他 她 其 我 你 我们 他们 请问 是 的 了 在 有 和 与 及 或 对 被 把 将 从 由 于 "
    "一 个 名 位 家 所 年 月 日 人 次 种".split())
# jieba's tags for words that may name an attribute: nouns of every kind, verbal nouns (经费
# is one to jieba), idioms and abbreviations, Latin words.
_NOUN_TAGS = ("n", "vn", "l", "j", "eng")
# A word jieba tags otherwise but whose last character makes it a noun (站长, 会员, 收费标准).
_NOUN_HEADS = frozenset("长员者师费率额价值址期号码数量人名称")
# Words that name the kind of answer, not an attribute of the subject (百分比是多少 is answered by
# 20%, 名称是什么 by the name itself): the answer type stands for them.
_ANSWER_KINDS = frozenset(
    "百分比 比例 比率 占比 数量 数目 数字 人数 次数 个数 总数 时间 日期 年份 年代 时候 时期 地点 地方 位置 "
    "名字 名称 全称 简称 称呼 事情 东西 内容 原因 方式 方法 结果".split())


@functools.lru_cache(maxsize=1024)
def asked_attribute(question: str) -> str | None:
    """The content word ``question`` asks for about its subject, or None when it asks in a
    way this does not read (a verb after the question word, a yes/no question…)."""
    q = question.strip()
    m = _ASKS_LAST.search(q)
    if m is not None:
        # the last word before the question word and its fillers: the attribute comes last
        # in its phrase (运营经费 → 经费 is jieba's cut; the phrase is not split further)
        words = _tagged(q[:m.end("head")])
    else:
        m = _ASKS_FIRST.search(q)
        if m is None:
            return None
        # what is counted: the head (last word) of the phrase after the measure word
        words = _tagged(m.group("tail"))
    if not words:
        return None
    word, tag = words[-1]
    nominal = tag.startswith(_NOUN_TAGS) or word[-1] in _NOUN_HEADS
    return word if (nominal and len(word) >= 2 and word not in _NOT_ATTRIBUTE
                    and word not in _ANSWER_KINDS) else None


def _tagged(text: str) -> list[tuple[str, str]]:
    import jieba.posseg

    return [(p.word, p.flag) for p in jieba.posseg.lcut(text)
            if any("\u4e00" <= c <= "\u9fff" or c.isalnum() for c in p.word)]


def mentions(attribute: str, text: str) -> bool:
    """Whether ``text`` speaks of ``attribute``: the word itself or, for a longer word, any
    two-character part of it (覆盖率 → 覆盖, 建筑面积 → 面积) — a near synonym by its characters;
    a two-character word typed the wrong way round (构机 for 机构) counts too. A single shared
    character is not enough (电话 is not 说话, 床位 not 单位)."""
    text, a = text.lower(), attribute.lower()
    if len(a) == 2:
        return a in text or a[::-1] in text
    return a in text or (len(a) >= 3 and any(a[i:i + 2] in text for i in range(len(a) - 1)))


def around(text: str, sentences: Sequence[Span], sentence: Span) -> str:
    """``sentence`` of ``text`` with the sentences either side of it (``sentences``: spans of
    ``text``, sorted): where a passage states the attribute its answering sentence gives."""
    i = next((j for j, s in enumerate(sentences) if tuple(s) == tuple(sentence)), None)
    if i is None:
        return text[sentence[0]:sentence[1]]
    return text[sentences[max(i - 1, 0)][0]:sentences[min(i + 1, len(sentences) - 1)][1]]


# The kinds of question whose asked attribute must be spoken of near the answer: a figure is
# stated next to what it counts (运营经费10万元). Who/where questions are not gated: 籍贯 is
# answered by 「浙江永嘉人」, 出生地 by 「生于迪南」, 作者 by 「X撰」 — over every bench question
# gating them too cost CMRC 5 and DRCD 5 answerable questions at 0.4 (1 at 0.7) for 2 of our 70
# unanswerable dev questions (``studies/attribute_gate.py --cost``).
GATED_KINDS = ("count", "ratio")


def attribute_absent(question: Question, near: str, kinds: Sequence[str] = GATED_KINDS) -> bool:
    """``question`` asks for a number (多少, 几, a rate) — one of ``kinds`` — of an attribute
    (``asked_attribute``) that ``near`` (the answering sentence and its neighbours) never
    speaks of."""
    if question.type.kind not in kinds:
        return False
    return question.attribute is not None and not mentions(question.attribute, near)


def unit_absent(question: Question, near: str) -> bool:
    """``question`` counts in a unit (多少万元, 几张) and ``near`` states no number in it: not
    even the kind of answer asked for is there."""
    return question.unit is not None and not typed_spans(near, question.type)
