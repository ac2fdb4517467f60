"""Lexical index: jieba tokens, one inverted index per segment, BM25 with archive-wide statistics.

BM25 catches what embeddings blur: names, numbers, rare terms. Chinese has no spaces, so text is
cut with jieba in search mode, which emits a long word *and* its dictionary sub-words
(社会工作者 → 社会 / 工作 / 工作者 / 社会工作者), so a question matches whichever granularity
it happens to use.

Why not bm25s's own index: bm25s scores eagerly — every stored value already contains the idf and
average length of the corpus it was built from — so an archive kept in segments would have to
re-score every segment whenever one is added. Here a segment stores what does not depend on the
rest of the archive (term frequencies and document lengths, as numpy arrays that are memory-mapped
and shared by all workers) and the scorer applies the archive-wide document count, average length
and document frequencies at query time. The formula is bm25s's Lucene variant (k1=1.5, b=0.75),
and tests/index/test_lexical.py checks scores over several segments against bm25s built over the
whole corpus at once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
import os
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import jieba
import numpy as np

from qa.errors import IndexCorrupt

jieba.setLogLevel(logging.WARNING)

# Question words only. Questions are full of them and passages rarely contain them, so idf rates
# them high and they reward the odd passage that happens to ask something. Function words
# (的 了 是 在 …) are left in: idf already makes them cheap, and dropping them measured no better
# or slightly worse (studies/lexical_ablation.py).
STOPWORDS = frozenset(
    "什么 哪 哪些 哪个 哪里 哪儿 哪一 哪一年 哪位 谁 怎么 怎样 如何 为什么 为何 何时 多少 几 多久 吗 呢"
    .split())

K1, B = 1.5, 0.75
FILES = ("terms.npy", "offsets.npy", "docs.npy", "tfs.npy", "lengths.npy")


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


def tokenizer_from_config(config: dict) -> Tokenizer:
    return get_tokenizer(tuple(config["terms"]), frozenset(config["stopwords"]))


@functools.lru_cache(maxsize=4)
def _shared(terms: tuple[str, ...], stopwords: frozenset[str]) -> Tokenizer:
    # Building a tokenizer loads jieba's dictionary (about a second and tens of MB): an index
    # reloaded after every new issue must not pay that again.
    return Tokenizer(terms, stopwords)


def tokenize(text: str) -> list[str]:
    """The tokens the lexical index uses, with the shipped user dictionary and stopwords."""
    return get_tokenizer()(text)


# Below this many postings in a query's lists, scoring them all is cheaper than pruning.
PRUNE_MIN = 100_000
# Below this many texts, starting worker processes costs more than it saves.
PARALLEL_MIN = 20_000


def tokenize_many(texts: list[str], config: dict):
    """The token lists of ``texts``, in order, as an iterator: jieba is pure Python and the
    slowest step of a bulk build, so a large batch is cut by one forked process per core
    (they inherit the loaded dictionary)."""
    cut = tokenizer_from_config(config)
    workers = os.cpu_count() or 1
    if len(texts) < PARALLEL_MIN or workers < 2:
        return map(cut, texts)
    return _parallel(texts, cut, workers)


_FORKED_CUT: Tokenizer | None = None


def _forked_cut(text: str) -> list[str]:
    return _FORKED_CUT(text)


def _parallel(texts: list[str], cut: Tokenizer, workers: int):
    # The tokenizer holds locks and cannot be pickled; the children get it by fork instead.
    global _FORKED_CUT
    _FORKED_CUT = cut
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_forked_cut, texts, chunksize=500)


def key_of(text: str) -> int:
    """A stable 64-bit key of a text (terms, article and page ids)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def term_hashes(terms: list[str]) -> np.ndarray:
    """64-bit keys for terms: a segment stores sorted keys instead of a vocabulary of Python
    strings, so looking a term up is a binary search in a memory-mapped array."""
    return np.array([key_of(t) for t in terms], dtype=np.uint64)


@dataclass(frozen=True)
class Stats:
    """What BM25 needs from the whole archive: live documents, their total length, and a way to
    ask how many live documents hold a term."""

    docs: int
    length: int

    @property
    def avgdl(self) -> float:
        return self.length / self.docs if self.docs else 1.0


