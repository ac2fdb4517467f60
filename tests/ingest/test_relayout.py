"""The parser on pages it has not seen: the 19 seed articles laid out again (see relayout.py).

``test_recovery_rate`` measures how many articles come out with their exact title, outlet and
body start, and fails below the rate measured when it was written; it prints every article it
missed. The cases below it are those misses reduced to small pages, one per cause.
"""

from __future__ import annotations

import re

import pytest

from qa.ingest import ingest_bytes

from .bugs import bug
from .relayout import (
    BEGINS, DENSE_CRLF, MISENCODE, SEED_LIKE, begins, load_articles, make_pages, measure, wrap,
)

PAGES = 20
SEED = 20240923
# Measured on the 20 pages of SEED when this was written: 66 of 82 articles (80.5 %); 80 of 82
# (97.6 %) since the repair reads words and pairs across blank lines, captions keep to their own
# lines and titles are read as titles wherever an article starts. Since the articles keep the
# space inside three names (data/seed_parsed.jsonl), the pages come out differently: 79 of 82
# seed-like, 80 of 82 dense CRLF, before and after issue 13's fixes alike (whole bodies: 64 → 73
# and 60 → 72). Raise it as the parser gets better; it only guards against regressions.
MIN_RECOVERY = {"seed-like": 0.95, "dense-crlf": 0.95}
# Marks left unrepaired in the recovered, wholly mis-encoded articles, measured when written: 60
# places in 14 articles, none of them clean; none in 23 on the seed-like pages since, as far as
# a pattern (野…冶, 袁 …) could tell. Counted against the article as it should read, 7 places
# were left on the seed-like pages and 12 on the dense CRLF ones, among them lone quote openers
# (野为推动…, 野如今…) whose closer is sentences away. What is left now is a single — between
# two names inside a quotation (“社区党组织派单—社会组织接单”), which reads as well as the verb
# 要. Lower it as the repair gets better.
MAX_LEFT = {"seed-like": 4, "dense-crlf": 6}
VARIANTS = {"seed-like": SEED_LIKE, "dense-crlf": DENSE_CRLF}


def parse(text: str, name: str):
    return ingest_bytes(text.encode(), name + ".txt")


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request):
    return request.param


@pytest.fixture(scope="module")
def pages(variant):
    return make_pages(PAGES, SEED, VARIANTS[variant])


@pytest.fixture(scope="module")
def measured(pages):
    return measure(pages, parse)


# -- the generator -------------------------------------------------------------------------

def test_generator_is_deterministic(pages, variant):
    again = make_pages(PAGES, SEED, VARIANTS[variant])
    assert [p.text for p in again] == [p.text for p in pages]


def test_dense_crlf_variant_is_what_it_says():
    for page in make_pages(PAGES, SEED, DENSE_CRLF):
        assert "\r\n\r\n" not in page.text and "\n" not in page.text.replace("\r\n", "")
        assert any(p.damage == "full" for p in page.placements)


def test_generator_varies_what_the_parser_must_handle(pages, variant):
    placements = [p for page in pages for p in page.placements]
    assert all(3 <= len(page.placements) <= 5 for page in pages)
    assert {p.title_mode for p in placements} == {"before", "after", "stack", "none"}
    assert {p.damage for p in placements} == {"none", "outlet", "full"}
    assert {p.outlet_inline for p in placements} == {True, False}
    assert {p.width for p in placements} >= set(range(11, 17))
    assert len({p.article.key for p in placements}) == 19
    groups = {tuple(sorted(p.article.key for p in page.placements)) for page in pages}
    assert len(groups) == PAGES                       # no two pages hold the same articles
    assert any("\n\n" in page.text for page in pages) == (variant == "seed-like")
    text = "\n".join(page.text for page in pages)
    assert re.search(r"[\u4e00-\u9fff] \d|\d [\u4e00-\u9fff]", text)
    assert "图片来源" in text and re.search(r"。 （据", text)
    assert any(c in text for c in set(MISENCODE.values()))


def test_generated_lines_look_like_pdf_columns(pages):
    for page in pages:
        for line in page.text.split("\n"):
            line = line.strip()
            if not line:
                continue
            assert line[0] not in "，。、：；？！”’）》", line       # never a closing mark first
            assert line[-1] not in "“‘（《", line                   # never an opening mark last


def test_wrap_keeps_every_character():
    text = load_articles()[5].paragraphs[0]
    for width in range(11, 17):
        lines = wrap(text, width)
        assert "".join(lines) == text
        assert all(len(l) <= width + 2 for l in lines)


# -- the measure ---------------------------------------------------------------------------

def test_recovery_rate(measured, variant):
    m = measured
    print(f"\n{variant} re-laid-out pages: {PAGES}, articles: {m.total}, recovered (title, "
          f"source, first {BEGINS} chars): {m.recovered} = {m.rate:.1%}; whole body too: "
          f"{m.same_text}; same paragraphs too: {m.same_paragraphs}; articles out: "
          f"{m.articles_out}")
    for miss in m.misses:
        print(miss)
    assert m.rate >= MIN_RECOVERY[variant]


