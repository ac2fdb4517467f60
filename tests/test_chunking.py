import re

import pytest

from qa.chunking import chunk_article, chunk_for_embedding, split_sentences
from qa.types import Article, Chunk

PARAGRAPHS = [
    "来自国家卫健委2023年末公布的数据显示，全国已建成健康企业近1.9万家，和2022年相比增加了38.5%，"
    "连续三年增长30%以上。",
    "“我国的医务社会工作从诞生到今天，刚刚走过了百年历史。再次起步已是近年。”周冰说，"
    "医务社工发展迎来了机遇期！“有为”才能“有位”。",
    "社工站服务覆盖全部街镇；累计开展服务活动1300余场……服务7.7万余人次？答案是肯定的。",
]


def make_article(paragraphs, article_id="a1", title="健康企业建设"):
    text = "\n".join(paragraphs)
    offsets, pos = [], 0
    for p in paragraphs:
        offsets.append((pos, pos + len(p)))
        pos += len(p) + 1
    return Article(id=article_id, issue="000_test", title=title, source="新华社客户端", text=text,
                   paragraphs=list(paragraphs), offsets=offsets)


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def assert_exact(article, chunks):
    for c in chunks:
        assert c.text == article.text[c.start:c.end]
        assert c.article_id == article.id
        assert c.text == c.text.strip()


def test_sentences_end_at_terminators_and_paragraphs():
    got = sentences("\n".join(PARAGRAPHS))
    assert got == [
        PARAGRAPHS[0],
        "“我国的医务社会工作从诞生到今天，刚刚走过了百年历史。再次起步已是近年。”",
        "周冰说，医务社工发展迎来了机遇期！",
        "“有为”才能“有位”。",
        "社工站服务覆盖全部街镇；",
        "累计开展服务活动1300余场……",
        "服务7.7万余人次？",
        "答案是肯定的。",
    ]


def test_sentences_accept_nfkc_punctuation():
    text = "他说:“好!”然后离开了。真的?是的...再见;明天见"
    assert sentences(text) == ["他说:“好!”", "然后离开了。", "真的?", "是的...", "再见;", "明天见"]


def test_unbalanced_quote_does_not_swallow_paragraph():
    text = "他说“第一句。第二句。\n下一段。"
    assert sentences(text) == ["他说“第一句。", "第二句。", "下一段。"]


def test_stray_closing_quote_and_book_title():
    assert sentences("好”。看了《你好！李焕英》。") == ["好”。", "看了《你好！李焕英》。"]


def test_whitespace_is_outside_spans():
    text = "  第一句。  第二句。 \n\n  第三句。  "
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["第一句。", "第二句。", "第三句。"]


def test_chunks_are_exact_slices_within_size():
    article = make_article(PARAGRAPHS * 3)
    chunks = chunk_article(article, size=80, overlap=1)
    assert len(chunks) > 3
    assert_exact(article, chunks)
    assert all(len(c.text) <= 80 for c in chunks)


def test_chunks_follow_sentence_boundaries():
    article = make_article(PARAGRAPHS * 2)
    spans = split_sentences(article.text)
    starts, ends = {a for a, _ in spans}, {b for _, b in spans}
    for c in chunk_article(article, size=90, overlap=1):
        assert c.start in starts and c.end in ends


def test_numbers_and_quotes_are_never_split():
    article = make_article(PARAGRAPHS * 3)
    for size in (40, 60, 90, 150):
        for c in chunk_article(article, size=size, overlap=1):
            for number in ("1.9万", "38.5%", "7.7万", "1300"):
                # A chunk edge must not fall inside any occurrence of the number.
                for m in re.finditer(re.escape(number), article.text):
                    assert not m.start() < c.start < m.end()
                    assert not m.start() < c.end < m.end()
    quote = "“有为”才能“有位”。"
    for c in chunk_article(article, size=90, overlap=1):
        inside = [m.span() for m in re.finditer("“[^”]*”", article.text)]
        assert not any(a < c.start < b or a < c.end < b for a, b in inside)
    assert any(quote in c.text for c in chunk_article(article, size=90))


def test_overlap_repeats_last_sentence():
    article = make_article(PARAGRAPHS)
    chunks = chunk_article(article, size=80, overlap=1)
    spans = split_sentences(article.text)
    for prev, nxt in zip(chunks, chunks[1:]):
        last = [s for s in spans if prev.start <= s[0] and s[1] <= prev.end][-1]
        if nxt.start == last[0]:
            assert nxt.end > prev.end          # progress even with overlap
        else:
            # The overlap was dropped only because it would not fit beside the next sentence.
            assert nxt.end - last[0] > 80
    assert any(nxt.start < prev.end for prev, nxt in zip(chunks, chunks[1:]))


def test_no_overlap_tiles_the_text():
    article = make_article(PARAGRAPHS)
    chunks = chunk_article(article, size=80, overlap=0)
    assert all(nxt.start >= prev.end for prev, nxt in zip(chunks, chunks[1:]))
    covered = "".join(c.text for c in chunks)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", article.text)


def test_long_sentence_split_at_commas_then_hard():
    clause = "社区工作者深入开展走访活动，"
    long_sentence = clause * 10 + "最后完成。"
    article = make_article([long_sentence])
    chunks = chunk_article(article, size=50, overlap=0)
    assert_exact(article, chunks)
    assert all(len(c.text) <= 50 for c in chunks)
    assert all(c.text.endswith("，") for c in chunks[:-1])

    no_commas = "数" * 30 + "123456789" + "字" * 30
    article = make_article([no_commas])
    chunks = chunk_article(article, size=35, overlap=0)
    assert_exact(article, chunks)
    assert "".join(c.text for c in chunks) == no_commas
    assert any("123456789" in c.text for c in chunks)      # the digit run stays whole


def test_thousands_separator_is_not_a_split_point():
    text = "总数" * 20 + "达到1,000,000人次，另有" + "志愿者" * 10 + "参与。"
    article = make_article([text])
    chunks = chunk_article(article, size=50, overlap=0)
    assert_exact(article, chunks)
    assert any("1,000,000" in c.text for c in chunks)


def test_same_text_same_id():
    a = chunk_article(make_article(PARAGRAPHS, article_id="a1"))
    b = chunk_article(make_article(PARAGRAPHS, article_id="a2"))
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    assert all(re.fullmatch(r"[0-9a-f]{16}", c.id) for c in a)


def test_empty_article_has_no_chunks():
    assert chunk_article(make_article([])) == []
    assert chunk_article(make_article(["  ", ""])) == []


def test_bad_parameters():
    with pytest.raises(ValueError):
        chunk_article(make_article(PARAGRAPHS), size=0)
    with pytest.raises(ValueError):
        chunk_article(make_article(PARAGRAPHS), overlap=-1)


def test_chunk_for_embedding_prefixes_title():
    chunk = Chunk(id="x", article_id="a", text="正文。", start=0, end=3)
    assert chunk_for_embedding(chunk, "标题") == "标题\n正文。"
    assert chunk_for_embedding(chunk, None) == "正文。"
    assert chunk_for_embedding(chunk, "  ") == "正文。"
