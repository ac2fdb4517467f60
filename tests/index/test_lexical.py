"""Tokenizer, one segment's postings, and BM25 over a segmented archive — checked against bm25s
(the reference implementation) built over the same documents at once."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from qa.errors import IndexCorrupt
from qa.index.lexical import (Postings, Tokenizer, get_tokenizer, idf, term_hashes, tokenize,
                              userdict_terms)
from qa.issues import IssueMeta, IssueService
from tests.fakes import SEEDS, FakeEncoder, fake_settings

DOCS = [
    "济阳区社工站为7.7万余人提供了专业服务，累计开展服务活动1300余场。",
    "凤阳县探索建立“慈善+社工+志愿者”联动服务模式，打造了5个品牌服务项目。",
    "全国已建成健康企业近1.9万家，和2022年相比增加了38.5%。",
    "贵州有1583名志愿者驻站开展服务，推动五社联动。",
]


def test_tokenize_drops_punctuation_and_question_words_keeps_numbers():
    tokens = tokenize("全国已建成健康企业近 1.9万家，增加了 38.5%！有多少家？")
    assert "1.9" in tokens and "38.5%" in tokens
    assert not {"，", "！", "？", " ", "多少"} & set(tokens)
    assert "企业" in tokens


def test_tokenize_lowercases_latin():
    assert {"ai", "gdp"} <= set(tokenize("AI 助力 GDP 增长"))


def test_userdict_keeps_domain_terms_whole_and_pieces_too():
    assert "社工站" in userdict_terms()
    tokens = tokenize("驻站社工在社工站服务")
    assert {"社工站", "驻站社工", "社工"} <= set(tokens)
    plain = Tokenizer(())("驻站社工在社工站服务")
    assert "社工站" not in plain


def test_userdict_stays_private():
    import jieba

    tokenize("社工站")
    assert "社工站" not in jieba.lcut("社工站")


# -- one segment --------------------------------------------------------------------------

def reference(docs: list[str]) -> bm25s.BM25:
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index([tokenize(d) for d in docs], show_progress=False)
    return ref


def score_all(p: Postings, query: str, docs: int, length: int) -> np.ndarray:
    tokens = tokenize(query)
    keys = term_hashes(tokens)
    pos = p.find(keys)
    df = p.df(pos)
    known = df > 0
    out = np.zeros(len(p), np.float32)
    d, s = p.top(pos[known], idf(df[known], docs), length / docs, None, None)
    out[d] = s
    return out


@pytest.mark.parametrize("query", ["济阳区社工站为多少人提供了服务？", "健康企业增加了百分之多少",
                                   "贵州志愿者", "服务 服务 社工", "凤阳县"])
def test_one_segment_scores_equal_bm25s(query):
    p = Postings.build([tokenize(d) for d in DOCS])
    ref = reference(DOCS)
    ours = score_all(p, query, len(DOCS), int(p.lengths.sum()))
    want = ref.get_scores([t for t in tokenize(query) if t in ref.vocab_dict])
    assert np.allclose(ours, want, rtol=1e-5, atol=1e-6)
    assert ours.argmax() == want.argmax() and (ours > 0).sum() > 0


def test_postings_find_df_and_holds():
    p = Postings.build([["a", "b", "a"], ["b"], ["c", "a"]])
    pos = p.find(term_hashes(["a", "b", "c", "zzz"]))
    assert pos[3] == -1 and (pos[:3] >= 0).all()
    assert p.df(pos).tolist() == [2, 2, 1, 0]
    assert p.holds(int(pos[0]), 0) and p.holds(int(pos[0]), 2) and not p.holds(int(pos[0]), 1)
    assert p.lengths.tolist() == [3, 1, 2]
    terms, counts = p.deleted_df(np.array([True, False, True]))
    assert dict(zip(terms.tolist(), counts.tolist())) == {int(pos[0]): 2, int(pos[1]): 1,
                                                          int(pos[2]): 1}


def test_postings_save_load_is_memory_mapped(tmp_path):
    p = Postings.build([tokenize(d) for d in DOCS])
    p.save(tmp_path / "lexical")
    q = Postings.load(tmp_path / "lexical")
    assert isinstance(q.docs, np.memmap) and isinstance(q.terms, np.memmap)
    for name in ("terms", "offsets", "docs", "tfs", "lengths"):
        assert np.array_equal(getattr(p, name), getattr(q, name))


def test_postings_load_missing_or_inconsistent_is_corrupt(tmp_path):
    with pytest.raises(IndexCorrupt):
        Postings.load(tmp_path / "nowhere")
    Postings.build([tokenize(d) for d in DOCS]).save(tmp_path / "lex")
    np.save(tmp_path / "lex" / "docs.npy", np.zeros(3, np.int32))
    with pytest.raises(IndexCorrupt):
        Postings.load(tmp_path / "lex")


def test_empty_postings():
    p = Postings.build([])
    assert len(p) == 0 and p.find(term_hashes(["a"])).tolist() == [-1]
    assert p.top(np.array([-1]), np.array([1.0]), 1.0, None, 5)[0].size == 0


# -- an archive in segments ------------------------------------------------------------------

def seed_pages():
    service = IssueService(fake_settings(SEEDS / "unused"), FakeEncoder())
    pages, skipped, _ = service.read_paths([SEEDS], IssueMeta())
    assert len(pages) == 5 and not skipped
    return pages


def build_in_steps(root, batches, remove=()):
    service = IssueService(fake_settings(root), FakeEncoder())
    service.build(batches[0])
    for batch in batches[1:]:
        service.add(batch)
    if remove:
        service.remove(list(remove))
    return service.builder.backend.open()


def lexical_texts(snap) -> dict[int, str]:
    """Every live chunk's BM25 text (title + chunk text), by key."""
    out = {}
    for part in snap.parts:
        for j in range(part.seg.chunks):
            if part.live is None or part.live[j]:
                key = snap.key(part, j)
                ref = snap.chunks([key])[0]
                title = snap.article(ref.article_id).title
                out[key] = f"{title}\n{ref.text}" if title else ref.text
    return out