def test_recovered_damaged_articles_are_fully_repaired(measured, variant):
    """Where a wholly mis-encoded article was recovered, how much of the damage is left in it."""
    m = measured
    print(f"\n{variant}: recovered mis-encoded articles: {m.damaged}, with nothing left: "
          f"{m.damaged_clean}; places left: {len(m.left)}")
    for x in m.left:
        print("  ", x)
    assert m.damaged >= 15
    # What was left before were pairs broken across a blank line, 遥 after 平 or 路 (平遥, 路遥
    # are words), 要 before a verb turned into —, 要要要 after 凡 (see test_repair), quotation
    # openers whose closer is too far to pair.
    assert [x for x in m.left if x[2] != "—"] == []
    assert len(m.left) <= MAX_LEFT[variant]


# -- the misses, reduced -------------------------------------------------------------------

ARTS = load_articles()


def body(key: int, width: int = 13, paragraphs: int | None = None,
         chars: int = 10_000) -> list[str]:
    """An article's body cut into column lines; whole paragraphs up to ``chars`` characters."""
    lines: list[str] = []
    for par in ARTS[key].paragraphs[:paragraphs]:
        if chars <= 0:
            break
        lines += wrap(par, width)
        chars -= len(par)
    return lines


def page(*blocks: list[str]) -> str:
    return "".join(l + "\n\n" for b in blocks for l in b)


def misencoded(lines: list[str]) -> list[str]:
    return ["".join(MISENCODE.get(c, c) for c in l) for l in lines]


def got(text: str) -> list[tuple]:
    return [(a.title, a.source, begins(a.text)) for a in parse(text, "case")]


def want(key: int) -> tuple:
    a = ARTS[key]
    return (a.title, a.source, begins(a.text))


# Keys into data/seed_parsed.jsonl
FENGYANG, SHAANXI, JIADING, JIYANG, QINGLONG, TIANJIN, BIJIE, XINHUA, QUANJIAO = \
    1, 3, 4, 5, 6, 13, 17, 0, 2


def test_case_title_before_body():
    """The control: a plain page of two articles with titles before their bodies."""
    text = page(["安徽凤阳：", "探索建立“慈善+社工+志愿者”联动服务模式"], body(FENGYANG, 13, 2),
                ["（据凤阳县民政局）"], ["天津启动“五社联动”高层次社会工作人才培养计划"],
                body(TIANJIN, 14, 2), ["（据中国新闻网）"])
    assert got(text) == [want(FENGYANG), want(TIANJIN)]


def test_case_subheading_splits_the_article():
    text = page(["贵州毕节：", "不断探索社会工作新路径"], body(BIJIE, 13, 3),
                ["（据毕节市人民政府官网）"])
    assert got(text) == [want(BIJIE)]


def test_case_title_after_outlet_before_a_wider_column():
    text = page(body(SHAANXI, 12, 2), ["（据中国新闻网）"],
                ["陕西推动实施“未检+司法社工”模式", "助迷途少年安全“返航”"],
                body(JIYANG, 16, chars=300), ["（据大众网）"])
    assert got(text)[0] == want(SHAANXI)
    assert got(text)[1][1:] == want(JIYANG)[1:]


def test_case_title_after_outlet_takes_the_next_first_line():
    text = page(body(TIANJIN, 12, 2), ["（据中国新闻网）"],
                ["天津启动“五社联动”高层次社会工作人才培养计划"],
                body(XINHUA, 16, chars=200), ["（据新华社客户端）"])
    assert got(text) == [want(TIANJIN), want(XINHUA)]


def test_case_stacked_title_without_colon():
    text = page(body(JIADING, 13, 2), ["（据《新闻晨报》）"],
                ["探索推动优质服务下沉", "上海嘉定社区精神健康社工站服务地图发布"])
    assert got(text) == [want(JIADING)]


@bug("the only title on the page, stacked after the last outlet line above a caption, is not "
     "given to the only article: its words are in later paragraphs than the two printed here, "
     "so its similarity (0.07) stays under MIN_TITLE_SIMILARITY; the caption itself is right")
def test_case_title_line_above_a_caption():
    text = page(body(QUANJIAO, 13, 2), ["（据人民网）"],
                ["安徽全椒：", "以“五社联动”为支点 探索基层治理新路径"],
                ["3月25日，南京大学、南京财经大学与全椒县合作共建的社会工作实习基地",
                 "正式揭牌（图片来源：全椒县民政局）"])
    [a] = parse(text, "case")
    assert (a.title, a.source, begins(a.text)) == want(QUANJIAO)
    assert a.captions == ARTS[QUANJIAO].captions


def test_case_mis_encoded_kicker_line():
    text = page(misencoded(["四川天府新区青龙街道：", "用社工力量服务居民"] + body(QINGLONG, 13, 2)
                           + ["（据中国新闻网）"]))
    assert got(text) == [want(QINGLONG)]


def test_case_mis_encoded_quote_across_lines():
    text = page(misencoded(["安徽凤阳：", "探索建立“慈善+社工+志愿者”联动服务模式"]
                           + body(FENGYANG, 13, 2) + ["（据凤阳县民政局）"]))
    assert got(text) == [want(FENGYANG)]