def idf(df: np.ndarray, docs: int) -> np.ndarray:
    """bm25s's Lucene idf: ln(1 + (N - df + 0.5) / (df + 0.5))."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((docs - df + 0.5) / (df + 0.5))


class Postings:
    """One segment's inverted index, as five arrays (memory-mapped once written):

    ``terms``    uint64 term keys, sorted;      ``offsets`` int64, len(terms) + 1
    ``docs``     int32 document numbers, ascending within each term's range
    ``tfs``      int32 term frequency of each posting
    ``lengths``  int32 token count of each document (BM25's document length)
    """

    def __init__(self, terms: np.ndarray, offsets: np.ndarray, docs: np.ndarray,
                 tfs: np.ndarray, lengths: np.ndarray):
        self.terms, self.offsets, self.docs, self.tfs, self.lengths = \
            terms, offsets, docs, tfs, lengths

    def __len__(self) -> int:
        return len(self.lengths)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(cls, token_lists) -> "Postings":
        """From the token lists of the documents, in order (any iterable: a segment of a
        million chunks is tokenised as a stream and never held as lists of strings)."""
        vocab: dict[str, int] = {}
        # array('i') rather than lists: 4 bytes a posting instead of a pointer and an int object
        term_of, doc_of, tf_of, lengths = (array("i") for _ in range(4))
        for d, tokens in enumerate(token_lists):
            for t, n in Counter(tokens).items():
                term_of.append(vocab.setdefault(t, len(vocab)))
                doc_of.append(d)
                tf_of.append(n)
            lengths.append(len(tokens))
        keys = term_hashes(list(vocab))
        return cls.from_triples(keys[np.frombuffer(term_of, dtype=np.int32)],
                                np.frombuffer(doc_of, dtype=np.int32),
                                np.frombuffer(tf_of, dtype=np.int32),
                                np.frombuffer(lengths, dtype=np.int32))

    @classmethod
    def from_triples(cls, keys: np.ndarray, docs: np.ndarray, tfs: np.ndarray,
                     lengths: np.ndarray) -> "Postings":
        """From one (term key, document, tf) triple per posting, in any order."""
        order = np.lexsort((docs, keys))
        keys, docs, tfs = keys[order], docs[order], tfs[order]
        if len(keys):
            starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        else:
            starts = np.zeros(0, np.int64)
        offsets = np.append(starts, len(keys)).astype(np.int64)
        return cls(keys[starts].astype(np.uint64), offsets, docs.astype(np.int32),
                   tfs.astype(np.int32), np.asarray(lengths, dtype=np.int32))

    def triples(self, keep: np.ndarray | None = None, renumber: np.ndarray | None = None):
        """The postings as (key, document, tf) arrays, for merging: only documents where
        ``keep`` is true, renumbered through ``renumber``."""
        keys = np.repeat(self.terms, np.diff(self.offsets))
        docs, tfs = np.asarray(self.docs), np.asarray(self.tfs)
        if keep is not None:
            sel = keep[docs]
            keys, docs, tfs = keys[sel], docs[sel], tfs[sel]
        if renumber is not None:
            docs = renumber[docs]
        return keys, docs, tfs

    def save(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, values in zip(FILES, (self.terms, self.offsets, self.docs, self.tfs,
                                       self.lengths)):
            np.save(directory / name, np.ascontiguousarray(values))
            paths.append(directory / name)
        return paths

    @classmethod
    def load(cls, directory: Path) -> "Postings":
        try:
            # Plain ndarray views of the maps: still shared pages, but indexing a np.memmap
            # builds a memmap object each time, a fifth of a query's BM25 time at 1M chunks.
            arrays = [np.asarray(np.load(directory / name, mmap_mode="r")) for name in FILES]
        except (OSError, ValueError) as e:
            raise IndexCorrupt(f"关键词索引无法读取：{directory}（{e}）") from e
        p = cls(*arrays)
        if len(p.offsets) != len(p.terms) + 1 or len(p.docs) != len(p.tfs) \
                or (len(p.offsets) and p.offsets[-1] != len(p.docs)):
            raise IndexCorrupt(f"关键词索引各部分长度不一致：{directory}")
        return p

    # -- reading --------------------------------------------------------------------------

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Position of each term key in ``terms``, -1 where the segment lacks it."""
        keys = np.asarray(keys, dtype=np.uint64)
        if not len(self.terms):
            return np.full(len(keys), -1, np.int64)
        pos = np.searchsorted(self.terms, keys)
        pos = np.minimum(pos, len(self.terms) - 1)
        return np.where(self.terms[pos] == keys, pos, -1)

    def df(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions)
        out = np.zeros(len(positions), np.int64)
        ok = positions >= 0
        out[ok] = self.offsets[positions[ok] + 1] - self.offsets[positions[ok]]
        return out

    def deleted_df(self, deleted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the documents marked in ``deleted``: (term positions, how many of them hold each)
        — what a deletion takes away from the archive's document frequencies."""
        if not deleted.any() or not len(self.docs):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        hit = deleted[np.asarray(self.docs)].astype(np.int64)
        counts = np.add.reduceat(hit, self.offsets[:-1]) if len(self.terms) else hit[:0]
        # reduceat over an empty range yields the element at its start; ranges are never empty.
        nz = np.flatnonzero(counts)
        return nz.astype(np.int64), counts[nz]

    def _tfc(self, position: int, docs: np.ndarray | None, avgdl: float):
        """(documents, BM25 term-frequency component) of one term: for its whole posting list,
        or only for ``docs`` (sorted), where it is 0 for documents without the term."""
        s, e = int(self.offsets[position]), int(self.offsets[position + 1])
        listed = np.asarray(self.docs[s:e])
        tf = np.asarray(self.tfs[s:e])
        if docs is not None:
            # Keys of the list's own dtype: given int64 keys, numpy first copies the whole
            # int32 list to int64 — a pass over a long list for each lookup.
            i = np.minimum(np.searchsorted(listed, docs.astype(listed.dtype, copy=False)),
                           len(listed) - 1)
            tf = np.where(listed[i] == docs, tf[i], 0)
            listed = docs
        tf = tf.astype(np.float32)
        norm = np.float32(K1 * (1 - B)) + np.float32(K1 * B / avgdl) * \
            self.lengths[listed].astype(np.float32)
        return listed, tf / (norm + tf)

    def top(self, positions: np.ndarray, weights: np.ndarray, avgdl: float,
            allowed: np.ndarray | None, k: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ``allowed`` documents (all matching ones if ``k`` is None) by BM25
        over the terms at ``positions`` with idf ``weights`` (a term asked twice counts twice):
        (documents, exact scores), best first.

        Exact, but without walking the posting lists of common words when it need not: terms
        are taken rarest first, and once the k-th best score so far exceeds what all the
        remaining terms together could add (each adds at most its idf), no document they alone
        hold can enter the top k — so they are only looked up for the candidates already found
        (MaxScore, Turtle & Flood 1995). A query's 的 and 是 then cost a few binary searches
        instead of a pass over nearly every document of a million-chunk archive."""
        merged: dict[int, float] = {}
        for pos, w in zip(positions.tolist(), weights.tolist()):
            if pos >= 0:
                merged[pos] = merged.get(pos, 0.0) + w
        if not merged or len(self.lengths) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        terms = sorted(merged.items(), key=lambda tw: -tw[1])
        postings = sum(int(self.offsets[p + 1] - self.offsets[p]) for p, _ in terms)
        prune = k is not None and postings > PRUNE_MIN
        acc = np.zeros(len(self.lengths), np.float32)
        remaining = float(sum(w for _, w in terms))
        best = np.zeros(0, np.int64)
        theta = 0.0
        done = 0
        for pos, w in terms:
            if prune and len(best) >= k and remaining < theta:
                break
            docs, tfc = self._tfc(pos, None, avgdl)
            acc[docs] += np.float32(w) * tfc
            remaining -= w
            done += 1
            if prune:
                # The k best of the old best and this term's best: a lower bound on the k-th
                # best score (scores only grow), found without sorting a long posting list.
                new = docs if allowed is None else docs[allowed[docs]]
                if len(new) > k:
                    new = new[np.argpartition(-acc[new], k - 1)[:k]]
                pool = np.union1d(best, new)
                if len(pool) > k:
                    pool = pool[np.argpartition(-acc[pool], k - 1)[:k]]
                best = pool
                theta = float(acc[best].min()) if len(best) >= k else 0.0
        if done < len(terms):
            # Stopped early: only documents that can still reach the k-th score are kept, and
            # the skipped terms are added to them exactly.
            cands = np.flatnonzero(acc >= np.float32(theta - remaining))
            if allowed is not None:
                cands = cands[allowed[cands]]
            for pos, w in terms[done:]:
                _, tfc = self._tfc(pos, cands, avgdl)
                acc[cands] += np.float32(w) * tfc
                remaining -= w
                # Each term looked up narrows the field again: the k-th best so far rises and
                # what is left to add shrinks (most of a query's long lists are looked up for
                # a few hundred documents instead of thousands). A hair of slack keeps a
                # document tied with the k-th, whatever order float32 added its terms in.
                if len(cands) > k:
                    theta = max(theta, float(np.partition(acc[cands], -k)[-k]))
                    cands = cands[acc[cands] >= np.float32(theta - remaining
                                                           - 1e-6 * (theta + 1))]
        else:
            cands = np.flatnonzero(acc > 0)
            if allowed is not None:
                cands = cands[allowed[cands]]
        scores = acc[cands]
        if k is not None and len(cands) > k:
            keep = np.argpartition(-scores, k - 1)[:k]
            cands, scores = cands[keep], scores[keep]
        order = np.lexsort((cands, -scores))
        return cands[order].astype(np.int64), scores[order]

    def holds(self, position: int, doc: int) -> bool:
        if position < 0:
            return False
        s, e = int(self.offsets[position]), int(self.offsets[position + 1])
        i = s + int(np.searchsorted(self.docs[s:e], self.docs.dtype.type(doc)))   # see _tfc
        return i < e and int(self.docs[i]) == doc


class LexicalIndex(Protocol):
    """What the search service needs from a lexical engine over a whole archive view."""

    def lexical(self, query: str, k: int, where=None) -> dict[int, float]:
        """BM25 scores of at most ``k`` chunks sharing a term with the query, by chunk key."""
        ...

    def coverage(self, query: str, key: int) -> float:
        """Share of the query's idf mass that chunk ``key`` contains, in [0, 1]."""
        ...
