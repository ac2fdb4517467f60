"""What views share: the app's settings and service, and strict parsing of request values."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import current_app, request

from qa.config import Settings
from qa.errors import BadQuestion, BadRequest
from qa.jobs import Jobs
from qa.search import messages
from qa.search.filters import PARAMS, parse_where
from qa.search.service import SearchService, blank

# Nine digits is far above any valid value and keeps int() away from huge digit strings.
_INT = re.compile(r"[+-]?[0-9]{1,9}")


def settings() -> Settings:
    return current_app.extensions["qa.settings"]


def service() -> SearchService:
    return current_app.extensions["qa.service"]


def jobs() -> Jobs:
    return current_app.extensions["qa.jobs"]


def query_args():
    """``request.args``, refusing a query string that is not UTF-8: werkzeug would silently turn
    the bad bytes into U+FFFD and we would answer a question nobody asked."""
    raw = unquote_to_bytes(request.query_string.replace(b"+", b" "))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("查询参数不是有效的 UTF-8 编码") from None
    return request.args


def as_int(value: str | None) -> int | str | None:
    """A query-string value that spells an integer as that integer; anything else (``None``
    when absent) as it came, for the rule that judges it to refuse."""
    if value is not None and _INT.fullmatch(value.strip()):
        return int(value.strip())
    return value


def int_arg(value: str | None, message: str) -> int | None:
    """A query-string integer, or ``None`` when absent; anything else is a 400 with ``message``."""
    value = as_int(value)
    if isinstance(value, str):
        raise BadRequest(message)
    return value


def k_message() -> str:
    return messages.bad_k(settings().max_k)


# Each /api/ask parameter by its names: GET and POST accept both, the first is the short one.
QUESTION_NAMES = ("q", "question")
K_NAMES = ("k", "top_k")


def _given(values, names: tuple[str, ...]) -> list[tuple[str, object]]:
    """``(name, value)`` of each of ``names`` the request gives, the short name first: it wins
    when a client sends both, but both must be valid (``k=5&top_k=-3`` is a 400 naming top_k,
    not a silent 5)."""
    return [(n, values.get(n)) for n in names if values.get(n) is not None]


def ask_params(values, from_query: bool) -> tuple[str, int | None]:
    """The question and k of an /api/ask request, from the query string (``from_query``:
    every value is text) or a JSON object. Errors name the parameter as the client sent it;
    the rules (what is empty, which k is valid) are the service's."""
    questions = _given(values, QUESTION_NAMES)
    for name, question in questions:
        if not isinstance(question, str):
            raise BadQuestion(f"参数 {name} 必须是文本")
    if not questions or blank(questions[0][1]):
        raise BadQuestion("请提供问题（参数 q 或 question）")
    for name, question in questions[1:]:
        # the other name must be a question too, not silently ignored (found by schemathesis)
        if blank(question):
            raise BadQuestion(f"参数 {name} 不能为空")
    ks = [service().check_k(as_int(k) if from_query else k, kname)
          for kname, k in _given(values, K_NAMES)]
    return questions[0][1], (ks[0] if ks else None)


def filter_params(values, from_query: bool) -> dict:
    """The filters and order of an /api/ask request or the search form: ``{"where", "sort"}``
    for ``SearchService.ask``. A query string may repeat a text filter (``source=A&source=B``);
    JSON gives a string or a list."""
    if from_query:
        given = {n: (values.getlist(n) or None) for n in PARAMS}
        for n in ("date_from", "date_to"):
            given[n] = values.get(n)
    else:
        given = {n: values.get(n) for n in PARAMS}
    sort = values.get("sort") or "relevance"
    if not isinstance(sort, str):
        raise BadRequest("参数 sort 必须是文本：relevance 或 date")
    s = settings()
    return {"where": parse_where(**given, max_values=s.max_filter_values,
                                 max_chars=s.filter_value_chars), "sort": sort}
