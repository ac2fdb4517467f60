"""JSON Lines corpora: `{"id","title","text", optional "source","date","url","issue","paper",
"page"}` per line, so other collections (the public QA benches, an export of a newspaper's
archive) go through the same pipeline as newspaper pages. Each record is a page of its own: its
id identifies it, so a record added again with other content replaces the one held."""

from __future__ import annotations

import json
from qa.errors import BadIssueFile
from qa.ids import ID_MAX, is_name_id, page_id, valid_id
from qa.ingest.decode import normalise
from qa.types import Article


def read_corpus(text: str, name: str) -> list[Article]:
    issue = page_id(name)
    articles, seen = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadIssueFile(name, f"第 {n} 行不是合法的 JSON（{e.msg}）") from None
        except (ValueError, RecursionError):    # a number of 4,300+ digits; nesting too deep
            raise BadIssueFile(name, f"第 {n} 行不是合法的 JSON（数字过长或嵌套过深）") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or \
                not rec["text"].strip():
            raise BadIssueFile(name, f"第 {n} 行缺少 text 字段")
        for field in ("title", "source", "date", "url", "issue", "paper"):
            if rec.get(field) is not None and not isinstance(rec[field], (str, int)):
                raise BadIssueFile(name, f"第 {n} 行的 {field} 必须是文本")
        body = normalise(rec["text"]).strip()
        paras = [p.strip() for p in body.split("\n") if p.strip()]
        text_joined = "\n".join(paras)
        offsets, pos = [], 0
        for p in paras:
            offsets.append((pos, pos + len(p)))
            pos += len(p) + 1
        art_id = rec.get("id") or f"{issue}-{n}"
        if isinstance(art_id, int) and not isinstance(art_id, bool):
            art_id = str(art_id)
        if not valid_id(art_id):
            raise BadIssueFile(name, f"第 {n} 行的 id 不合法：{_shown(art_id)}（{ID_RULE}）")
        own_issue = _text(rec.get("issue"))
        if own_issue is not None and not is_name_id(own_issue):
            raise BadIssueFile(name, f"第 {n} 行的 issue 不合法：{_shown(own_issue)}"
                                     f"（只能由字母、数字、汉字、- 和 _ 组成）")
        if art_id in seen:
            raise BadIssueFile(name, f"第 {n} 行的 id 重复：{art_id}")
        seen.add(art_id)
        page = rec.get("page")
        articles.append(Article(
            id=art_id, issue=own_issue or issue,
            title=_text(rec.get("title")),
            source=_text(rec.get("source")), text=text_joined, paragraphs=paras,
            offsets=offsets, date=_text(rec.get("date")), url=_text(rec.get("url")),
            page_id=art_id, page=page if isinstance(page, int) and page > 0 else None,
            paper=_text(rec.get("paper"))))
    if not articles:
        raise BadIssueFile(name, "没有任何记录")
    return articles


def _text(value) -> str | None:
    """A metadata field as text, or None when absent or empty."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return normalise(str(value)).strip() or None


ID_RULE = f"只能由字母、数字、汉字、-、_ 和 . 组成，不以 . 开头，最多 {ID_MAX} 字"


def _shown(value) -> str:
    """A refused value as a reader may see it: escapes and control characters made visible,
    long ones cut."""
    text = value if isinstance(value, str) and value.isprintable() else ascii(value)
    return text[:60] + ("…" if len(text) > 60 else "")
