"""A confidence that means the same for every question: the estimated probability that a result
answers it.

Fusion scores are rescaled per question (min-max), so a top score says nothing about whether
anything answers. The features here are not: the raw dense cosine, the share of the question's
words (idf-weighted) that the passage and its title contain, the same share for the answering
sentence, and whether that sentence holds the kind of thing asked for (a number in the asked
unit, a date…). A logistic model over them was fitted on bench questions — with their own
passages, with their gold passages removed (a near-topic question the index cannot answer) and
asked of another bench set's index (off-topic) — and checked on held-out sets
(``studies/calibrate.py``, docs/decisions.md). Two gates then cut what the model cannot see: an
article that never names the place, body or year asked about, nor the organisation named after
a place (济南市第一人民医院 in an article on 济南's 济阳区; ``ABSENT_FACTOR``), and an answering
sentence whose neighbourhood never speaks of the attribute a number question asks for
(``ATTRIBUTE_FACTOR``, qa/search/attribute.py; who and where questions stay ungated,
docs/decisions.md, round 6).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.search.answer import Pick, question_terms
from qa.search.attribute import attribute_absent, unit_absent

if TYPE_CHECKING:
    from qa.search.question import Question


@dataclass(frozen=True)
class Features:
    dense: float | None         # raw cosine of the result's best chunk (None: BM25 only)
    coverage: float             # idf share of the question's words in title + passage
    evidence: float             # idf share of the question's words in the answering sentence
    typed: bool                 # that sentence holds a span of the asked type
    asks_type: bool             # the question asks for a typed answer at all
    # idf share of the question's naming words (places, organisations, names, figures,
    # years) that title + passage lack: 0 when it names nothing
    named_missing: float = 0.0
    # how far the question's best chunk stands above its tenth best (cosines): one passage
    # that fits stands out, a question nothing answers finds many alike
    standout: float = 0.0
    # idf share of the question's naming words that the result's whole article (title and
    # every paragraph) never mentions: the result is about another place, body or year
    named_absent: float = 0.0
    # the question asks for an attribute (经费, 热线电话, 站长) that the answering sentence and
    # its neighbours never speak of (qa/search/attribute.py)
    attribute_absent: bool = False
    # …and states no number in the unit the question counts in (多少万元 → no sum in 元)
    unit_absent: bool = False
    # the question names an organisation after its place (济南市第一人民医院) that the whole
    # article never mentions, though it may mention the place (``organisation_absent``)
    organisation_absent: bool = False

    def vector(self, dense_floor: float) -> list[float]:
        d = dense_floor if self.dense is None else self.dense
        return [1.0, d, self.coverage, self.evidence, float(self.typed),
                float(self.asks_type and not self.typed), self.named_missing, self.standout]


# Intercept, dense, coverage, evidence, typed, asked-but-untyped, named-missing, standout:
# fitted by ``studies/calibrate.py --fit 300 --held 300`` on the first 300 questions of each
# bench set in every condition (own, four query styles, gold removed, a naming word swapped,
# another set's index); the next 300 of each were held out. Against the six-feature model the
# two last features cut ``found`` on swapped questions from 0.84 to 0.59 (held out, at the
# same share of answerable questions found).
WEIGHTS = (-32.401, 33.811, 3.214, 1.306, -0.115, -0.329, -1.543, -5.986)
# A result found by BM25 alone has no cosine; it is scored as if its cosine were this low.
DENSE_FLOOR = 0.7


def confidence(f: Features, weights: tuple[float, ...] = WEIGHTS) -> float:
    z = sum(w * x for w, x in zip(weights, f.vector(DENSE_FLOOR)))
    p = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
    # Gates, not features: an article that never names the place, body or year the
    # question asks about cannot state its figures, however close the wording (every
    # province's social-work report reads alike). Halved rather than zeroed: a name is not
    # always spelt the same way in question and article. See ABSENT_FACTOR.
    if f.named_absent > 0 or f.organisation_absent:
        p *= ABSENT_FACTOR
    # Nor can a sentence answer for an attribute it never speaks of (经费 asked, the article
    # on the right 区 silent on it), less so when no sum in the asked unit is near either.
    # See ATTRIBUTE_FACTOR.
    if f.attribute_absent:
        p *= UNIT_ABSENT_FACTOR if f.unit_absent else ATTRIBUTE_FACTOR
    return p


# What the gate leaves of a result's confidence, from ``studies/absent_gate.py`` (first 600
# questions of each bench set, in calibrate.py's conditions): results whose article lacks one
# of the question's naming words hold an answer 4-12 % of the time. At 0.5, found on
# swapped-name questions falls from .83/.51/.55 to .61/.34/.35 (CMRC/XQuAD/DRCD) while found
# on the questions as written goes from .988/.962/.983 to .988/.948/.963; a hard gate (0) would
# take those to .983/.932/.927: names are not always spelt the same way.
ABSENT_FACTOR = 0.5

# What the attribute gate (qa/search/attribute.py) leaves of a result's confidence, chosen by
# ``studies/attribute_gate.py`` as the lowest factors at which no answerable validation set
# (first 400 questions of each bench set, 354 seed questions in every style) loses more than
# .005 of found or falls below .95 (at 0.3 XQuAD's falls to .948). At 0.4 / 0.3 found on bench
# questions with their attribute swapped falls from .940/.826/.810 to .887/.760/.727
# (CMRC/XQuAD/DRCD), on swapped seed questions from .750 to .389 and on
# eval/unanswerable_dev.jsonl from .725 to .500, while found on the answerable sets goes from
# .990/.953/.963/.960 to .988/.953/.963/.958. Gating who/what questions too cost XQuAD .8
# points (results/attribute_gate.log).
ATTRIBUTE_FACTOR = 0.4
# …when no number in the asked unit is near either.
UNIT_ABSENT_FACTOR = 0.3


# A word that names one thing rather than a kind of thing: a place or an organisation in
# jieba's dictionary (湖北, 济阳, 世界卫生组织), a figure or Latin letters (2023, 26人, MP5), a
# transliterated name (卡卡·比恩), or a word ending like a place or an organisation that is
# longer than the bare kind (西湖区, 通辽职业学院 — not 社区, 城市, 内陆地区).
_NAMED_SUFFIX = re.compile(
    r"(?:省|市|县|区|州|旗|镇|乡|村|街道|国|岛|河|湖|山|学院|大学|中学|小学|医院|公司|集团|银行|"
    r"协会|委员会|法院|检察院|政府|局|厅)$")
_KINDS = re.compile(r"(?:地区|社区|小区|山区|城区|辖区|园区|景区|市区|郊区|校区|街区|全国|各国|全省|"
                    r"各省|全市|各市|全县|外国|本国|城市)$")
# Common nouns that jieba's dictionary tags as places or organisations (东西 'thing', as in
# 什么东西; 太阳, 海洋, 长度, 入口…), taken from its most frequent ns/nt words: asked about, they
# name no one thing an article must mention.
_COMMON = frozenset(
    "东西 平原 高原 海洋 湖泊 太阳 英雄 哥哥 阿哥 二哥 朝廷 爱国 建国 开国 上市 美丽 江湖 大街 大桥 王国 "
    "共和国 城镇 庆典 深度 长度 山脉 回国 治安 大国 新鲜 古城 海峡 河口 冰川 山水 长大 普及 古典 高山 大海 "
    "山坡 河谷 福利 日志 青春 神圣 新建 河水 江水 湖水 中断 山洞 都城 关联 海湾 广义 海关 大洋 山峰 契约 入口 "
    "都市 国际化 重镇 三角洲 大山 古都 上山 下山 上台 上马 山口 山寨 内河 商城 阴阳 江山 太平 云集 山河 "
    "莫非 广布 诸国 千古 中密度 上半场 石桥 内城 新城 故城".split())
# A word that opens with a demonstrative points at something named elsewhere (这个县, 该市, and
# jieba's 那家省 out of 那家省医院): by itself it names nothing the article must mention.
_POINTS_BACK = re.compile(r"^(?:这|那|哪|该|此|每|某)")


@functools.lru_cache(maxsize=1)
def _dictionary_names() -> frozenset[str]:
    """Places (ns) and organisations (nt) in jieba's own dictionary."""
    import jieba

    names = set()
    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] in ("ns", "nt"):
                names.add(parts[0])
    return frozenset(names)


