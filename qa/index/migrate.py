"""Copying an archive to another backend (embedded ↔ Milvus) without embedding anything again.

The pages and articles are read back through the ``Archive`` interface and written by
``Builder.build`` as a fresh index, which takes every vector from the source by the hash of the
text it embedded. The copy is chunked with the current settings; if they differ from those the
source was built with, some text was never embedded and the copy is refused rather than
embedded anew (``ReusedVectors``).
"""

from __future__ import annotations

from qa.config import Settings
from qa.errors import BadRequest
from qa.index.factory import open_backend
from qa.index.builder import Builder, BuildReport, Page

BATCH = 1_000


class ReusedVectors:
    """An encoder that has only the source archive's vectors: it names the source's model and
    refuses to embed."""

    def __init__(self, model_id: str, dim: int):
        self.model_id, self.dim = model_id, dim

    def encode_passages(self, texts, show_progress=False):
        raise BadRequest(f"复制时有 {len(texts)} 段文本在原索引中没有向量：分块设置"
                         f"（QA_CHUNK_CHARS、QA_CHUNK_OVERLAP_SENTENCES）与建索引时不同")


def read_pages(archive) -> list[Page]:
    """Every page the archive holds, with its articles in index order."""
    total, _ = archive.list_articles(0, 0)
    by_page: dict[str, list] = {}
    offset = 0
    while offset < total:
        _, items = archive.list_articles(offset, BATCH)
        if not items:
            break
        for summary in items:
            by_page.setdefault(summary["page_id"], []).append(archive.article(summary["id"]))
        offset += len(items)
    return [Page(r.id, r.issue, by_page.get(r.id, []), r.page, r.paper, r.date, r.number)
            for r in archive.pages().values()]


def migrate(source: Settings, target: Settings, progress: bool = False) -> BuildReport:
    """Build ``target``'s index from ``source``'s, reusing its vectors."""
    if (source.backend, source.index_dir, source.milvus_uri, source.milvus_db,
            source.milvus_prefix) == (target.backend, target.index_dir, target.milvus_uri,
                                      target.milvus_db, target.milvus_prefix):
        raise BadRequest("源索引与目标索引相同")
    archive = open_backend(source).open()
    pages = read_pages(archive)
    builder = Builder(target, ReusedVectors(archive.model, archive.dim))
    return builder.build(pages, progress=progress, reuse=archive)
