"""The one rule for ids — page, article and issue ids from every source (an upload's name, a
JSON Lines record's id, the CLI's files and ``--issue``): what is safe on disk and in Milvus,
printable in a terminal, and usable as one URL path segment (``/api/articles/<id>``,
``DELETE /api/issues/<id>``).

* An id is 1 to ``ID_MAX`` characters, each a letter or digit (any script) or ``-``, ``_``,
  ``.``, and does not start with ``.`` (no ``.``, ``..``, hidden names). No ``/``, ``\\``,
  space, control character or escape sequence can be in one.
* A name-derived id (a page file's stem, an issue named on upload) uses letters, digits, ``-``
  and ``_`` only: the ``.`` is what joins an issue and a page (``<issue>.<page>``).
* A file name that is not such an id as it stands (a path, spaces, punctuation, too long) is
  normalised: what is left of it, then ``-`` and 8 hex digits of the whole name as given. Two
  different names never end up as one page (``/etc/cron.d/x`` and ``C:\\Windows\\x`` once both
  became ``x``, ``..`` and ``...`` both ``page``); the same name always gives the same id, so
  adding a file again replaces its page.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

ID_MAX = 255            # an article id: issue (100) . page (100) - digest (10), with room
NAME_MAX = 100


def _name_char(c: str) -> bool:
    return c.isalnum() or c in "-_"


def is_name_id(value: str) -> bool:
    """Letters, digits, ``-`` and ``_``, 1 to ``NAME_MAX`` of them."""
    return 0 < len(value) <= NAME_MAX and all(map(_name_char, value))


def valid_id(value) -> bool:
    """Whether ``value`` may be an id (see the module's rule)."""
    return (isinstance(value, str) and 0 < len(value) <= ID_MAX and not value.startswith(".")
            and all(_name_char(c) or c == "." for c in value))


def stem(name: str) -> str:
    """A file name's last part without its type: ``a/b/x.txt`` → ``x``, ``C:\\y\\z`` → ``z``."""
    last = PurePosixPath(name.replace("\\", "/")).name
    return last.rsplit(".", 1)[0] if "." in last else last


def page_id(name: str) -> str:
    """The page id of a file called ``name``: its stem when that is a name id and nothing
    was dropped from the name but its type, else the normalised form (see the module)."""
    s = stem(name)
    plain = name.replace("\\", "/").rsplit("/", 1)[-1] == name
    if plain and is_name_id(s):
        return s
    kept = "".join(c if _name_char(c) else "_" for c in s).strip("_")
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{kept[:NAME_MAX - 9] or 'page'}-{digest}"