QUERIES = ["济阳区配备了多少名驻站社工？", "精神健康社工站", "贵州全省社工站覆盖率", "志愿者 服务",
           "健康中国行动包含多少项重大行动", "老年食堂"]


@pytest.mark.parametrize("remove", [(), ("001_5e68e9660a63f3de",)])
def test_bm25_over_segments_equals_bm25s_over_the_whole_archive(tmp_path, remove):
    pages = seed_pages()
    snap = build_in_steps(tmp_path / "index", [pages[:2], pages[2:4], pages[4:]], remove)
    assert len(snap.parts) == 3
    texts = lexical_texts(snap)
    keys = list(texts)
    ref = reference([texts[k] for k in keys])
    assert snap.stats.docs == len(keys)
    for q in QUERIES:
        ours = snap.lexical(q, len(keys))
        want = ref.get_scores([t for t in tokenize(q) if t in ref.vocab_dict])
        expected = {k: float(s) for k, s in zip(keys, want) if s > 0}
        assert set(ours) == set(expected), q
        for k, s in ours.items():
            assert s == pytest.approx(expected[k], rel=1e-5), q


def test_scores_do_not_depend_on_how_the_archive_is_cut(tmp_path):
    pages = seed_pages()
    once = build_in_steps(tmp_path / "once", [pages])
    steps = build_in_steps(tmp_path / "steps", [[p] for p in pages])
    assert len(once.parts) == 1 and len(steps.parts) == 5
    for q in QUERIES:
        a = sorted(once.lexical(q, 50).values(), reverse=True)
        b = sorted(steps.lexical(q, 50).values(), reverse=True)
        assert np.allclose(a, b, rtol=1e-5)


def test_coverage_is_idf_weighted_share_of_query_terms(tmp_path):
    snap = build_in_steps(tmp_path / "index", [seed_pages()])
    q = "济阳区驻站社工"
    best = max(snap.lexical(q, 5).items(), key=lambda kv: kv[1])[0]
    assert snap.coverage(q, best) == pytest.approx(1.0)
    other = snap.lexical("老年食堂", 1)
    assert snap.coverage(q, next(iter(other))) < 0.5
    # A term the archive never uses counts against every chunk.
    assert snap.coverage(q + " 钢琴演奏", best) < snap.coverage(q, best)
    assert snap.coverage("？！", best) == 0.0


def test_query_without_known_tokens_finds_nothing(tmp_path):
    snap = build_in_steps(tmp_path / "index", [seed_pages()[:1]])
    for q in ("", "？？！", "什么", "量子引力"):
        assert snap.lexical(q, 5) == {}


def test_tokenizer_is_shared_not_rebuilt():
    assert get_tokenizer() is get_tokenizer()


def test_top_k_skips_common_terms_yet_equals_full_scoring(monkeypatch):
    """MaxScore pruning is exact: on a corpus with a Zipfian vocabulary (so some words are in
    nearly every document), the top k equals the first k of scoring every document."""
    import qa.index.lexical as lexical

    monkeypatch.setattr(lexical, "PRUNE_MIN", 0)      # prune even this small corpus
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(400)]
    weights = 1.0 / np.arange(1, 401)
    weights /= weights.sum()
    docs = [list(rng.choice(vocab, size=rng.integers(5, 40), p=weights)) for _ in range(3000)]
    p = Postings.build(docs)
    avgdl = float(p.lengths.mean())
    for trial in range(40):
        query = list(rng.choice(vocab[:5], 2)) + list(rng.choice(vocab, rng.integers(1, 5)))
        pos = p.find(term_hashes(query))
        df = p.df(pos)
        w = idf(df, len(docs))
        allowed = rng.random(3000) < 0.7 if trial % 2 else None
        all_docs, all_scores = p.top(pos, w, avgdl, allowed, None)
        for k in (1, 5, 50):
            d, s = p.top(pos, w, avgdl, allowed, k)
            assert np.allclose(s, all_scores[:k], rtol=1e-5)
            assert set(d.tolist()) <= set(all_docs[all_scores >= all_scores[:k].min() - 1e-5]
                                          .tolist())
            if allowed is not None:
                assert allowed[d].all()
