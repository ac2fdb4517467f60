"""The answering sentence of a passage and, where the answer is a short typed span, that span.

A pure stage: it takes the question (analysed once, ``qa.search.question``), the passage text,
the passage's sentence spans, the question's term weights (idf from the lexical index) and,
optionally, each sentence's dense similarity to the question; it returns offsets into the
passage. Nothing here knows about the index, so the service and the benchmarks call the same
function.

A sentence is scored by what classic QA sentence selection uses:

* **evidence** — the idf-weighted share of the question's terms the sentence contains (terms
  found in many of the passage's sentences weigh less), with credit for terms found only in
  the sentences either side (the subject is often named one sentence earlier: 「济阳区……。
  配备专业驻站社工26人」), more when the sentence opens by referring back (他/该/此外…); and the
  share of the question's characters and character pairs it holds, not counting those of the
  article's title — the title names the subject, the other words name what is asked about it
  (魏裔介的谥号是什么 → 「追谥文毅」, not 「魏裔介，字石生」);
* **answer type** — the question says what kind of thing answers it (多少/几 + unit → a number
  in that unit, 比例/率 → a percentage, 何时/哪一年 → a date, 哪里 → a place, 谁 → a name);
  a sentence holding such a thing that the question itself does not mention is far likelier
  to answer than one that only repeats the question;
* **dense similarity** — the service passes, per sentence, the cosine of the best candidate
  chunk overlapping it (free: the chunks were scored by retrieval); sentence vectors of their
  own were measured in ``studies/answer_study.py --dense`` and are not stored (docs/decisions.md).

The weights are a conditional logit's, so the scores give each sentence a probability of holding
the answer. What is highlighted is the best sentence, widened when the best alone is not a whole
statement or the scorer is unsure between it and another one close by (``window``):

* the best sentence refers back (他/该/此…): the sentence before it joins — a reader cannot tell
  who 「他也以 39 岁高龄参加超级碗」 is without it; else the next sentence joins if it refers
  back to the best, going on about the same subject (「……特斯拉电力照明与制造公司。该公司安装
  了……」);
* else, when the best sentence holds less than ``Scoring.window`` of the passage's probability,
  the likeliest other sentence within ``Scoring.reach`` (2) of it joins, with any between: the
  scorer's runner-up holds the answer in more than half the best sentence's misses (225 of
  403 on CMRC, 247 of 401 on DRCD), 36 and 30 of them two sentences away.
  The same when the best sentence says at most ``Scoring.restates`` characters the question
  does not hold, however sure the scorer is: it restates the question, and the answer, when
  it is not a few characters inside it, is beside it.

Never more than ``Scoring.window_chars`` characters, nor across a paragraph break: a joining
sentence that would break either rule gives way to the next likeliest, and when none fits the
best sentence is shown alone. The answer span, the evidence and the typed flag stay the best
sentence's, so the confidence features do not change.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from qa.search.answer_type import NUMERAL, asked_unit, quantity_pattern
from qa.search.question import Question, QuestionType

Span = tuple[int, int]

# Question words say what is asked, not what the answer contains; they never count as evidence.
QUESTION_WORDS = frozenset(
    "什么 多少 哪些 哪个 哪里 哪儿 哪 怎么 怎样 如何 为什么 为何 是否 谁 何时 何地 何处 几 几个 吗 呢 啥 "
    "多少名 多少个 多少项 多少人 多久 多大 多高 多长 哪一年 哪年 哪位 哪座 哪家 什么样 什么时候 "
    # and the framing of a spoken question (请问…, 我想知道…, 有人知道…吗)
    "请问 想问 问一下 一下 知道 想知道 有人 帮我 查一下 来着 谁能 告诉 能否 是不是".split())

_QUESTION_CHARS = frozenset("什么哪些个里儿怎样如何为是否谁何时几吗呢啥多少的了在有")
_TIME_Q = re.compile(r"何时|什么时候|什么时间|哪一?年|哪个?月|哪一?天|几月|几号|何年|哪个时期|哪个朝代|年份|日期")
_PLACE_Q = re.compile(r"哪里|哪儿|在哪|何地|何处|什么地方|哪个?(?:国家|城市|省|市|县|地区|地方)|哪座|位于哪")
_PERSON_Q = re.compile(r"谁|哪位|何人|什么人|哪个人")
_RATIO_Q = re.compile(r"(?:比例|比率|占比|百分之|覆盖率|[^效]率)(?:是|为|达|达到|有)?(?:多少|几)")
_COUNT_Q = re.compile(r"多少|几[十百千万]?|多大|多高|多长|多重|多远|多久")

_PERCENT = re.compile(rf"(?:{NUMERAL})\s*[%％]|百分之[{'零〇一二两三四五六七八九十百点'}]+")
_DATE = re.compile(
    r"(?:公元前?)?\d{1,4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*世纪(?:\s*\d{1,2}\s*年代)?|\d{2,4}\s*年代"
    r"|[一二三四五六七八九〇零]{4}年|[一二三四五六七八九十]{1,3}世纪")
# A place or organisation named by its suffix (济阳区, 通辽职业学院, 毕节医院).
_PLACE = re.compile(
    r"[\u4e00-\u9fff]{1,10}?(?:省|市|县|区|镇|乡|村|街道|社区|州|国|岛|山|河|湖|洲|城|港|湾|"
    r"学院|大学|医院|中心|基地|广场|公园|馆)")
# A person: a transliterated name (卡卡·比恩) or a surname + one or two characters before a
# title or a verb of saying.
_PERSON = re.compile(
    r"[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff·]{1,12}"
    r"|[\u4e00-\u9fff]{2,4}(?=(?:书记|主任|会长|院长|局长|教授|先生|女士|老师|说|表示|介绍|指出))")
_ANY_NUMBER = re.compile(rf"(?:{NUMERAL})[余多]?[万亿]?[余多]?")



def question_type(question: str) -> QuestionType:
    if _TIME_Q.search(question):
        return QuestionType("time")
    if _RATIO_Q.search(question):
        return QuestionType("ratio")
    unit = asked_unit(question)
    if unit is not None:
        return QuestionType("count", unit)
    if _PLACE_Q.search(question):
        return QuestionType("place")
    if _PERSON_Q.search(question):
        return QuestionType("person")
    if _COUNT_Q.search(question):
        return QuestionType("count")
    return QuestionType(None)


def typed_spans(text: str, qtype: QuestionType) -> list[Span]:
    """Spans of ``text`` that are the kind of thing ``qtype`` asks for."""
    if qtype.kind is None:
        return []
    if qtype.kind == "count":
        pattern = quantity_pattern(qtype.unit) if qtype.unit else _ANY_NUMBER
    else:
        pattern = {"ratio": _PERCENT, "time": _DATE, "place": _PLACE,
                   "person": _PERSON}[qtype.kind]
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]


# Tokens that only ask — jieba keeps 哪年哪月, 几月几日, 哪天 and 多长时间 whole — or only point
# back (这项, 这位): counted as content words they are missing from every passage, the one that
# answers included, and pull its coverage and evidence down (河南这项社工行动从哪年哪月开始执行？
# covered .17 of its own answer).
_ASKING = re.compile(r"(?:(?:哪|几|何|多少|多长|什么)一?(?:年|月|日|天|号|时|点|周|时间|时候)?)+")
_POINTING = re.compile(r"(?:这|那|该|此)(?:项|位|个|些|种|次|家|所|条|名|座|场|份|批|类|样)?")


@functools.lru_cache(maxsize=1024)
def question_terms(question: str, tokenize: Callable[[str], list[str]]) -> tuple[str, ...]:
    """The question's content words, distinct, longest first (so 社工站 is matched before 社工).
    Not the words that ask or point back, nor the pieces the tokenizer also cuts from them
    (一年 of 哪一年, 长时间 of 多长时间). ``understand`` asks once per request; cached for the
    studies, which ask per result."""
    tokens = tokenize(question)
    # what asks, as the question spells it: the tokenizer may cut 哪一年 as 哪 + 一年
    asking = {t for t in tokens if t in QUESTION_WORDS or _ASKING.fullmatch(t)}
    asking |= {m.group() for m in _ASKING.finditer(question)}
    seen: dict[str, None] = {}
    for t in tokens:
        # ``t in a`` holds for an asking word itself as for a piece of one
        if (len(t) < 2 and not t.isdigit()) or t in seen or _POINTING.fullmatch(t) \
                or any(t in a for a in asking):
            continue
        seen[t] = None
    return tuple(sorted(seen, key=len, reverse=True))


@dataclass(frozen=True)
class Pick:
    sentence: Span              # what is highlighted: the best sentence, perhaps with a neighbour
    answer: Span | None         # a short typed answer inside the sentence, or None
    evidence: float             # share of the question's term weight in the sentence, [0, 1]
    typed: bool                 # the sentence holds a span of the asked type
    score: float                # what the sentence was chosen by
    best: Span                  # the best sentence alone


# A sentence opening with one of these goes on about what the one before it named
# (「培顿·曼宁……。他也以 39 岁高龄……」): the question's words there count for it too.
_CONTINUES = re.compile(
    r"^[“\"「（(]?(?:他们|她们|它们|他|她|它|其|该|此|这|那|同时|此外|另外|并且|而且|但|然而|"
    r"因此|所以|随后|之后|后来|其中)")
# The narrower set of openings that name nothing themselves: a sentence opening so needs the one
# before it to be understood.
_REFERS_BACK = re.compile(r"^[“\"「（(]?(?:他们|她们|它们|他|她|它|其|该|此|这|那)")


@dataclass(frozen=True)
class Scoring:
    """A sentence's score is ``weights · sentence_features``; the weights were fitted (a
    conditional logit over each passage's sentences) on the first 600 questions of each bench
    set and checked on the rest and on the seed questions (studies/answer_study.py)."""

    weights: tuple[float, ...] = (3.8, 2.27, 2.44, 1.18, 0.94, 4.87, 33.48)
    local: float = 1.0          # discount for words in many of the passage's sentences
    # Below this share of the passage's probability the best sentence is shown with the likeliest
    # other sentence within ``reach`` of it (and any between): the knee of answers gained per
    # highlighted character on CMRC's first 600 questions (studies/answer_study.py
    # --window); 0 turns the widening by doubt off.
    window: float = 0.6
    # How far that runner-up may be: 2 (the sentence after next, with the one between) is the
    # knee of answers gained per highlighted character on CMRC and DRCD (--reach 1,2,3).
    reach: int = 2
    # A best sentence holding at most this many characters the question does not is shown
    # with the likeliest sentence within ``reach`` however sure the scorer is: it only
    # restates the question (「一般认为这是蒸汽机车的速度极限。」 for 「一般认为这是蒸汽机车的速度极限
    # 是多快?」), the answer is beside it. The knee of answers gained per highlighted character
    # on CMRC and DRCD (answer_study.py --restates 0,2,4,6,8); -1 turns it off.
    restates: int = 4
    # A widened highlight longer than this falls back to the best sentence: about nine lines on
    # a 390 px phone, where it is shown above the passage.
    window_chars: int = 200


def sentence_features(question: Question, text: str, sentences: Sequence[Span],
                      idf: Mapping[str, float], dense: Sequence[float | None] | None = None,
                      local: float = 1.0, title: str | None = None
                      ) -> tuple[list[list[float]], list[float], list[list[Span]], list[set]]:
    """Per sentence: the feature vector (own, neighbour, typed, continues, bigrams, untitled,
    dense: the order of ``Scoring.weights``), the plain evidence (idf share of the question's
    words it holds), its typed candidate spans, the question words it holds.

    ``dense``: each sentence's cosine to the question where known (None where not); the
    service passes the best cosine of a candidate chunk overlapping the sentence. ``title``:
    the article's; its words name the article's subject, so they tell the passage from others,
    not one of its sentences from another."""
    terms = question.terms
    top = max(idf.values(), default=1.0)
    w = {t: idf.get(t, top) for t in terms}
    total = sum(w.values()) or 1.0
    q_norm = question.text.replace(" ", "")
    texts = [text[s:e] for s, e in sentences]
    found = [{t for t in terms if t.lower() in low} for low in (x.lower() for x in texts)]
    evidence = [sum(w[t] for t in f) / total for f in found]
    weights = _Weights.of(terms, w, found, local, q_norm, texts, title)
    qtype = question.type
    cands = [[sp for sp in typed_spans(t, qtype) if t[sp[0]:sp[1]].replace(" ", "") not in q_norm]
             for t in texts]
    closeness = _dense_features(dense, len(texts))
    rows = [_row(t, found, i, bool(cands[i]), weights, closeness[i]) for i, t in enumerate(texts)]
    return rows, evidence, cands, found


@dataclass(frozen=True)
class _Weights:
    """What the question's words, character pairs and characters count for in one passage."""

    words: dict[str, float]         # idf, discounted for words in many of its sentences
    words_total: float
    pairs: dict[str, float]         # character pairs, discounted the same way
    pairs_total: float
    untitled: frozenset[str]        # the question's characters not in the article's title

    @classmethod
    def of(cls, terms: Sequence[str], w: dict[str, float], found: list[set], local: float,
           q_norm: str, texts: list[str], title: str | None) -> "_Weights":
        # The article's subject (司马晏, 环氧氯丙烷) is in nearly every sentence: it tells the
        # passage from others, not one of its sentences from another.
        lw = dict(w)
        if local and len(texts) > 1:
            for t in terms:
                df = sum(t in f for f in found)
                if df:
                    lw[t] = w[t] / (1.0 + local * math.log(df))
        # The question's characters and character pairs, the same way: pairs found in many
        # sentences weigh less; characters of the title do not count.
        untitled = ({c for c in q_norm if "\u4e00" <= c <= "\u9fff"} - _QUESTION_CHARS
                    - set((title or "").lower()))
        pairs = {q_norm[i:i + 2] for i in range(len(q_norm) - 1)
                 if not (set(q_norm[i:i + 2]) & _QUESTION_CHARS)}
        pw = {b: 1.0 / (1.0 + math.log(max(sum(b in t for t in texts), 1))) for b in pairs}
        return cls(lw, sum(lw.values()) or 1.0, pw, sum(pw.values()) or 1.0, frozenset(untitled))

    def share(self, held: set[str]) -> float:
        """The weight of the question's words in ``held``, as a share of all of them."""
        return sum(self.words[x] for x in held) / self.words_total

    def pair_share(self, sentence: str) -> float:
        return sum(v for b, v in self.pairs.items() if b in sentence) / self.pairs_total

    def char_share(self, sentence: str) -> float:
        if not self.untitled:
            return 0.0
        return len(self.untitled & set(sentence)) / len(self.untitled)


