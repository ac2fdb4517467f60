"""The OpenAPI 3.0 description served at ``/api/openapi.json``. tests/web/test_openapi.py keeps
it true: every route is documented, every documented operation exists, and real responses
validate against these schemas. The schemas of the results (qa.types' dataclasses) are made
from their annotations (``schema_of``); what a type does not say is in ``_NOTES``."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from types import UnionType
from typing import Union, get_args, get_origin, get_type_hints

from qa.config import Settings
from qa.types import ARTICLE_SUMMARY, Answer, Article, Citation, Highlight, Hit


def _question(s: Settings) -> dict:
    # Something to ask: at least one non-space character. The length limit applies after
    # normalisation (spaces collapsed, compatibility forms folded), so it can only be approximate
    # here; a GET question longer than gunicorn's 8 KB request line is refused before the app
    # sees it (use POST for long text).
    return {"type": "string", "minLength": 1, "maxLength": s.max_question_chars,
            "pattern": r"\S"}


def _k(s: Settings) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": s.max_k, "default": s.default_k,
            "nullable": True}


def _filter_value(s: Settings) -> dict:
    # Control characters are refused too (400 naming the parameter); the spec does not list them.
    return {"type": "string", "maxLength": s.filter_value_chars}


def _filter_values(s: Settings) -> dict:
    return {"type": "array", "items": _filter_value(s), "maxItems": s.max_filter_values}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {400: "参数不合法", 401: "缺少管理员令牌", 403: "令牌错误或未开启写入",
            404: "不存在", 405: "不支持的请求方法", 409: "索引与模型不符或正在更新",
            413: "上传过大", 415: "内容类型不支持", 422: "文件无法读取",
            500: "内部错误", 503: "索引不可用，或待识别的上传已满（busy，见 Retry-After）"}
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


_STR_OR_NULL = {"type": "string", "nullable": True}
# null beside a $ref: OpenAPI 3.0 validators ignore "nullable" next to allOf/$ref.
_NULL = {"type": "object", "nullable": True, "enum": [None]}
# Offsets: [start, end] into a text (what a ``tuple[int, int]`` of qa.types is).
_SPAN = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def schema_of(cls, notes: dict[str, dict] | None = None,
              only: tuple[str, ...] | None = None) -> dict:
    """The schema of dataclass ``cls`` as ``asdict`` gives it: every field (or those in
    ``only``) present, each typed by its annotation; ``notes`` adds to a field what its type
    does not say (a description, bounds)."""
    hints = get_type_hints(cls)
    names = only or tuple(f.name for f in fields(cls))
    notes = notes or {}
    return {"type": "object", "required": list(names),
            "properties": {n: {**type_schema(hints[n]), **notes.get(n, {})} for n in names}}


def type_schema(t) -> dict:
    """The schema of one annotation: str, int, float, bool; ``X | None`` (nullable); list[X];
    dict[str, X]; a tuple of ints (offsets, as ``_SPAN``); a dataclass (a $ref to its name)."""
    origin, args = get_origin(t), get_args(t)
    if origin in (Union, UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            raise TypeError(f"no schema for {t!r}: only X | None")
        inner = type_schema(rest[0])
        return {"allOf": [inner], "nullable": True} if "$ref" in inner else \
            {**inner, "nullable": True}
    if origin is list:
        return {"type": "array", "items": type_schema(args[0])}
    if origin is dict and args[0] is str:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    if origin is tuple and args and all(a is int for a in args):
        return {**_SPAN, "minItems": len(args), "maxItems": len(args)}
    if is_dataclass(t):
        return _ref(t.__name__)
    if t in _SCALARS:
        return {"type": _SCALARS[t]}
    raise TypeError(f"no schema for {t!r}")


# What the types of qa.types do not say, by field: descriptions and bounds.
_PAGE_META = {
    "page_id": {"description": "版面编号：更正（重新上传）或删除的单位"},
    "paper": {"description": "报纸名称"},
    "date": {"description": "出版日期 YYYY-MM-DD"},
    "page": {"minimum": 1, "description": "版次"},
}
_NOTES = {
    "Citation": {
        "issue": {"description": "期号（未指定时即版面编号）"},
        "source": {"description": "来源媒体（据…）"},
        "start": {"description": "段落在文章正文中的起始字符位置"},
        **_PAGE_META,
    },
    "Highlight": {
        "sentence": {"description": "回答句在 text 中的位置（一句；"
                                    "指代上文或难以确定时连同相邻一句，至多两句）"},
        "answer": {"description": "简短答案在 text 中的位置（阅读模型读出，"
                                  "它判断这段没有回答时为 null）"},
        "terms": {"description": "回答句中与问题相同的词"},
    },
    "Hit": {
        "rank": {"minimum": 1},
        "score": {"description": "融合排序分，只用于同一问题内排序，不宜作阈值"},
        "confidence": {"minimum": 0, "maximum": 1,
                       "description": "校准后的可信度：这段文字回答了问题的估计概率，"
                                      "不同问题之间可比，可作阈值"},
        "text": {"description": "引用的段落原文"},
        "also_in_more": {"minimum": 0, "description": "未列出的其他转载处数"},
        "more_in_article": {"items": _SPAN,
                            "description": "同一篇文章中另外命中的段落（在文章正文中的位置）"},
        "answer": {"description": "简短答案（text 中 highlight.answer 处的文字），没有则为 null"},
    },
    "Answer": {
        "found": {"description": "是否找到可靠答案；false 时 results 只是最接近的段落"},
    },
    "Article": _PAGE_META,
}


def _schemas(s: Settings) -> dict:
    question = _question(s)
    notes = {**_NOTES, "Hit": {**_NOTES["Hit"], "also_in": {
        "maxItems": s.max_reprints,
        "description": f"同一段文字的其他出处（转载），至多 {s.max_reprints} 处"}}}
    derived = {cls.__name__: schema_of(cls, notes.get(cls.__name__))
               for cls in (Citation, Highlight, Hit, Answer, Article)}
    return {
        "ErrorDetail": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"},
                           "message": {"type": "string", "description": "中文说明"}},
        },
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": _ref("ErrorDetail")}},
        "AskRequest": {
            "type": "object",
            "description": "问题用 q 或 question，条数用 k 或 top_k（与 GET 相同的名字）；"
                           "两个名字都给出时以 q、k 为准，但两个都须合法。",
            "anyOf": [{"required": ["q"]}, {"required": ["question"]}],
            "properties": {
                "q": question,
                "question": {**question, "description": "同 q"},
                "k": _k(s),
                "top_k": {**_k(s), "description": "同 k"},
                # null is taken as absent, as for top_k
                **{name: {"anyOf": [{**_filter_value(s), "nullable": True},
                                    _filter_values(s)],
                          "description": text}
                   for name, text in _TEXT_FILTERS},
                **{name: {**_DATE_OR_EMPTY, "nullable": True, "description": text}
                   for name, text in _DATE_FILTERS},
                "sort": {**_SORT, "nullable": True},
            },
        },
        **derived,
        "ArticleSummary": schema_of(Article, _PAGE_META, only=ARTICLE_SUMMARY),
        "ArticleList": {
            "type": "object", "required": ["page", "per_page", "total", "articles"],
            "properties": {"page": {"type": "integer"}, "per_page": {"type": "integer"},
                           "total": {"type": "integer"},
                           "articles": {"type": "array", "items": _ref("ArticleSummary")}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "generation", "model", "articles", "chunks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "generation": {"type": "string"}, "model": {"type": "string"},
                "articles": {"type": "integer"}, "chunks": {"type": "integer"},
                "issues": {"type": "integer"}, "pages": {"type": "integer"},
                "segments": {"type": "integer"}, "dense_index": {"type": "string"},
                "created": {"type": "string"},
            },
        },
        "Issue": {
            "type": "object",
            "required": ["id", "paper", "date", "number", "articles", "pages"],
            "properties": {
                "id": {"type": "string"}, "paper": _STR_OR_NULL,
                "date": _STR_OR_NULL, "number": _STR_OR_NULL,
                "articles": {"type": "integer"},
                "pages": {"type": "array", "items": {
                    "type": "object", "required": ["id", "page", "articles"],
                    "properties": {"id": {"type": "string"},
                                   "page": {"type": "integer", "nullable": True},
                                   "articles": {"type": "integer"}}}},
            },
        },
        "IssueList": {"type": "object", "required": ["issues"],
                      "properties": {"issues": {"type": "array", "items": _ref("Issue")}}},
        "Removed": {"type": "object", "required": ["generation", "removed"],
                    "properties": {"generation": _STR_OR_NULL,
                                   "removed": {"type": "array", "items": {"type": "string"}}}},
        "Unavailable": {
            "type": "object", "required": ["status", "error"],
            "properties": {"status": {"type": "string", "enum": ["unavailable"]},
                           "error": _ref("ErrorDetail")},
        },
        "JobAccepted": {
            "type": "object", "required": ["job", "status", "url"],
            "properties": {"job": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                                   "description": "任务编号"},
                           "status": {"type": "string", "enum": ["queued"]},
                           "url": {"type": "string", "description": "查询进度的地址"}},
        },
        "Job": {
            "type": "object",
            "required": ["id", "status", "pages_done", "pages", "file", "files", "result",
                         "error", "created", "updated"],
            "properties": {
                "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"],
                           "description": "queued 排队（同一时间只识别一个上传）；running 识别和"
                                          "写入中；done 完成（见 result）；failed 失败（见 error）"},
                "pages_done": {"type": "integer", "minimum": 0,
                               "description": "已识别的扫描页数"},
                "pages": {"type": "integer", "minimum": 0,
                          "description": "已知要识别的扫描页数（读到每个文件时累加）"},
                "file": {**_STR_OR_NULL, "description": "正在识别的文件"},
                "files": {"type": "array", "items": {"type": "string"},
                          "description": "这次上传的文件名"},
                "result": {"anyOf": [_ref("IssueResult"), _NULL],
                           "description": "完成时：与同步上传的回复相同；否则为 null"},
                "error": {"anyOf": [_ref("ErrorDetail"), _NULL],
                          "description": "失败时：与同步上传会返回的错误相同（code、message）；"
                                         "处理进程中断时 code 为 job_lost；否则为 null"},
                "created": {"type": "string", "format": "date-time"},
                "updated": {"type": "string", "format": "date-time",
                            "description": "最近一次进展或心跳"},
            },
        },
        "IssueResult": {
            "type": "object",
            "required": ["generation", "added", "articles", "unchanged", "skipped", "pages",
                         "replaced"],
            "properties": {
                "generation": _STR_OR_NULL,
                "added": {"type": "integer", "description": "写入的文章数（新增和替换）"},
                "articles": {"type": "array", "items": _ref("ArticleSummary")},
                "unchanged": {"type": "integer", "description": "内容未变、未重复添加的版面数"},
                "replaced": {"type": "array", "items": {"type": "string"},
                             "description": "被新内容替换的版面编号"},
                "pages": {"type": "object", "required": ["added", "replaced", "unchanged"],
                          "properties": {k: {"type": "array", "items": {"type": "string"}}
                                         for k in ("added", "replaced", "unchanged")}},
                "skipped": {"type": "array", "items": {
                    "type": "object", "required": ["name", "reason", "page"],
                    "properties": {"name": {"type": "string"}, "reason": {"type": "string"},
                                   "page": {"type": "integer", "nullable": True,
                                            "description": "PDF 中无法读取的那一页；整个文件被跳过时为 null"}}}},
            },
        },
    }


# Filters of /api/ask, applied inside retrieval; a text filter may be repeated (any of them).
_TEXT_FILTERS = [("source", "只看这些来源媒体（据…）的文章"), ("paper", "只看这些报纸"),
                 ("issue", "只看这些期")]
_DATE_FILTERS = [("date_from", "只看这一天及以后的（YYYY-MM-DD，无日期的文章不计）"),
                 ("date_to", "只看这一天及以前的")]
# An empty date field (as the search form sends it) sets no bound.
_DATE_OR_EMPTY = {"anyOf": [{"type": "string", "format": "date"},
                            {"type": "string", "maxLength": 0}]}
# Empty is the default order, as an empty date is no bound: a form may send the field empty.
_SORT = {"type": "string", "enum": ["relevance", "date", ""], "default": "relevance",
         "description": "relevance（或空）：最相关的在前；date：同样这些结果按日期新在前"}

_META_PARAMS = [
    ("issue", {"type": "string", "maxLength": 100, "pattern": r"^[\w-]+$"},
     "期号（不填时每个文件自成一期）"),
    ("date", {"type": "string", "format": "date"}, "出版日期 YYYY-MM-DD"),
    ("paper", {"type": "string", "maxLength": 100}, "报纸名称"),
    ("number", {"type": "string", "maxLength": 100}, "期号文字，如“第5000期”"),
    ("page", {"type": "integer", "minimum": 1, "maximum": 9999}, "版次（单个版面时）"),
]


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def _paths(s: Settings) -> dict:
    question = _question(s)
    k = {"type": "integer", "minimum": 1, "maximum": s.max_k, "default": s.default_k}
    return {
        "/api/ask": {
            "get": {
                "summary": "提问，返回附出处的段落", "operationId": "askGet",
                "description": "问题用 q 或 question（必须给出其一），条数用 k 或 top_k；"
                               "两个名字都给出时以 q、k 为准，但两个都须合法。",
                "parameters": [_query("q", question, "问题（中文）"),
                               _query("question", question, "同 q"),
                               _query("k", k, "返回的段落数"),
                               _query("top_k", k, "同 k"),
                               *[{**_query(name, _filter_values(s), text), "style": "form",
                                  "explode": True}
                                 for name, text in _TEXT_FILTERS],
                               *[_query(name, _DATE_OR_EMPTY, text)
                                 for name, text in _DATE_FILTERS],
                               _query("sort", _SORT, "结果顺序")],
                "responses": {"200": _json(_ref("Answer"), "答案"),
                              **_errors(400, 409, 500, 503)},
            },
            "post": {
                "summary": "提问（JSON 请求体）", "operationId": "askPost",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("AskRequest")}}},
                "responses": {"200": _json(_ref("Answer"), "答案"),
                              **_errors(400, 409, 413, 415, 500, 503)},
            },
        },
        "/api/articles": {
            "get": {
                "summary": "分页列出已收录的文章", "operationId": "listArticles",
                "parameters": [_query("page", {"type": "integer", "minimum": 1,
                                               "maximum": s.max_list_depth, "default": 1},
                                      f"页码：page × per_page 至多 {s.max_list_depth:,}"),
                               _query("per_page", {"type": "integer", "minimum": 1,
                                                   "maximum": 100, "default": 20}, "每页条数")],
                "responses": {"200": _json(_ref("ArticleList"), "文章列表"),
                              **_errors(400, 500, 503)},
            },
        },
        "/api/articles/{article_id}": {
            "get": {
                "summary": "一篇文章的全文", "operationId": "getArticle",
                "parameters": [{"name": "article_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("Article"), "文章"),
                              **_errors(404, 500, 503)},
            },
        },
        "/api/health": {
            "get": {
                "summary": "服务状态", "operationId": "health",
                "responses": {"200": _json(_ref("Health"), "可用"),
                              "503": _json(_ref("Unavailable"), "索引不可用")},
            },
        },
        "/api/issues": {
            "get": {
                "summary": "已收录的各期报纸及其版面", "operationId": "listIssues",
                "responses": {"200": _json(_ref("IssueList"), "各期报纸"),
                              **_errors(500, 503)},
            },
            "post": {
                "summary": "添加一期报纸（一个或多个版面文件）", "operationId": "addIssue",
                "description": "multipart 上传（字段 files，文本版面 .txt 或 PDF 版面 .pdf），"
                               "或以 text/plain、application/pdf、image/png、image/jpeg 或 "
                               "image/tiff 上传单个文件并用 ?name= 指明版面编号。"
                               "PDF 的每一页（TIFF 的每一帧）是这一期的一个版面。"
                               "含有需要文字识别的文件（扫描的 PDF，或 .png、.jpg、.jpeg、"
                               ".tif、.tiff 版面图片）时在后台处理：立即返回 202 和任务编号，"
                               "用 GET /api/jobs/{job_id} 查询进度和结果。"
                               "未配置 QA_ADMIN_TOKEN 时拒绝一切写入。",
                "security": [{"adminToken": []}],
                "parameters": [_query("name", {"type": "string"},
                                      "版面编号（不用 multipart 上传时必填）"),
                               *[_query(n, schema, d) for n, schema, d in _META_PARAMS]],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["files"],
                        "properties": {"files": {"type": "array", "minItems": 1, "items": {
                            "type": "string", "format": "binary"}},
                            **{n: schema for n, schema, _ in _META_PARAMS}}}},
                    "text/plain": {"schema": {"type": "string"}},
                    **{kind: {"schema": {"type": "string", "format": "binary"}}
                       for kind in ("application/pdf", "image/png", "image/jpeg", "image/tiff")},
                }},
                "responses": {"201": _json(_ref("IssueResult"), "已收录新文章（或替换了版面）"),
                              "200": _json(_ref("IssueResult"), "没有新内容，索引未变"),
                              "202": {**_json(_ref("JobAccepted"), "需要文字识别，已转入后台任务"),
                                      "headers": {"Location": {
                                          "description": "任务地址 /api/jobs/{job_id}",
                                          "schema": {"type": "string"}}}},
                              **_errors(400, 401, 403, 409, 413, 415, 422, 500, 503)},
            },
        },
        "/api/jobs/{job_id}": {
            "get": {
                "summary": "后台任务（需要文字识别的上传）的状态、进度和结果",
                "operationId": "getJob",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "job_id", "in": "path", "required": True,
                                "schema": {"type": "string"},
                                "description": "POST /api/issues 返回的任务编号"}],
                "responses": {"200": _json(_ref("Job"), "任务状态"),
                              **_errors(401, 403, 404, 500)},
            },
        },
        "/api/issues/{ident}": {
            "delete": {
                "summary": "删除一期报纸或一个版面", "operationId": "removeIssue",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "ident", "in": "path", "required": True,
                                "schema": {"type": "string"},
                                "description": "期号或版面编号（见 GET /api/issues）"}],
                "responses": {"200": _json(_ref("Removed"), "已删除"),
                              **_errors(400, 401, 403, 404, 409, 500, 503)},
            },
        },
        "/api/openapi.json": {
            "get": {
                "summary": "本文档", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.0 文档",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}},
            },
        },
    }


def spec(settings: Settings) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "报纸问答 API", "version": "1.0.0",
                 "description": "用中文向报纸档案提问，返回附出处（标题、来源媒体、版面）的段落。"
                                "所有错误都以 {\"error\": {\"code\", \"message\"}} 返回。"},
        "paths": _paths(settings),
        "components": {
            "schemas": _schemas(settings),
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer",
                                               "description": "QA_ADMIN_TOKEN"}},
        },
    }
