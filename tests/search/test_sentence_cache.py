"""The sentence cache is bounded by the characters of the texts it serves, not by their number
(issue 23: 4,096 whole texts of any size were kept)."""

from __future__ import annotations

from qa.chunking import split_sentences
from qa.search.sentence_cache import SentenceCache


def test_spans_are_those_of_split_sentences_and_cached():
    cache = SentenceCache()
    text = "济阳区社工站成立。服务七万余人！工作人员二十六名？"
    assert cache(text) == split_sentences(text)
    assert cache(text) is cache(text) and len(cache.items) == 1


def test_bounded_by_characters_newest_kept():
    cache = SentenceCache(max_chars=2_500_000)
    texts = [f"第{i}篇。" + "字" * 1_000_000 + "。" for i in range(5)]
    for t in texts:
        cache(t)
    assert cache.chars <= 2_500_000 and len(cache.items) == 2
    assert cache(texts[-1]) == split_sentences(texts[-1])
    one_huge = SentenceCache(max_chars=10)
    assert one_huge("一句话。又一句。") and len(one_huge.items) == 1     # the newest stays


def test_query_vectors_cached_by_threads_at_once(tmp_path):
    """Issue 23: gunicorn's threads share the service's query cache; with its lock, 8 threads
    asking 3,000 different questions at once leave it whole and bounded."""
    import threading

    from qa.search.service import SearchService
    from tests.fakes import FakeEncoder, fake_settings

    svc = SearchService(fake_settings(tmp_path / "index"), FakeEncoder())
    errors = []

    def run(offset: int):
        try:
            for i in range(offset, 3_000, 8):
                assert svc._query_vector(f"问题{i}") is not None
        except Exception as e:      # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(svc._query_cache) == 2048
