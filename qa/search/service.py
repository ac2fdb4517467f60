"""SearchService: the one thing the web layer and the CLI call to answer a question.

It holds the live index snapshot and swaps in a new generation when ``CURRENT`` changes (checked
at most once per ``reload_check_seconds``): the swap is a reference assignment, so a query in
flight finishes on the snapshot it started with. A new generation that fails to load is logged
and the old one keeps serving.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict

import numpy as np

from qa.chunking import split_sentences
from qa.config import Settings
from qa.errors import (BadQuestion, BadRequest, IndexCorrupt, IndexNotFound, ModelMismatch,
                       NotFound, QAError)
from qa.index.lexical import tokenize
from qa.index.store import IndexStore, Snapshot
from qa.ingest.decode import normalise
from qa.search.answer import pick
from qa.search.answer_type import boost
from qa.search.confidence import confidence, features
from qa.search.fusion import Fused, fuse
from qa.search.grouping import Candidate, Group, group
from qa.search.highlight import term_spans
from qa.search.window import passage_span
from qa.types import Answer, Article, Citation, Highlight, Hit

log = logging.getLogger(__name__)


class SearchService:
    def __init__(self, settings: Settings, encoder=None):
        self.settings = settings
        self._encoder = encoder
        self.store = IndexStore(settings.index_dir)
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- resources -------------------------------------------------------------------------

    @property
    def encoder(self):
        if self._encoder is None:
            from qa.embedding import Encoder

            s = self.settings
            self._encoder = Encoder(s.model, s.cache_dir, s.query_prompt, s.passage_prompt,
                                    s.embed_batch_size, s.encoder_backend)
        return self._encoder

    def snapshot(self, force: bool = False) -> Snapshot:
        """The generation to answer from. Looks at ``CURRENT`` at most once per
        ``reload_check_seconds``; while one thread loads a new generation the others go on
        answering from the old one instead of queueing behind the load."""
        snap = self._snapshot
        if snap is not None and not force:
            if time.monotonic() - self._checked < self.settings.reload_check_seconds:
                return snap
            if not self._lock.acquire(blocking=False):
                return snap
        else:
            self._lock.acquire()
        try:
            name = self.store.current_name()
            # A generation that failed its checks is not re-hashed on every request: it can only
            # be fixed by a new build, which brings a new name.
            if self._snapshot is None or name not in (self._snapshot.name, self._failed):
                try:
                    self._snapshot = self.store.load(name, model=self.encoder.model_id)
                    log.info("serving index generation %s", name)
                except (IndexCorrupt, IndexNotFound, ModelMismatch) as e:
                    if self._snapshot is None:
                        raise
                    self._failed = name
                    log.error("keeping generation %s: %s", self._snapshot.name, e.message)
            # Stamped after the load, so a slow load is not mistaken for a fresh check.
            self._checked = time.monotonic()
            return self._snapshot
        finally:
            self._lock.release()

    def reload(self) -> Snapshot:
        """Switch to the current generation now (after this process wrote one)."""
        return self.snapshot(force=True)

    # -- questions -------------------------------------------------------------------------

    def validate(self, question, k) -> tuple[str, int]:
        if not isinstance(question, str):
            raise BadQuestion("问题必须是文本")
        q = " ".join(normalise(question).split())
        if not q:
            raise BadQuestion("请输入问题")
        if len(q) > self.settings.max_question_chars:
            raise BadQuestion(f"问题过长（{len(q)} 字），最多 {self.settings.max_question_chars} 字")
        if k is None:
            k = self.settings.default_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise BadRequest(f"k 必须是 1 到 {self.settings.max_k} 之间的整数")
        return q, k

    def _query_vector(self, q: str) -> np.ndarray:
        vec = self._query_cache.get(q)
        if vec is None:
            vec = self.encoder.encode_queries([q])[0]
            self._query_cache[q] = vec
            if len(self._query_cache) > 2048:
                self._query_cache.popitem(last=False)
        return vec

    def lexical_weight(self, q: str, lexical: dict[int, float], snap: Snapshot) -> float:
        """How far to trust BM25 for this query: by how much of the query's idf mass its best
        chunk contains (see config)."""
        lo, hi = self.settings.lexical_weight_min, self.settings.lexical_weight_max
        if not lexical:
            return lo
        best = max(lexical, key=lexical.get)
        return lo + (hi - lo) * snap.lexical.coverage(q, best)

    def ask(self, question, k=None, **filters) -> Answer:
        """The ``k`` best passages for ``question``, grouped by article, each with its
        answering sentence and a calibrated confidence; ``found`` says whether any answers.
        ``filters`` (outlet, issue, dates) are reserved for the index rewrite (issue 12 item 5);
        until then any given is refused by name."""
        q, k = self.validate(question, k)
        if filters:
            raise BadRequest(f"不支持的参数：{'、'.join(sorted(filters))}")
        snap = self.snapshot()
        self.encoder   # loaded before the clock starts: took_ms is the search, not start-up
        started = time.perf_counter()
        n = max(self.settings.candidates, k)
        scores, ids = snap.dense.search(self._query_vector(q)[None, :], n)
        dense = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
        lscores, lids = snap.lexical.search(q, n)
        lexical = {int(i): float(s) for s, i in zip(lscores, lids)}
        hits = self.answer(q, k, dense, lexical, snap)
        found = bool(hits) and hits[0].confidence >= self.settings.found_confidence
        return Answer(q, hits, round((time.perf_counter() - started) * 1000, 1), found)

    def answer(self, q: str, k: int, dense: dict[int, float], lexical: dict[int, float],
               snap: Snapshot) -> list[Hit]:
        """From the two candidate lists to results: fuse, group by article, pick the
        answering sentence, calibrate. Benchmarks call it with candidates they have edited."""
        ranked = self._rank(q, dense, lexical, snap)
        groups = group(((snap.chunks[f.id]["citations"][0]["article_id"], f) for f in ranked),
                       lambda f: self._candidate(f, snap), k, self.settings.paragraph_max_chars)
        idf = snap.lexical.idf(q)
        return [self._hit(rank, g, q, idf, snap) for rank, g in enumerate(groups, 1)]

    def _rank(self, q: str, dense: dict[int, float], lexical: dict[int, float],
              snap: Snapshot) -> list[Fused]:
        fused = fuse(dense, lexical, self.lexical_weight(q, lexical, snap))
        return boost(fused, q, lambda i: snap.chunks[i]["text"], self.settings.answer_type_bonus)

    def _candidate(self, f: Fused, snap: Snapshot) -> Candidate:
        a, span = self._passage(snap.chunks[f.id]["citations"][0], snap)
        return Candidate(a.id, span, a.text[span[0]:span[1]], f)

    def _passage(self, c: dict, snap: Snapshot) -> tuple[Article, tuple[int, int]]:
        """Where a chunk citation is shown: its paragraph, widened."""
        a, s = snap.articles[c["article_id"]], self.settings
        return a, passage_span(a.text, _sentences(a.text), c["start"], c["end"],
                               s.passage_min_chars, s.paragraph_max_chars)

    def _hit(self, rank: int, g: Group, q: str, idf: dict[str, float], snap: Snapshot) -> Hit:
        a = snap.articles[g.first.article]
        start, end = g.span
        text = a.text[start:end]
        chosen = pick(q, text, passage_sentences(a.text, start, end), idf, tokenize)
        f: Fused = g.first.ref
        raw = snap.chunks[f.id]["citations"]
        also = [self._cite(*self._passage(c, snap)) for c in raw[1:]]
        for o in g.also:
            also.append(self._cite(snap.articles[o.article], o.span))
        sure = confidence(features(q, a.title, text, chosen, f.dense, idf, tokenize))
        return Hit(rank=rank, score=round(f.score, 4), confidence=round(sure, 3),
                   scores={"dense": _round(f.dense), "lexical": _round(f.lexical)},
                   text=text, highlight=Highlight(chosen.sentence, chosen.answer,
                                                  term_spans(text, q, tokenize, chosen.sentence)),
                   citation=self._cite(a, g.span), also_in=also,
                   more_in_article=[list(m.span) for m in g.more])

    @staticmethod
    def _cite(a: Article, span: tuple[int, int]) -> Citation:
        return Citation(issue=a.issue, article_id=a.id, title=a.title, source=a.source,
                        start=span[0], end=span[1])

    # -- articles and health ---------------------------------------------------------------

    def article(self, article_id: str) -> Article:
        a = self.snapshot().articles.get(article_id)
        if a is None:
            raise NotFound(f"没有这篇文章：{article_id}")
        return a

    def articles(self, page: int = 1, per_page: int = 20) -> dict:
        if page < 1 or not 1 <= per_page <= 100:
            raise BadRequest("page 必须 ≥ 1，per_page 必须在 1 到 100 之间")
        items = list(self.snapshot().articles.values())
        chunk = items[(page - 1) * per_page: page * per_page]
        return {"page": page, "per_page": per_page, "total": len(items),
                "articles": [{"id": a.id, "issue": a.issue, "title": a.title,
                              "source": a.source} for a in chunk]}

    def health(self) -> dict:
        try:
            snap = self.snapshot()
        except QAError as e:
            return {"status": "unavailable", "error": e.message}
        m = snap.manifest
        return {"status": "ok", "generation": snap.name, "model": m["model"],
                "articles": m["counts"]["articles"], "chunks": m["counts"]["chunks"],
                "issues": m["counts"]["issues"], "dense_index": m["dense"]["kind"],
                "created": m["created"]}


@functools.lru_cache(maxsize=4096)
def _sentences(text: str) -> list[tuple[int, int]]:
    return split_sentences(text)


def passage_sentences(article_text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The article's sentences that fall in ``[start, end)``, relative to ``start``."""
    return [(max(s, start) - start, min(e, end) - start)
            for s, e in _sentences(article_text) if s < end and e > start]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def answer_dict(answer: Answer) -> dict:
    return asdict(answer)
