"""``/api/issues`` writes: who may write, reading the uploaded pages and the issue's metadata,
and handing them to ``IssueService`` — at once, or as a background job (``qa.jobs``) when a file
needs OCR. Upload names are only ever passed on as names; ingest derives a safe page id from
them and nothing here touches the filesystem."""

from __future__ import annotations

import hmac

from flask import request

from qa.errors import BadIssueFile, BadRequest, Forbidden, Unauthorized
from qa.ingest import FileProgress, file_type, is_scan
from qa.ingest.scan import IMAGE_TYPES, ScanSettings, check_image
from qa.issues import IssueMeta, IssueService
from qa.jobs import Jobs
from qa.search.service import SearchService
from qa.web.errors import UnsupportedMediaType

META_FIELDS = ("issue", "date", "paper", "number", "page")


def authorise(header: str | None, token: str | None) -> None:
    if not token:
        raise Forbidden("本服务未开启写入：管理员未设置 QA_ADMIN_TOKEN，不能添加报纸")
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("需要管理员令牌：请在请求头中加入 Authorization: Bearer <令牌>")
    # Headers arrive latin-1 decoded (WSGI); compare bytes so any token compares in constant time.
    if not hmac.compare_digest(given.strip().encode("latin-1", "replace"), token.encode("utf-8")):
        raise Forbidden("管理员令牌不正确")


# A single file sent as the body, by its content type: the suffix its name gets (ingest reads a
# file by its suffix; a text page needs none).
BODY_TYPES = {"text/plain": "", "application/pdf": ".pdf", "image/png": ".png",
              "image/jpeg": ".jpg", "image/tiff": ".tif"}


def files_from_request() -> list[tuple[str, bytes]]:
    if request.mimetype == "multipart/form-data":
        uploaded = request.files.getlist("files")
        if not uploaded:
            raise BadRequest("请在表单字段 files 中上传一个或多个版面文件")
        return [(f.filename or "page.txt", f.read()) for f in uploaded]
    if request.mimetype in BODY_TYPES:
        name = request.args.get("name", "").strip()
        if not name:
            raise BadRequest("以纯文本、PDF 或图片上传时须用 ?name=<版面编号> 指明版面")
        suffix = BODY_TYPES[request.mimetype]
        if suffix and not name.lower().endswith(suffix):
            name += suffix
        return [(name, request.get_data(cache=False))]
    raise UnsupportedMediaType("请用 multipart/form-data（字段 files）、text/plain; charset=utf-8、"
                               "application/pdf 或 image/png、image/jpeg、image/tiff 上传版面")


def meta_from_request() -> IssueMeta:
    """Issue metadata from form fields or query parameters (a form field wins)."""
    values = {}
    for name in META_FIELDS:
        value = request.form.get(name) if request.mimetype == "multipart/form-data" else None
        values[name] = value if value not in (None, "") else (request.args.get(name) or None)
    return IssueMeta.parse(**values)


def issues(service: SearchService, encoder) -> IssueService:
    return IssueService(service.settings, encoder, service.backend)


def needs_job(files: list[tuple[str, bytes]]) -> bool:
    """Whether reading the upload takes OCR (seconds a page): then it is a job, not a reply."""
    return any(is_scan(data, name) for name, data in files)


def submit(files: list[tuple[str, bytes]], meta: IssueMeta, service: SearchService,
           jobs: Jobs) -> dict:
    """``add`` as a background job; the job as ``GET /api/jobs/<id>`` shows it. The job holds
    the files' bytes until it has read them. When every file is refused from its header alone
    (an image too large, no image at all), the upload is refused at once (422), with no job."""
    refused = _refused_at_once(files, service.settings)
    if len(refused) == len(files):
        raise BadIssueFile("没有可以收录的文章（" + "；".join(refused) + "）")
    return jobs.submit(lambda progress: add(files, meta, service, progress),
                       [name for name, _ in files])


def _refused_at_once(files: list[tuple[str, bytes]], settings) -> list[str]:
    refused = []
    for name, data in files:
        if file_type(name) not in IMAGE_TYPES:
            continue
        try:
            check_image(data, name, ScanSettings.of(settings), settings.max_pdf_pages)
        except BadIssueFile as e:
            refused.append(f"{name}：{e.reason}")
    return refused


def add(files: list[tuple[str, bytes]], meta: IssueMeta, service: SearchService,
        progress: FileProgress | None = None) -> dict:
    # the service's own encoder, so a worker never holds two copies of the model
    issue_service = issues(service, service.encoder)
    pages, skipped = issue_service.read(files, meta, progress)
    result = issue_service.add(pages, skipped, len(files)).to_dict()
    if result["added"]:
        # Other workers pick the new generation up on their next reload check; this one must
        # see it on the uploader's very next request.
        service.reload()
    return result


def remove(ident: str, service: SearchService) -> dict:
    # removing embeds nothing: a worker that has not loaded the model yet does not load it
    report = issues(service, service.loaded_encoder).remove([ident])
    service.reload()
    return {"generation": report.generation, "removed": report.removed}
