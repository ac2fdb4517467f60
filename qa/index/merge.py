"""Merging segments: which to merge (the policy) and how (live documents only, into one).

Every add writes a small segment, so segments pile up, and every query pays for each one. The
policy keeps their number logarithmic in the archive's size, as Lucene's tiered policy does:

* segments are grouped in tiers by live size (``floor`` chunks, then ×``factor`` per tier);
  once a tier holds ``factor`` segments, they are merged into one of the next tier;
* a segment with more than ``max_deleted`` of its chunks deleted is rewritten without them;
* exact-search (flat) segments are also merged when together they exceed ``exact_max``,
  so exact search never scans more than about ``exact_max`` vectors in all.

A merge is cheap while its result stays flat (arrays are concatenated and postings renumbered:
no tokenising, no embedding) and runs right after the add that called for it. A merge whose
result needs an HNSW graph takes seconds to minutes, so it never runs on the request path: it is
left to ``qa compact`` — started in the background after an add, or by hand or cron.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.index.lexical import Postings
from qa.index.segment import PageRecord, Segment, SegmentData


@dataclass(frozen=True)
class Policy:
    floor: int = 1_000
    factor: int = 10
    max_deleted: float = 0.3
    exact_max: int = 20_000


@dataclass(frozen=True)
class Candidate:
    name: str
    live: int          # live chunks
    total: int         # chunks, deleted ones included
    kind: str          # flat | hnsw


def plan(segments: list[Candidate], policy: Policy) -> list[list[str]]:
    """Groups of segment names to merge, each into one new segment."""
    merges: list[list[str]] = []
    taken: set[str] = set()

    def take(group: list[Candidate]) -> None:
        merges.append([c.name for c in group])
        taken.update(c.name for c in group)

    for c in segments:
        if c.total and (c.total - c.live) / c.total > policy.max_deleted:
            take([c])
    tiers: dict[int, list[Candidate]] = {}
    for c in segments:
        if c.name not in taken:
            tiers.setdefault(_tier(c.live, policy), []).append(c)
    for tier in sorted(tiers):
        group = sorted(tiers[tier], key=lambda c: c.live)
        while len(group) >= policy.factor:
            take(group[:policy.factor])
            group = group[policy.factor:]
    flats = [c for c in segments if c.kind == "flat" and c.name not in taken]
    if len(flats) > 1 and sum(c.live for c in flats) > policy.exact_max:
        take(flats)
    return merges


def _tier(size: int, policy: Policy) -> int:
    tier, bound = 0, policy.floor * policy.factor
    while size >= bound:
        tier, bound = tier + 1, bound * policy.factor
    return tier


def merged_size(group: list[str], segments: list[Candidate]) -> int:
    live = {c.name: c.live for c in segments}
    return sum(live[n] for n in group)


def merge(parts: list[tuple[Segment, set[int]]]) -> SegmentData:
    """One segment's data holding the live documents of ``parts`` (segment, deleted page
    numbers), oldest first, in their order."""
    pages: list[PageRecord] = []
    articles = []
    chunk_article, spans, hashes, embeds, vectors = [], [], [], [], []
    triples = []
    lengths = []
    offset = 0
    for seg, deleted in parts:
        dead_articles, dead_chunks = seg.dead_masks(deleted)
        live_chunks = ~dead_chunks
        article_numbers = np.full(seg.articles, -1, np.int64)
        for n, p in enumerate(seg.pages):
            if n not in deleted:
                pages.append(PageRecord(**p))
        for i in np.flatnonzero(~dead_articles):
            article_numbers[i] = len(articles)
            articles.append(seg.article(int(i)))
        keep = np.flatnonzero(live_chunks)
        chunk_article.append(article_numbers[np.asarray(seg.chunk_article)[keep]])
        spans.append(np.asarray(seg.chunk_span)[keep])
        hashes.append(np.asarray(seg.chunk_hash)[keep])
        embeds.append(np.asarray(seg.embed_hash)[keep])
        vectors.append(np.asarray(seg.vectors.vectors)[keep])
        renumber = np.full(seg.chunks, -1, np.int64)
        renumber[keep] = np.arange(len(keep)) + offset
        triples.append(seg.postings.triples(live_chunks, renumber))
        lengths.append(np.asarray(seg.postings.lengths)[keep])
        offset += len(keep)
    keys, docs, tfs = (np.concatenate([t[i] for t in triples]) for i in range(3))
    postings = Postings.from_triples(keys.astype(np.uint64), docs.astype(np.int32), tfs,
                                     np.concatenate(lengths))
    dim = parts[0][0].vectors.vectors.shape[1]
    return SegmentData(pages, articles,
                       np.concatenate(chunk_article).astype(np.int32),
                       np.concatenate(spans).reshape(-1, 2).astype(np.int32),
                       np.concatenate(hashes).astype(np.uint64),
                       np.concatenate(embeds).astype(np.uint64),
                       np.concatenate(vectors).reshape(-1, dim).astype(np.float32, copy=False),
                       postings=postings)
