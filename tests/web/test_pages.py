"""Server-rendered pages, JavaScript off: every state, escaping, and the article page's mark."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from .support import SEED_ANSWER, SEED_QUESTION, SEED_SOURCE, SEED_TITLE

MARK = re.compile(r'<mark class="answer">(.*?)</mark>', re.S)


def page(client, path, status=200, **params):
    r = client.get(path, query_string=params or None)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    text = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in text and 'name="viewport"' in text
    assert "Traceback" not in text
    return text


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_empty_state_explains_and_offers_examples(client):
    body = page(client, "/")
    assert '<form class="ask" method="get" action="/"' in body
    examples = re.findall(r'<ul class="examples">(.*?)</ul>', body, re.S)[0]
    links = re.findall(r'href="(/\?q=[^"]+)"', examples)
    assert 3 <= len(links) <= 4
    assert "系统会在已收录的报纸中" in body
    # Each example link is itself a working question.
    q = parse_qs(urlsplit(html.unescape(links[0])).query)["q"][0]
    assert 'class="result"' in page(client, "/", q=q)


def test_results_show_citation_highlight_and_timing(client):
    body = page(client, "/", q=SEED_QUESTION, k=3)
    assert body.count('<li class="result">') == 3
    first = body.split('<li class="result">')[1]
    assert html.escape(SEED_TITLE, quote=False) in first
    assert f"据{SEED_SOURCE}" in first
    # The citation a reader copies: what is known of the seeds is the title and the outlet.
    reference = html.escape(f"《{SEED_TITLE}》，据{SEED_SOURCE}", quote=False)
    assert f'<p class="reference" title="引用格式">{reference}</p>' in first
    assert re.search(r"可信度 \d{1,3}%", first)
    # The answering sentence comes first, before the title and the passage.
    sentence = re.search(r'<p class="sentence">(.*?)</p>', first, re.S)
    assert sentence.group(1).startswith('<mark class="answer">')
    assert SEED_ANSWER in text_of(sentence.group(1))
    assert sentence.start() < first.index('class="title"') < first.index('class="passage"')
    assert '<mark class="span">26人</mark>' in sentence.group(1)
    assert '<em class="term">驻站社工</em>' in sentence.group(1)
    # Question words are emphasised in the answering sentence only, not all over the passage.
    passage = re.search(r'<blockquote class="passage">(.*?)</blockquote>', first, re.S).group(1)
    assert '<em class="term">' not in passage
    assert re.search(r"用时 \d+ 毫秒", body)
    link = html.unescape(re.search(r'<a class="read" href="([^"]+)"', first).group(1))
    assert link.startswith("/articles/") and link.endswith("#passage")
    # The question stays in the box for editing.
    assert f'value="{SEED_QUESTION}"' in body


def test_article_page_marks_the_cited_passage(client):
    body = page(client, "/", q=SEED_QUESTION, k=1)
    link = html.unescape(re.search(r'<a class="read" href="([^"]+)"', body).group(1))
    article = page(client, link.split("#")[0])
    marked = re.search(r'<mark class="passage" id="passage">(.*?)</mark>', article, re.S)
    assert marked and SEED_ANSWER in text_of(marked.group(1))
    assert article.count('id="passage"') == 1
    assert f"据{SEED_SOURCE}" in article and "<h1>" in article
    assert re.search(r'<p id="p-\d+"', article)
    assert "返回“" in article                 # back to the question's results


@pytest.mark.parametrize("query", ["start=5&end=2", "start=x&end=9", "start=-1&end=4",
                                   "start=0&end=999999", ""])
def test_article_page_ignores_bad_ranges(client, query):
    body = client.get("/api/articles").get_json()
    article_id = body["articles"][0]["id"]
    text = page(client, f"/articles/{article_id}?{query}")
    assert 'id="passage"' not in text


def test_unknown_article_page_is_chinese_404(client):
    body = page(client, "/articles/no-such-article", status=404)
    assert "找不到页面" in body and "没有这篇文章" in body


def test_unknown_page_is_chinese_404(client):
    assert "找不到页面" in page(client, "/no/such/page", status=404)


def test_script_in_question_is_escaped(client):
    evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>"
    body = page(client, "/", q=evil)
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts == ['<script src="/static/app.js" defer>']


def test_overlong_question_shows_the_message(client, app):
    limit = app.extensions["qa.settings"].max_question_chars
    body = page(client, "/", status=400, q="问" * (limit + 1))
    assert "无法回答这个问题" in body and "问题过长" in body and 'role="alert"' in body


def test_bad_k_and_bad_encoding_show_errors(client):
    assert "参数 k 必须是" in page(client, "/", status=400, q=SEED_QUESTION, k="lots")
    r = client.get("/", environ_overrides={"QUERY_STRING": "q=%FF"})
    assert r.status_code == 400 and "UTF-8" in r.get_data(as_text=True)


def test_blank_question_is_the_empty_state(client):
    assert "试试这些问题" in page(client, "/", q="   ")


def test_unanswerable_question_says_so_and_shows_the_closest_passages_as_weaker(client):
    body = page(client, "/", q="珠穆朗玛峰有多高？")
    assert "未找到可靠答案" in body and "最接近的段落" in body
    assert '<ol class="results weak">' in body and '<mark class="answer">' not in body
    found = page(client, "/", q=SEED_QUESTION)
    assert "未找到可靠答案" not in found and '<ol class="results">' in found


def test_further_hits_in_one_article_are_counted_not_repeated(client):
    body = page(client, "/", q="嘉定区精神健康社工站", k=5)
    titles = re.findall(r'<h2 class="title"><a href="[^"]+">([^<]+)</a>', body)
    assert len(titles) == len(set(titles))
    assert re.search(r"本文还有 \d+ 处相关内容", body)


def test_no_result_state(app):
    # The seed index answers every question with its nearest passages, so "nothing found" is
    # rendered directly from an empty Answer (the template, not the service, is under test).
    from flask import render_template

    from qa.types import Answer

    with app.test_request_context("/?q=x"):
        body = render_template("index.html", examples=["例"], question="火星", k=5,
                               k_choices=[5], max_chars=500, error=None,
                               answer=Answer("火星", [], 3.0), results=[])
    assert "没有找到相关段落" in body and "“火星”" in body


def test_static_files(client):
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "@media" in css.get_data(as_text=True)
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.mimetype


def test_the_form_filters_and_keeps_its_values(client):
    body = page(client, "/", q=SEED_QUESTION, k=5, source="贵州日报", sort="date")
    assert '<details class="filters" open>' in body
    assert 'name="source" value="贵州日报"' in body
    assert '<option value="date" selected>' in body
    results = body.split('<li class="result">')[1:]
    assert results and all("据贵州日报" in r for r in results)


def test_characters_ocr_doubted_are_marked_and_escaped():
    """A scanned page's uncertain characters (Article.uncertain) are underlined on the article
    page, inside and outside the cited passage, and escaped like any text."""
    from qa.web.markup import article_paragraphs

    text = "第一段<b>。\n第二段。"
    paragraphs = article_paragraphs(text, [(0, 7), (8, 12)], (2, 10), uncertain=[1, 3, 9])
    first, second = (str(p["html"]) for p in paragraphs)
    assert first == ('第<em class="uncertain">一</em><mark class="passage" id="passage">段'
                     '<em class="uncertain">&lt;</em>b&gt;。</mark>')
    assert second == '<mark class="passage">第<em class="uncertain">二</em></mark>段。'