def naming(term: str) -> bool:
    if any(c.isdigit() or "a" <= c.lower() <= "z" for c in term) or "·" in term:
        return True
    if _KINDS.search(term) or term in _COMMON:
        return False
    return (len(term) >= 2 and term in _dictionary_names()) or (
        len(term) >= 3 and _NAMED_SUFFIX.search(term) is not None
        and not _POINTS_BACK.match(term))


# How an organisation's name ends (济南市第一人民医院, 陕西师范大学, 陕西省儿童心理学会).
_ORGANISATION = re.compile(r"(?:大学|学院|医院|中学|小学|公司|集团|银行|协会|学会|研究院|研究所|"
                           r"委员会|法院|检察院)")
# A place's name followed, within a few characters, by an organisation's ending — characters
# that name, not a verb, a question word or a particle between them (五羊新城由哪个公司开发 names
# no 五羊新城…公司).
_AFTER_PLACE = re.compile(rf"[^\W\d_A-Za-z的是由在于了和与及哪什么谁几多为被把将从向对]{{0,8}}?"
                          rf"{_ORGANISATION.pattern}")


def organisations(question: str, tokenize: Callable[[str], list[str]]) -> list[list[str]]:
    """The organisations ``question`` names after a place, each as the ways an article may
    name it: whole, and without the place (济南市第一人民医院 → 济南市第一人民医院,
    第一人民医院, 市第一人民医院 — jieba cuts 济南 and 济南市). jieba cuts such a name into a
    place the archive may well mention and words no one of which names anything. Without the
    place, a bare ending (大学 of 北京大学) is not a way of naming it."""
    found: dict[int, list[str]] = {}
    for t in question_terms(question, tokenize):
        if not (naming(t) and all("\u4e00" <= c <= "\u9fff" for c in t)) \
                or _ORGANISATION.search(t):
            continue
        start = question.find(t)
        m = _AFTER_PLACE.match(question, start + len(t))
        if m is not None:
            names = found.setdefault(m.end(), [])
            names.append(question[start:m.end()])
            if _ORGANISATION.fullmatch(m.group()) is None:
                names.append(m.group())
    return list(found.values())


