"""Known parser bugs, as strict xfails.

A case marked with ``bug(...)`` states what the parser should do and does not do yet. Strict:
when the parser is fixed the case passes, pytest reports XPASS as a failure, and the marker has
to go — so a fix is noticed and the case becomes an ordinary regression test.
"""

import pytest


def bug(reason: str):
    return pytest.mark.xfail(strict=True, reason=f"parser bug: {reason}")
