"""Lexical index: a small interface and its BM25 backend (bm25s over jieba tokens).

BM25 catches what embeddings blur: names, numbers, rare terms. Chinese has no spaces, so text is
cut with jieba in search mode, which emits a long word *and* its dictionary sub-words
(社会工作者 → 社会 / 工作 / 工作者 / 社会工作者), so a question matches whichever granularity
it happens to use.
"""

from __future__ import annotations

import functools
import json
import logging
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Protocol

import bm25s
import jieba
import numpy as np

from qa.errors import IndexCorrupt

# bm25s sets its own logger to DEBUG on import; its per-build chatter is not ours to print.
logging.getLogger("bm25s").setLevel(logging.WARNING)

jieba.setLogLevel(logging.WARNING)

# Question words only. Questions are full of them and passages rarely contain them, so idf rates
# them high and they reward the odd passage that happens to ask something. Function words
# (的 了 是 在 …) are left in: idf already makes them cheap, and dropping them measured no better
# or slightly worse (benchmarks/lexical_ablation.py).
STOPWORDS = frozenset(
    "什么 哪 哪些 哪个 哪里 哪儿 哪一 哪一年 哪位 谁 怎么 怎样 如何 为什么 为何 何时 多少 几 多久 吗 呢"
    .split())

_FORMAT = 1


