"""What a reader is told about a bad question or k: one text each, whether the service's own
validation refuses the value or the web layer cannot even parse it as a number."""

from __future__ import annotations

QUESTION_NOT_TEXT = "问题必须是文本"
QUESTION_EMPTY = "请输入问题"


def question_too_long(chars: int, limit: int) -> str:
    return f"问题过长（{chars} 字），最多 {limit} 字"


def bad_k(max_k: int, name: str = "k") -> str:
    """``name``: the parameter as the client sent it (k or top_k)."""
    return f"参数 {name} 必须是 1 到 {max_k} 之间的整数"