def organisation_absent(question: Question, article: str) -> bool:
    """Whether ``article`` names one of ``question``'s organisations named after a place in
    none of its ways (``organisations``)."""
    text = article.lower()
    return any(not any(n.lower() in text for n in names) for names in question.organisations)


def coverage(question: Question, title: str | None, text: str,
             idf: Mapping[str, float]) -> float:
    """The idf-weighted share of the question's content words found in ``title`` + ``text``."""
    return _shares(question, title, text, idf)[0]


def _shares(question: Question, title: str | None, text: str,
            idf: Mapping[str, float]) -> tuple[float, float]:
    """Coverage of all the question's words and the share of its naming words missing, both
    weighed by idf, in ``title`` + ``text``."""
    terms = question.terms
    if not terms:
        return 0.0, 0.0
    top = max(idf.values(), default=1.0)
    haystack = f"{title or ''}\n{text}".lower()
    weight = {t: idf.get(t, top) for t in terms}
    held = {t for t in terms if t.lower() in haystack}
    named = question.named
    named_total = sum(weight[t] for t in named)
    missing = (sum(weight[t] for t in named if t not in held) / named_total
               if named_total else 0.0)
    return sum(weight[t] for t in held) / sum(weight.values()), missing


def standout(cosines: Iterable[float], nth: int = 10) -> float:
    """The best of a question's candidate cosines minus the ``nth`` best (or the last)."""
    top = sorted(cosines, reverse=True)[:nth]
    return top[0] - top[-1] if top else 0.0


def features(question: Question, title: str | None, text: str, chosen: Pick,
             dense: float | None, idf: Mapping[str, float], spread: float = 0.0,
             article: str | None = None, near: str | None = None) -> Features:
    """The features of one result: its passage ``text`` under ``title``, its answering
    sentence ``chosen``, the raw cosine ``dense`` of its best chunk; ``spread`` is the
    question's ``standout``; ``article`` the whole text the passage is from (default: the
    passage alone); ``near`` the answering sentence with its neighbours (default: the
    sentence alone)."""
    covered, named_missing = _shares(question, title, text, idf)
    if near is None:
        near = text[chosen.best[0]:chosen.best[1]]
    absent = named_missing if article is None or article == text else _shares(
        question, title, article, idf)[1]
    return Features(dense=dense, coverage=covered, evidence=chosen.evidence, typed=chosen.typed,
                    asks_type=question.type.kind is not None,
                    named_missing=named_missing, standout=spread, named_absent=absent,
                    attribute_absent=attribute_absent(question, near),
                    unit_absent=unit_absent(question, near),
                    organisation_absent=organisation_absent(
                        question, f"{title or ''}\n{article or text}"))