@functools.lru_cache(maxsize=1)
def userdict_terms() -> tuple[str, ...]:
    """Domain terms shipped in ``userdict.txt`` (``#`` starts a comment line)."""
    text = resources.files("qa.index").joinpath("userdict.txt").read_text(encoding="utf-8")
    return tuple(line.split()[0] for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


class Tokenizer:
    """jieba search-mode tokens, lower-cased, without punctuation, whitespace and stopwords.

    Owns a private ``jieba.Tokenizer`` so domain terms never leak into other users of jieba's
    global one. Fully initialised in the constructor: afterwards it is only read, which makes it
    safe to share between web-server threads.
    """

    def __init__(self, terms: tuple[str, ...] = (), stopwords: frozenset[str] = frozenset()):
        self.terms = tuple(terms)
        self.stopwords = frozenset(stopwords)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for term in self.terms:
            self._jieba.add_word(term)

    def __call__(self, text: str) -> list[str]:
        tokens = (t.strip().lower() for t in self._jieba.lcut_for_search(text))
        return [t for t in tokens if t and t not in self.stopwords and not _is_punctuation(t)]

    def config(self) -> dict:
        return {"terms": list(self.terms), "stopwords": sorted(self.stopwords)}


def _is_punctuation(token: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZC" for c in token)


def get_tokenizer(terms: tuple[str, ...] | None = None,
                  stopwords: frozenset[str] = STOPWORDS) -> Tokenizer:
    """A shared tokenizer; ``terms=None`` means the shipped user dictionary."""
    return _shared(userdict_terms() if terms is None else tuple(terms), frozenset(stopwords))


@functools.lru_cache(maxsize=4)
def _shared(terms: tuple[str, ...], stopwords: frozenset[str]) -> Tokenizer:
    # Building a tokenizer loads jieba's dictionary (about a second and tens of MB): an index
    # reloaded after every new issue must not pay that again.
    return Tokenizer(terms, stopwords)


def tokenize(text: str) -> list[str]:
    """The tokens the lexical index uses, with the shipped user dictionary and stopwords."""
    return get_tokenizer()(text)


class LexicalIndex(Protocol):
    def add(self, ids: list[int], texts: list[str]) -> None: ...

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of at most ``k`` matching documents, best first (1-D arrays)."""
        ...

    def coverage(self, query: str, doc_id: int) -> float:
        """Share of the query's idf mass that document ``doc_id`` contains, in [0, 1]."""
        ...

    def idf(self, text: str) -> dict[str, float]:
        """Each distinct token of ``text`` with its idf."""
        ...

    def __len__(self) -> int: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex": ...


class BM25Index:
    """BM25 (bm25s defaults: Lucene variant, k1=1.5, b=0.75) over :class:`Tokenizer` tokens.

    The token lists are kept (and saved) next to the bm25s matrices: idf and average length are
    corpus-wide, so ``add`` rebuilds the whole index from them without re-tokenising. That takes
    seconds even for a large newspaper archive.
    """

    def __init__(self, tokenizer: Tokenizer | None = None):
        self.tokenizer = tokenizer or get_tokenizer()
        self._ids = np.zeros(0, np.int64)
        self._tokens: list[list[str]] = []
        self._bm25: bm25s.BM25 | None = None
        # Position of each id and document frequency of each token, for ``coverage``; made on
        # first use and dropped whenever the documents change.
        self._doc_stats: tuple[dict[int, int], dict[str, int]] | None = None

    @classmethod
    def build(cls, ids: list[int], texts: list[str], tokenizer: Tokenizer | None = None) -> "BM25Index":
        index = cls(tokenizer)
        index.add(ids, texts)
        return index

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: list[int], texts: list[str]) -> None:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        all_ids = np.concatenate([self._ids, ids])
        if len(np.unique(all_ids)) != len(all_ids):
            raise ValueError("duplicate ids in the lexical index")
        self._tokens = self._tokens + [self.tokenizer(t) for t in texts]
        self._ids = all_ids
        self._reindex()

    def _reindex(self) -> None:
        self._doc_stats = None
        if not self._tokens:
            self._bm25 = None   # bm25s cannot index an empty corpus
            return
        self._bm25 = bm25s.BM25()
        self._bm25.index(self._tokens, show_progress=False)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Only documents sharing a token with the query are returned, so a query without known
        tokens gets empty arrays rather than an arbitrary ranking of zero scores."""
        empty = np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self._bm25 is None or k < 1:
            return empty
        known = [t for t in self.tokenizer(query) if t in self._bm25.vocab_dict]
        if not known:
            return empty
        scores = np.asarray(self._bm25.get_scores(known), dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]      # best first, ties by position
        top = top[scores[top] > 0]
        return scores[top], self._ids[top]

    def coverage(self, query: str, doc_id: int) -> float:
        """How much of what the query says lexically this document says too: the idf-weighted
        share of the query's distinct tokens found in it. Tokens the corpus never uses count
        against it (with the highest idf), which is what a paraphrase looks like to BM25."""
        idf = self.idf(query)
        pos = self._stats()[0].get(int(doc_id))
        if not idf or pos is None:
            return 0.0
        doc = set(self._tokens[pos])
        return sum(w for t, w in idf.items() if t in doc) / sum(idf.values())

    def idf(self, text: str) -> dict[str, float]:
        """Each distinct token of ``text`` with its idf over the indexed chunks (a token the
        corpus never uses gets the highest)."""
        df = self._stats()[1]
        n = len(self._tokens)
        return {t: float(np.log1p((n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)))
                for t in set(self.tokenizer(text))}

    def _stats(self) -> tuple[dict[int, int], dict[str, int]]:
        if self._doc_stats is None:
            df: dict[str, int] = {}
            for doc in self._tokens:
                for t in set(doc):
                    df[t] = df.get(t, 0) + 1
            self._doc_stats = {int(i): p for p, i in enumerate(self._ids)}, df
        return self._doc_stats

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vocab = {t: i for i, t in enumerate(sorted({t for doc in self._tokens for t in doc}))}
        np.savez(directory / "corpus.npz", ids=self._ids,
                 lengths=np.array([len(d) for d in self._tokens], dtype=np.int64),
                 tokens=np.array([vocab[t] for d in self._tokens for t in d], dtype=np.int32))
        meta = {"format": _FORMAT, "vocab": list(vocab), "tokenizer": self.tokenizer.config()}
        (directory / "lexical.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        if self._bm25 is not None:
            self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "BM25Index":
        """Queries are cut with the tokenizer settings the index was built with, even if the
        shipped dictionary has changed since."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "lexical.json").read_text("utf-8"))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"unknown format {meta.get('format')}")
            corpus = np.load(directory / "corpus.npz")
            vocab = np.array(meta["vocab"], dtype=object)
            ids, lengths = corpus["ids"].astype(np.int64), corpus["lengths"]
            if len(ids) != len(lengths) or lengths.sum() != len(corpus["tokens"]):
                raise ValueError("ids and token lists differ in length")
            parts = np.split(corpus["tokens"], np.cumsum(lengths)[:-1]) if len(ids) else []
            config = meta["tokenizer"]
            index = cls(get_tokenizer(config["terms"], config["stopwords"]))
            index._ids = ids
            index._tokens = [vocab[part].tolist() for part in parts]
            if index._tokens:
                index._bm25 = bm25s.BM25.load(str(directory), show_progress=False)
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorrupt(f"关键词索引无法读取：{directory}（{e}）") from e
        return index
