"""JSON Lines corpora: `{"id","title","text", optional "source","date","url"}` per line, so other
collections (the public QA benches) go through the same pipeline as newspaper pages."""

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
            raise BadIssueFile(f"{name}: 第 {n} 行不是合法的 JSON（{e.msg}）") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or \
                not rec["text"].strip():
            raise BadIssueFile(f"{name}: 第 {n} 行缺少 text 字段")
        body = normalise(rec["text"]).strip()
        paras = [p.strip() for p in body.split("\n") if p.strip()]
        text_joined = "\n".join(paras)
        offsets, pos = [], 0
        for p in paras:
            offsets.append((pos, pos + len(p)))
            pos += len(p) + 1
        art_id = str(rec.get("id") or f"{issue}-{n}")
        if art_id in seen:
            raise BadIssueFile(f"{name}: 第 {n} 行的 id 重复：{art_id}")
        seen.add(art_id)
        articles.append(Article(
            id=art_id, issue=str(rec.get("issue") or issue),
            title=(normalise(rec["title"]).strip() or None) if rec.get("title") else None,
            source=rec.get("source") or None, text=text_joined, paragraphs=paras,
            offsets=offsets, date=rec.get("date"), url=rec.get("url")))
    if not articles:
        raise BadIssueFile(f"{name}: 没有任何记录")
    return articles
