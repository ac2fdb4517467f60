"""Errors → responses. Under ``/api`` always the JSON envelope ``{"error": {"code", "message"}}``;
elsewhere a Chinese error page. Nothing ever shows a traceback to a reader."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from qa.errors import QAError, Unauthorized

log = logging.getLogger(__name__)


class UnsupportedMediaType(QAError):
    code = "unsupported_media_type"
    status = 415


# werkzeug's own messages are English HTML; readers get these instead.
HTTP_MESSAGES = {
    400: ("bad_request", "请求格式不正确"),
    404: ("not_found", "没有这个地址"),
    405: ("method_not_allowed", "此地址不支持该请求方法"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    431: ("headers_too_large", "请求头过大"),
}
INTERNAL = ("internal_error", "服务器内部错误，请稍后再试")


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def respond(status: int, code: str, message: str):
    if _is_api():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(QAError)
    def _qa_error(e: QAError):
        if e.status >= 500:
            log.warning("%s %s: %s", request.method, request.path, e.message)
        response, status = respond(e.status, e.code, e.reply)
        response = app.make_response((response, status))
        if isinstance(e, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="qa"'   # RFC 6750
        retry_after = getattr(e, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if e.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            code, message = "payload_too_large", f"上传内容过大，上限 {limit:,} 字节"
        else:
            code, message = HTTP_MESSAGES.get(e.code or 500, INTERNAL)
        response, status = respond(e.code or 500, code, message)
        response = app.make_response((response, status))
        if isinstance(e, MethodNotAllowed) and e.valid_methods:
            response.headers["Allow"] = ", ".join(e.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return respond(500, *INTERNAL)