def _dense_features(dense: Sequence[float | None] | None, n: int) -> list[float]:
    """Each sentence's cosine less the best one; a sentence without a cosine scores -0.1 when
    others have one (0 when none has)."""
    known = [d for d in dense or () if d is not None]
    best = max(known, default=0.0)
    at = [dense[i] if dense is not None and i < len(dense) else None for i in range(n)]
    return [(d - best) if d is not None else (-0.1 if known else 0.0) for d in at]


def _row(sentence: str, found: list[set], i: int, typed: bool, weights: _Weights,
         closeness: float) -> list[float]:
    """Sentence ``i``'s feature vector (``sentence_features``)."""
    before = found[i - 1] - found[i] if i > 0 else set()
    after = found[i + 1] - found[i] if i + 1 < len(found) else set()
    return [weights.share(found[i]), weights.share(before | after), float(typed),
            weights.share(before) if _CONTINUES.match(sentence) else 0.0,
            weights.pair_share(sentence), weights.char_share(sentence), closeness]


def pick(question: Question, text: str, sentences: Sequence[Span], idf: Mapping[str, float],
         dense: Sequence[float | None] | None = None, scoring: Scoring = Scoring(),
         title: str | None = None) -> Pick:
    """The sentence of ``text`` most likely to answer ``question`` (``best``), and what to
    highlight for it (``sentence``: it, or it and one neighbour — see ``window``).
    ``question``: analysed once (``qa.search.understand``), for every passage.

    ``sentences`` are spans of ``text`` (non-empty, sorted); ``idf`` gives a term's weight
    (terms it does not know count as the rarest); ``dense`` optionally each sentence's cosine
    to the question (None where unknown); ``title`` the article's."""
    sentences = list(sentences) or [(0, len(text))]
    rows, evidence, cands, found = sentence_features(question, text, sentences, idf, dense,
                                                     scoring.local, title)
    scores = [sum(w * x for w, x in zip(scoring.weights, r)) for r in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    s, e = sentences[best]
    answer = None
    if cands[best]:
        a = _nearest(text[s:e], cands[best], found[best])
        answer = (s + a[0], s + a[1])
    lo, hi = window(text, sentences, scores, best, scoring, question.text)
    return Pick((sentences[lo][0], sentences[hi][1]), answer, evidence[best], bool(cands[best]),
                scores[best], (s, e))


def window(text: str, sentences: Sequence[Span], scores: Sequence[float], best: int,
           scoring: Scoring = Scoring(), question: str = "") -> tuple[int, int]:
    """First and last index of the sentences to highlight around ``best`` (module docstring);
    ``question`` tells whether the best sentence only restates it."""
    n = len(sentences)

    def opens_referring(i: int) -> bool:
        return _REFERS_BACK.match(text[sentences[i][0]:sentences[i][1]]) is not None

    def fits(lo: int, hi: int) -> bool:
        # A paragraph break marks a new topic: what follows it is not the same statement.
        return (sentences[hi][1] - sentences[lo][0] <= scoring.window_chars
                and "\n" not in text[sentences[lo][1]:sentences[hi][0]])

    if best > 0 and opens_referring(best):
        joined = [best - 1]
    elif best + 1 < n and opens_referring(best + 1):
        joined = [best + 1]
    elif n > 1 and scoring.window > 0:
        top = max(scores)
        p = [math.exp(x - top) for x in scores]
        if (p[best] / sum(p) >= scoring.window
                and not restates(question, text[sentences[best][0]:sentences[best][1]],
                                 scoring.restates)):
            return best, best
        # the runner-up within reach, the nearer (then the earlier) on a tie
        near = sorted((i for i in range(best - scoring.reach, best + scoring.reach + 1)
                       if 0 <= i < n and i != best), key=lambda i: (abs(i - best), i))
        joined = sorted(near, key=lambda i: -p[i])     # stable: ties keep the nearer first
    else:
        joined = []
    for other in joined:
        lo, hi = min(best, other), max(best, other)
        if fits(lo, hi):
            return lo, hi
    return best, best


def restates(question: str, sentence: str, at_most: int) -> bool:
    """Whether ``sentence`` says at most ``at_most`` letters, digits or characters the
    question does not hold: it then restates the question rather than answering it."""
    if not question:
        return False
    asked = set(question.lower())
    return sum(c.isalnum() and c not in asked for c in sentence.lower()) <= at_most


def _nearest(sentence: str, spans: list[Span], terms: set[str]) -> Span:
    """The candidate closest to where the question's terms occur in the sentence."""
    hits = [m.start() for t in terms for m in re.finditer(re.escape(t), sentence, re.IGNORECASE)]
    if not hits:
        return spans[0]
    return min(spans, key=lambda sp: (min(abs(sp[0] - h) for h in hits), sp[0]))
