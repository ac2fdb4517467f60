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
    # What a web reply says instead of ``message`` where that may hold internals (a file path,
    # a Milvus expression, a server's own error text): those go to the log only. None: the
    # message is meant for the reader as it is.
    public: str | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def reply(self) -> str:
        """The message for a web reply."""
        return self.public or self.message


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


class PageError(Exception):
    """One page of a file that cannot be read (a blank page, a scan OCR cannot read): the
    file's other pages are kept, and the page is reported with this message, for readers, as
    its reason. Never leaves ``qa.ingest``."""


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
    public = "索引不存在或尚未建立，暂时无法回答（请管理员建立索引或上传报纸）"


class IndexCorrupt(QAError):
    code = "index_corrupt"
    status = 503
    public = "索引文件校验失败，服务暂不可用（详情见服务器日志）"


class ModelMismatch(QAError):
    """The index was built with another embedding model than the one configured."""

    code = "model_mismatch"
    status = 409


class ModelDamaged(QAError):
    """A shipped model file does not match its recorded checksum, or was made for another
    tokenizer: reinstall the package (``qa/reader/model``)."""

    code = "model_damaged"
    status = 500


class Conflict(QAError):
    """The request contradicts what the index holds (an issue's date, paper or number)."""

    code = "conflict"
    status = 409


class IndexBusy(QAError):
    code = "index_busy"
    status = 409


class Busy(QAError):
    """Too much work waiting (uploads queued for OCR): the client should try again after
    ``retry_after`` seconds (a 503 with ``Retry-After``)."""

    code = "busy"
    status = 503

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class BadSetting(QAError):
    """A QA_* setting the service cannot run with: said plainly instead of a traceback."""

    code = "bad_setting"
    status = 500
    public = "服务配置有误，暂不可用（详情见服务器日志）"


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
    public = "检索服务（Milvus）暂不可用，请稍后再试"
