"""JSON Lines corpora: `{"id","title","text", optional "source","date","url","issue","paper",
"page"}` per line, so other collections (the public QA benches, an export of a newspaper's
archive) go through the same pipeline as newspaper pages. Each record is a page of its own: its
id identifies it, so a record added again with other content replaces the one held."""

from __future__ import annotations

import json
from pathlib import Path

from qa.errors import BadIssueFile
from qa.ingest.decode import normalise
from qa.types import Article


def read_corpus(text: str, name: str) -> list[Article]:
    issue = Path(name).stem
    articles, seen = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadIssueFile(name, f"第 {n} 行不是合法的 JSON（{e.msg}）") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or \
                not rec["text"].strip():
            raise BadIssueFile(name, f"第 {n} 行缺少 text 字段")
        body = normalise(rec["text"]).strip()
        paras = [p.strip() for p in body.split("\n") if p.strip()]
        text_joined = "\n".join(paras)
        offsets, pos = [], 0
        for p in paras:
            offsets.append((pos, pos + len(p)))
            pos += len(p) + 1
        art_id = str(rec.get("id") or f"{issue}-{n}")
        if art_id in seen:
            raise BadIssueFile(name, f"第 {n} 行的 id 重复：{art_id}")
        seen.add(art_id)
        page = rec.get("page")
        articles.append(Article(
            id=art_id, issue=str(rec.get("issue") or issue),
            title=(normalise(rec["title"]).strip() or None) if rec.get("title") else None,
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
