"""What views share: the app's settings and service, and strict parsing of request values."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import current_app, request

from qa.config import Settings
from qa.errors import BadRequest
from qa.search import messages
from qa.search.service import SearchService

# Nine digits is far above any valid value and keeps int() away from huge digit strings.
_INT = re.compile(r"[+-]?[0-9]{1,9}")


def settings() -> Settings:
    return current_app.extensions["qa.settings"]


def service() -> SearchService:
    return current_app.extensions["qa.service"]


def query_args():
    """``request.args``, refusing a query string that is not UTF-8: werkzeug would silently turn
    the bad bytes into U+FFFD and we would answer a question nobody asked."""
    raw = unquote_to_bytes(request.query_string.replace(b"+", b" "))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("查询参数不是有效的 UTF-8 编码") from None
    return request.args


def int_arg(value: str | None, message: str) -> int | None:
    """A query-string integer, or ``None`` when absent; anything else is a 400 with ``message``."""
    if value is None:
        return None
    value = value.strip()
    if not _INT.fullmatch(value):
        raise BadRequest(message)
    return int(value)


def k_message() -> str:
    return messages.bad_k(settings().max_k)
