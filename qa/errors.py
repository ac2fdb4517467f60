"""Typed errors, raised where a problem is detected.

Only the edges (``qa.cli`` and ``qa.web.errors``) turn them into exit codes, HTTP statuses and
messages; everything in between just lets them travel. ``message`` is meant for a reader and is in
Chinese where a reader will see it.
"""

import contextlib


class QAError(Exception):
    """Base class: carries a machine code and the HTTP status it maps to."""

    code = "error"
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(QAError):
    code = "bad_request"
    status = 400


class BadQuestion(BadRequest):
    code = "bad_question"


class BadIssueFile(QAError):
    """A page file that cannot be read (wrong encoding, binary, empty, too large).

    ``BadIssueFile(name, reason)`` names the file; ``reason`` alone is what a list of skipped
    files shows next to the name."""

    code = "bad_issue_file"
    status = 422

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(f"{message}: {reason}" if reason is not None else message)
        self.reason = reason if reason is not None else message


class BadQuestionSet(QAError):
    """A question file ``qa eval`` cannot score: missing, not JSON Lines, or a line without a
    question or answers (such a line would count as a miss and lower every figure)."""

    code = "bad_question_set"
    status = 422


class NotFound(QAError):
    code = "not_found"
    status = 404


class Unauthorized(QAError):
    code = "unauthorized"
    status = 401


class Forbidden(QAError):
    code = "forbidden"
    status = 403


class PayloadTooLarge(QAError):
    code = "payload_too_large"
    status = 413


class IndexNotFound(QAError):
    code = "index_not_found"
    status = 503


class IndexCorrupt(QAError):
    code = "index_corrupt"
    status = 503


class ModelMismatch(QAError):
    """The index was built with another embedding model than the one configured."""

    code = "model_mismatch"
    status = 409


class Conflict(QAError):
    """The request contradicts what the index holds (an issue's date, paper or number)."""

    code = "conflict"
    status = 409


class IndexBusy(QAError):
    code = "index_busy"
    status = 409


class BadSetting(QAError):
    """A QA_* setting the service cannot run with: said plainly instead of a traceback."""

    code = "bad_setting"
    status = 500


@contextlib.contextmanager
def needs_extra(extra: str, what: str):
    """Import guard for optional dependencies: ``with needs_extra("milvus", "QA_BACKEND=milvus"):
    import pymilvus`` turns their absence into a ``BadSetting`` naming what to install."""
    try:
        yield
    except ModuleNotFoundError as e:
        raise BadSetting(f"{what}需要可选依赖 {e.name}：pip install 'qa[{extra}]'") from None


class MilvusUnavailable(QAError):
    """The Milvus server cannot be reached, or answered with an error: the service answers 503
    until it is back, and recovers by itself."""

    code = "milvus_unavailable"
    status = 503
