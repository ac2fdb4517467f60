"""Expected answer type for quantity questions.

Most questions asked of a newspaper archive ask "how many": 多少人, 几个社工站, 多少学时. When the
question names the unit it counts in, a passage that states a number in that unit (7.7万余人,
千余家, 四个) is far likelier to answer it than a neighbour that only repeats the question's
words — which both retrieval paths score almost alike. Classic QA answer typing, kept to the
one type that is unambiguous in Chinese: a numeral followed by a measure word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import replace

from qa.search.fusion import Fused

# Measure words and units a count or amount is stated in; longest first so 学时 beats 时.
_UNITS = sorted("""人 名 位 家 个 项 场 次 户 元 岁 支 所 座 条 件 台 辆 本 篇 期 批 届 类 种 天 周
    月 年 小时 学时 课时 公里 千米 米 吨 亩 公顷 平方米 倍 门 只 头 份 间 张 处 栋 套 枚 部 册 首
    轮 级 分钟 秒 例 起 宗 床 股 艘 架 棵 株 箱 袋 包 片 块 所 座""".split(), key=len, reverse=True)
UNIT = "|".join(map(re.escape, dict.fromkeys(_UNITS)))
# 人 and 名 count the same thing: 多少人 is answered by 625名志愿者 and the other way round.
_SAME = {"名": "人|名|位", "人": "人|名|位", "位": "人|名|位"}
_ASK = re.compile(rf"(?:多少|几)(?:[十百千万亿]+)?({UNIT})")
# A magnitude alone is a number only when approximated (千余家); otherwise 万家 in 千站暖万家 or
# 千家万户 would count as quantities.
_DIGITS = "零〇一二两三四五六七八九十"
NUMERAL = (rf"(?:\d+(?:[.,]\d+)*|[{_DIGITS}百千万亿]*[{_DIGITS}][{_DIGITS}百千万亿]*"
            rf"|[百千万亿]+(?=[余多]))")


def asked_unit(question: str) -> str | None:
    """The unit a quantity question counts in (``济阳区有多少名社工`` → ``名``), else None."""
    m = _ASK.search(question)
    return m.group(1) if m else None


@functools.lru_cache(maxsize=128)
def quantity_pattern(unit: str) -> re.Pattern:
    """A number stated in ``unit`` (or a unit counting the same thing): 7.7万余人, 千余家, 四个."""
    units = _SAME.get(unit, re.escape(unit))
    return re.compile(rf"{NUMERAL}[余多]?[万亿]?[余多]?(?:{units})")


def states_quantity(text: str, unit: str) -> bool:
    return quantity_pattern(unit).search(text) is not None


def boost(fused: list[Fused], unit: str | None, text_of: Callable[[int], str],
          bonus: float) -> list[Fused]:
    """``fused`` re-ranked with ``bonus`` added to candidates stating a quantity in ``unit``,
    the one the question asks for (``asked_unit``; None: the question asks for none)."""
    if unit is None or not bonus:
        return fused
    fused = [replace(f, score=f.score + bonus) if states_quantity(text_of(f.id), unit) else f
             for f in fused]
    return sorted(fused, key=lambda f: (-f.score, f.id))
