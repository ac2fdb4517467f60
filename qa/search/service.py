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
from qa.search import messages
from qa.search.answer_type import boost
from qa.search.fusion import Fused, fuse
from qa.search.highlight import highlight
from qa.search.window import passage_span
from qa.types import Answer, Article, Citation, Hit

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
            raise BadQuestion(messages.QUESTION_NOT_TEXT)
        q = " ".join(normalise(question).split())
        if not q:
            raise BadQuestion(messages.QUESTION_EMPTY)
        if len(q) > self.settings.max_question_chars:
            raise BadQuestion(messages.question_too_long(len(q), self.settings.max_question_chars))
        if k is None:
            k = self.settings.default_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise BadRequest(messages.bad_k(self.settings.max_k))
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

    def ask(self, question, k=None) -> Answer:
        q, k = self.validate(question, k)
        snap = self.snapshot()
        self.encoder   # loaded before the clock starts: took_ms is the search, not start-up
        started = time.perf_counter()
        n = max(self.settings.candidates, k)
        scores, ids = snap.dense.search(self._query_vector(q)[None, :], n)
        dense = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
        lscores, lids = snap.lexical.search(q, n)
        lexical = {int(i): float(s) for s, i in zip(lscores, lids)}
        hits: list[Hit] = []
        shown: dict[str, list[tuple[int, int]]] = {}
        for f in self._rank(q, dense, lexical, snap):
            raw = snap.chunks[f.id]["citations"]
            # A chunk already inside a better hit's passage adds nothing but a repeat.
            spans = shown.setdefault(raw[0]["article_id"], [])
            if any(s <= raw[0]["start"] and raw[0]["end"] <= e for s, e in spans):
                continue
            cites = [self._citation(c, snap) for c in raw]
            spans.append((cites[0].start, cites[0].end))
            hits.append(self._hit(len(hits) + 1, f, cites, q, snap))
            if len(hits) == k:
                break
        return Answer(q, hits, round((time.perf_counter() - started) * 1000, 1))

    def _rank(self, q: str, dense: dict[int, float], lexical: dict[int, float],
              snap: Snapshot) -> list[Fused]:
        fused = fuse(dense, lexical, self.lexical_weight(q, lexical, snap))
        return boost(fused, q, lambda i: snap.chunks[i]["text"], self.settings.answer_type_bonus)

    @staticmethod
    def _hit(rank: int, f, cites: list[Citation], q: str, snap: Snapshot) -> Hit:
        first = cites[0]
        text = snap.articles[first.article_id].text[first.start:first.end]
        return Hit(rank=rank, score=round(f.score, 4),
                   scores={"dense": _round(f.dense), "lexical": _round(f.lexical)},
                   text=text, highlight=highlight(text, q, tokenize),
                   citation=first, also_in=cites[1:])

    def _citation(self, c: dict, snap: Snapshot) -> Citation:
        """Where the passage stands in its article: the chunk's paragraph, widened."""
        a, s = snap.articles[c["article_id"]], self.settings
        start, end = passage_span(a.text, _sentences(a.text), c["start"], c["end"],
                                  s.passage_min_chars, s.paragraph_max_chars)
        return Citation(issue=a.issue, article_id=a.id, title=a.title, source=a.source,
                        start=start, end=end)

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


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def answer_dict(answer: Answer) -> dict:
    return asdict(answer)
