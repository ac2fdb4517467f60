"""Filters as a request gives them — the API (query string or JSON), the search form, the CLI's
options — checked into the ``Where`` the index filters by. A wrong value is a ``BadRequest``
naming its parameter, as the client sent it."""

from __future__ import annotations

import re

from qa.dates import iso_date
from qa.errors import BadRequest
from qa.index.backend import Where

# The request parameter behind each field of ``Where`` (the same names in the API, CLI and web
# form).
PARAMS = ("source", "paper", "issue", "date_from", "date_to")

# In a filter value: control characters (NUL, escapes, line ends: no outlet or paper name has
# one, and Milvus's expression parser chokes on some) and lone surrogates (not text at all).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def parse_where(source=None, paper=None, issue=None, date_from=None, date_to=None, *,
                max_values: int | None = None, max_chars: int | None = None) -> Where:
    """Checked filters from request values: each text filter a string or a list of at most
    ``max_values`` of them, each of at most ``max_chars`` printable characters; dates
    YYYY-MM-DD (``qa.dates``)."""
    limits = (max_values, max_chars)
    where = Where(_names(source, "source", *limits), _names(paper, "paper", *limits),
                  _names(issue, "issue", *limits), _day(date_from, "date_from"),
                  _day(date_to, "date_to"))
    if where.date_from and where.date_to and where.date_from > where.date_to:
        raise BadRequest("参数 date_from 不能晚于 date_to")
    return where


def _names(value, param: str, max_values: int | None, max_chars: int | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"参数 {param} 必须是文本或文本列表")
    if max_values is not None and len(values) > max_values:
        raise BadRequest(f"参数 {param} 最多 {max_values} 个值（收到 {len(values):,} 个）")
    for v in values:
        if max_chars is not None and len(v) > max_chars:
            raise BadRequest(f"参数 {param} 的每个值最多 {max_chars} 字")
        if _UNPRINTABLE.search(v):
            raise BadRequest(f"参数 {param} 含有控制字符或无效字符")
    return frozenset(v.strip() for v in values if v.strip())


def _day(value, param: str) -> str | None:
    # "" is a form's empty date field: no bound. Anything else is a date exactly.
    if value is None or value == "":
        return None
    return iso_date(value, param)
