"""The one rule for a date someone gives — a filter's ``date_from`` and ``date_to`` (API, search
form, CLI), an issue's ``date`` (upload, ``qa add --date``): ``YYYY-MM-DD``, a real calendar day.
Dates are kept and compared as that text (``Article.date``, ``Where``)."""

from __future__ import annotations

import re
from datetime import date

from qa.errors import BadRequest

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(value, param: str) -> str:
    """``value`` when it is such a date; anything else is a ``BadRequest`` naming ``param``."""
    try:
        if not isinstance(value, str) or not _ISO.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise BadRequest(f"参数 {param} 必须是 YYYY-MM-DD 格式的日期") from None
