"""Article text → its sentences, for the passages answers show (``SearchService``)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from qa.chunking import split_sentences

# ~4,000 articles of a few thousand characters, as the lru_cache of 4,096 texts it replaces held;
# a few corpus records of megabytes now push older texts' spans out instead of piling up.
MAX_CHARS = 16_000_000


class SentenceCache:
    """Keyed by a digest, so it keeps spans, not texts (a corpus record may run to megabytes:
    the 4,096 whole texts an lru_cache kept had no bound in bytes), and bounded by the
    characters of the texts it holds spans of. Shared by gunicorn's threads."""

    def __init__(self, max_chars: int = MAX_CHARS):
        self.max_chars = max_chars
        self.items: OrderedDict[bytes, tuple[int, list[tuple[int, int]]]] = OrderedDict()
        self.chars = 0
        self.lock = threading.Lock()

    def __call__(self, text: str) -> list[tuple[int, int]]:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
                return hit[1]
        spans = split_sentences(text)
        with self.lock:
            if key not in self.items:
                self.items[key] = (len(text), spans)
                self.chars += len(text)
            while self.chars > self.max_chars and len(self.items) > 1:
                self.chars -= self.items.popitem(last=False)[1][0]
        return spans
