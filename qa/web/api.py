"""JSON API under ``/api``. Each view parses the request, calls one service method and returns
its result; validation of questions and paging lives in ``SearchService``."""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from qa.errors import BadRequest, PayloadTooLarge
from qa.search.service import answer_dict
from qa.web import uploads
from qa.web.context import (ask_params, filter_params, int_arg, jobs, query_args, service,
                            settings)
from qa.web.errors import UnsupportedMediaType
from qa.web.openapi import spec

bp = Blueprint("api", __name__)


@bp.get("/ask")
def ask_get():
    args = query_args()
    return jsonify(answer_dict(service().ask(*ask_params(args, from_query=True),
                                             **filter_params(args, from_query=True))))


@bp.post("/ask")
def ask_post():
    body = json_object(settings().max_ask_bytes)
    return jsonify(answer_dict(service().ask(*ask_params(body, from_query=False),
                                             **filter_params(body, from_query=False))))


@bp.get("/articles")
def articles():
    args = query_args()
    message = "page 和 per_page 必须是整数"
    page = int_arg(args.get("page"), message)
    per_page = int_arg(args.get("per_page"), message)
    return jsonify(service().articles(1 if page is None else page,
                                      20 if per_page is None else per_page))


@bp.get("/articles/<article_id>")
def article(article_id: str):
    a = service().article(article_id)
    return jsonify(a.to_dict())


@bp.get("/health")
def health():
    status = service().health()
    if status.get("status") == "ok":
        return jsonify(status)
    # The envelope every /api error uses, so monitors need one parser.
    error = {"code": "unavailable", "message": status.get("error") or "服务暂不可用"}
    return jsonify({"status": "unavailable", "error": error}), 503


@bp.get("/issues")
def list_issues():
    return jsonify({"issues": service().issues()})


@bp.post("/issues")
def add_issue():
    uploads.authorise(request.headers.get("Authorization"), settings().admin_token)
    meta = uploads.meta_from_request()
    files = uploads.files_from_request()
    if uploads.needs_job(files):
        job = uploads.submit(files, meta, service(), jobs())
        url = f"/api/jobs/{job['id']}"
        return jsonify({"job": job["id"], "status": job["status"], "url": url}), 202, \
            {"Location": url}
    result = uploads.add(files, meta, service())
    return jsonify(result), 201 if result["added"] else 200


@bp.get("/jobs/<job_id>")
def job_status(job_id: str):
    uploads.authorise(request.headers.get("Authorization"), settings().admin_token)
    return jsonify(jobs().status(job_id))


@bp.delete("/issues/<ident>")
def remove_issue(ident: str):
    uploads.authorise(request.headers.get("Authorization"), settings().admin_token)
    return jsonify(uploads.remove(ident, service()))


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec(settings()))


def json_object(limit: int) -> dict:
    """The request's JSON object, of at most ``limit`` bytes: a bigger body is refused before
    it is read (by its Content-Length) or once ``limit`` bytes came (chunked)."""
    if not request.is_json:
        raise UnsupportedMediaType("请求体必须是 JSON（Content-Type: application/json）")
    too_big = PayloadTooLarge(f"请求体过大：最多 {limit:,} 字节")
    if (request.content_length or 0) > limit:
        raise too_big
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise too_big
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):    # UnicodeDecodeError (not UTF-8) is a ValueError too
        raise BadRequest("请求体不是有效的 JSON（或嵌套过深）") from None
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象，例如 {\"q\": \"…\", \"k\": 5}")
    return body
