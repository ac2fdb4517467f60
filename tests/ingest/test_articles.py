"""Page text → articles, on small pages written for each way a PDF extraction mixes articles up:
titles before or after their body, stacked titles, kickers, outlet lines, captions, a page with no
outlet line at all."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from qa.ingest import ingest_bytes

from .relayout import misencode, wrap


@dataclass
class Art:
    title_lines: list[str]
    title: str                  # as it must come out
    paragraphs: list[str]       # as they must come out
    source: str | None
    outlet: str | None          # the outlet line as printed
    caption: str | None = None

    def body(self, width: int) -> list[str]:
        """The body cut into column lines, spaces around some numbers as PDF tools leave them."""
        lines = [l for p in self.paragraphs for l in wrap(p, width)]
        return [l.replace("近3万", "近 3万").replace("覆盖50%", "覆盖 50%") for l in lines]


FENGYANG = Art(
    ["安徽凤阳：", "探索建立“慈善+社工+志愿者”联动服务模式"],
    "安徽凤阳：探索建立“慈善+社工+志愿者”联动服务模式",
    ["“你们真是好有心，经常来探望我、关心我。”在安徽省滁州市凤阳县中都街道，独居老人王爷爷"
     "激动地对入户探访的社工和志愿者说。",
     "2023年以来，凤阳县充分整合辖区内慈善资源，发挥社工站的专业优势以及志愿组织的力量，"
     "探索建立“慈善+社工+志愿者”联动服务模式，累计服务群众近3万人次。"],
    "凤阳县民政局", "（据凤阳县民政局）")
QUANJIAO = Art(
    ["安徽全椒：以“五社联动”为支点", "探索基层治理新路径"],
    "安徽全椒：以“五社联动”为支点 探索基层治理新路径",
    ["3月25日，安徽省滁州市全椒县城南社区，南京大学、南京财经大学与全椒县合作共建的社会工作"
     "实习基地正式揭牌。",
     "全椒县大力推进“五社联动”机制，打通为民服务“最后一米”，全县社工站覆盖率达100%，"
     "探索出一条基层治理的新路径。"],
    "人民网", "（据人民网）",
    caption="3月25日，南京大学、南京财经大学与全椒县合作共建的社会工作实习基地正式揭牌"
            "（图片来源：全椒县民政局）")
SHAANXI = Art(
    ["陕西推动实施“未检+司法社工”模式", "助迷途少年安全“返航”"],
    "陕西推动实施“未检+司法社工”模式 助迷途少年安全“返航”",
    ["为进一步深化未成年人检察社会支持体系建设工作，陕西省人民检察院联合共青团陕西省委，"
     "举办未检社会支持体系建设典型案例发布暨司法社工聘任活动。",
     "当日，共有60人被聘为陕西省未成年人检察司法社工，他们将用专业方法帮助涉罪未成年人"
     "顺利回归社会，安全“返航”。"],
    "中国新闻网", "（据中国新闻网）")
JIADING = Art(
    ["探索推动优质服务下沉", "上海嘉定社区精神健康社工站服务地图发布"],
    "探索推动优质服务下沉 上海嘉定社区精神健康社工站服务地图发布",
    ["9月20日，上海市嘉定区江桥镇举行社区精神健康社工站建设主题宣传活动，《2024年嘉定区"
     "社区精神健康社工站服务地图》正式发布，英文版名为Mental Health Map。",
     "据悉，嘉定区现共有六个精神健康社工站，覆盖50%的辖区街镇，把优质服务下沉到居民的"
     "家门口。"],
    "新闻晨报", "（据《新闻晨报》）")
TIANJIN = Art(
    ["天津启动“五社联动”高层次社会工作人才培养计划"],
    "天津启动“五社联动”高层次社会工作人才培养计划",
    ["近日，天津市民政局与天津理工大学共同举办天津市“五社联动”高层次社会工作人才培养计划"
     "启动仪式，“养老人才共建基地”同期揭牌成立。",
     "天津市民政局党组书记、局长朱峰表示，未来将以天津市“五社联动”高层次社会工作人才培养"
     "计划为契机，推进社会工作专业化、提升养老服务水平。"],
    "中国新闻网", "（据中国新闻网）")
HENAN = Art(
    ["聚焦五大领域 实施五项专项行动", "河南印发社工千站暖万家行动实施方案"],
    "聚焦五大领域 实施五项专项行动 河南印发社工千站暖万家行动实施方案",
    ["此次行动将聚焦困弱帮扶、养老服务、儿童关爱、残障康复、社区治理五大领域，组织全省千余家"
     "社工站，实施五项专项行动。",
     "《实施方案》要求，各地要把此次行动作为破解社工服务难点堵点问题的有效途径，进一步提高"
     "政治站位。"],
    None, None)


# The first body line has no mark at all and could continue the title (issue 13: the title came
# out as `四川成都武侯：社区基金撬动居民自治 四川省成都市武侯区玉林街道`, the body as `设立社区…`).
WUHOU = Art(
    ["四川成都武侯：社区基金撬动居民自治"],
    "四川成都武侯：社区基金撬动居民自治",
    ["四川省成都市武侯区玉林街道设立社区发展基金以来，撬动社会资金三百余万元，支持居民自治项目"
     "四十余个，社区议事会每月召开一次，居民参与热情明显提高。",
     "街道相关负责人表示，下一步将继续完善基金管理制度，引导更多社会力量参与社区治理。"],
    "成都日报", "（据《成都日报》）")


def render(blocks: list[list[str]]) -> str:
    """Lines with blank lines between most of them, as the seed pages have."""
    lines = [l for b in blocks for l in b]
    return "".join(l + ("\n" if i % 7 == 3 else "\n\n") for i, l in enumerate(lines))


def parse(text: str, name: str = "page.txt"):
    return ingest_bytes(text.encode(), name)


def outcome(articles) -> list[tuple]:
    """Title, outlet and body of each article; where the body's paragraphs break is
    test_layout's business."""
    return sorted((a.title or "", a.source or "", a.text.replace("\n", "")) for a in articles)


def expected(*arts: Art) -> list[tuple]:
    return sorted((a.title, a.source or "", "".join(a.paragraphs)) for a in arts)


# -- titles before, after, stacked ---------------------------------------------------------

def test_titles_before_their_bodies():
    page = render([FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet],
                   SHAANXI.title_lines, SHAANXI.body(14), [SHAANXI.outlet]])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)


@pytest.mark.parametrize("width", range(11, 17))
@pytest.mark.parametrize("indent", [2, 0], ids=["indented", "flush"])
@pytest.mark.parametrize("layout", ["alone", "with-outlet", "after-another"])
def test_title_does_not_take_an_unpunctuated_first_body_line(width, indent, layout):
    body = [l for p in WUHOU.paragraphs for l in wrap(p, width, indent)]
    blocks = [WUHOU.title_lines, body]
    want = [expected(WUHOU)[0][:1] + ("", expected(WUHOU)[0][2])]
    if layout != "alone":
        blocks.append([WUHOU.outlet])
        want = expected(WUHOU)
    if layout == "after-another":
        blocks[:0] = [FENGYANG.title_lines, FENGYANG.body(width), [FENGYANG.outlet]]
        want = expected(FENGYANG, WUHOU)
    assert outcome(parse(render(blocks))) == want


def test_titles_after_their_outlet_lines():
    """Seed page 000: body, outlet line, then the title of that same article."""
    page = render([FENGYANG.body(13), [FENGYANG.outlet], FENGYANG.title_lines,
                   SHAANXI.body(13), [SHAANXI.outlet], SHAANXI.title_lines])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)


def test_titles_stacked_after_the_last_outlet_line():
    page = render([FENGYANG.body(13), [FENGYANG.outlet], SHAANXI.body(13), [SHAANXI.outlet],
                   SHAANXI.title_lines, FENGYANG.title_lines])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)


def test_title_after_the_previous_articles_outlet_line():
    """The next article's title right after an outlet line, before its own body."""
    page = render([FENGYANG.body(14), [FENGYANG.outlet], SHAANXI.title_lines, SHAANXI.body(14),
                   [SHAANXI.outlet], FENGYANG.title_lines])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)


def test_articles_in_different_column_widths():
    page = render([FENGYANG.title_lines, FENGYANG.body(11), [FENGYANG.outlet],
                   QUANJIAO.title_lines, QUANJIAO.body(16), [QUANJIAO.outlet],
                   SHAANXI.title_lines, SHAANXI.body(13), [SHAANXI.outlet]])
    got = parse(page)
    assert [(a.title, a.source) for a in got] == [(FENGYANG.title, FENGYANG.source),
                                                   (QUANJIAO.title, QUANJIAO.source),
                                                   (SHAANXI.title, SHAANXI.source)]


def test_title_not_wider_than_a_wide_column():
    page = render([FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet],
                   SHAANXI.title_lines, SHAANXI.body(16), [SHAANXI.outlet]])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)


# -- kickers -------------------------------------------------------------------------------

def test_kicker_with_colon_joined_without_space():
    got = parse(render([FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet]]))
    assert [a.title for a in got] == ["安徽凤阳：探索建立“慈善+社工+志愿者”联动服务模式"]


def test_kicker_without_colon_joined_with_space():
    got = parse(render([JIADING.title_lines, JIADING.body(13), [JIADING.outlet]]))
    assert [a.title for a in got] == [JIADING.title]


def test_kicker_without_colon_after_the_outlet_line():
    got = parse(render([JIADING.body(13), [JIADING.outlet], JIADING.title_lines]))
    assert [a.title for a in got] == [JIADING.title]


def test_kicker_and_title_on_one_line():
    page = render([["安徽凤阳：探索建立“慈善+社工+志愿者”联动服务模式"], FENGYANG.body(13),
                   [FENGYANG.outlet]])
    assert [a.title for a in parse(page)] == [FENGYANG.title]


# -- outlet lines --------------------------------------------------------------------------

def test_outlet_line_after_the_last_body_line():
    """`群众幸福感更强。 （据人民网）`: the outlet is split off the body line."""
    body = QUANJIAO.body(13)
    body[-1] += " " + QUANJIAO.outlet
    got = parse(render([QUANJIAO.title_lines, body, FENGYANG.title_lines, FENGYANG.body(13),
                        [FENGYANG.outlet]]))
    assert outcome(got) == expected(QUANJIAO, FENGYANG)
    assert all("据" not in a.paragraphs[-1][-8:] for a in got)


def test_newspaper_outlet_loses_its_book_title_marks():
    got = parse(render([JIADING.title_lines, JIADING.body(13), [JIADING.outlet]]))
    assert [a.source for a in got] == ["新闻晨报"]


def test_mis_encoded_article():
    """A whole article printed in the wrong font: title, body and outlet line."""
    lines = [misencode(l) for l in FENGYANG.title_lines + FENGYANG.body(13) + [FENGYANG.outlet]]
    got = parse("\n".join(lines) + "\n")
    assert outcome(got) == expected(FENGYANG)


# -- spaces --------------------------------------------------------------------------------

def test_spaces_between_chinese_and_in_numbers_removed_latin_words_keep_theirs():
    got = parse(render([JIADING.title_lines, JIADING.body(13), [JIADING.outlet],
                        FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet]]))
    text = "\n".join(a.text for a in got)
    assert "覆盖50%的辖区" in text and "近3万人次" in text
    assert "Mental Health Map" in text


# -- captions ------------------------------------------------------------------------------

def _caption_lines(width: int) -> list[str]:
    return wrap(QUANJIAO.caption, width, indent=0, short_end=False)


def test_caption_after_stacked_titles():
    """Seed page 000: the caption follows the titles stacked at the page's foot."""
    page = render([QUANJIAO.body(13), [QUANJIAO.outlet], SHAANXI.body(13), [SHAANXI.outlet],
                   SHAANXI.title_lines, QUANJIAO.title_lines, _caption_lines(30)])
    got = {a.title: a for a in parse(page)}
    assert set(got) == {QUANJIAO.title, SHAANXI.title}
    assert got[QUANJIAO.title].captions == [QUANJIAO.caption]
    assert got[SHAANXI.title].captions == []
    assert all("图片来源" not in a.text for a in got.values())


def test_caption_between_articles():
    page = render([QUANJIAO.title_lines, QUANJIAO.body(13), [QUANJIAO.outlet],
                   _caption_lines(28), FENGYANG.title_lines, FENGYANG.body(13),
                   [FENGYANG.outlet]])
    got = {a.title: a for a in parse(page)}
    assert outcome(got.values()) == expected(QUANJIAO, FENGYANG)
    assert got[QUANJIAO.title].captions == [QUANJIAO.caption]


def test_caption_with_a_short_last_line():
    lines = _caption_lines(24)
    assert lines[-1] == "局）"
    page = render([QUANJIAO.title_lines, QUANJIAO.body(13), [QUANJIAO.outlet], lines,
                   FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet]])
    got = {a.title: a for a in parse(page)}
    assert outcome(got.values()) == expected(QUANJIAO, FENGYANG)
    assert got[QUANJIAO.title].captions == [QUANJIAO.caption]


def test_caption_broken_inside_its_marker():
    lines = ["3月25日，南京大学、南京财经大学与全椒县合作共建的社会工作实习基地正式揭牌（图片",
             "来源：全椒县民政局）"]
    page = render([QUANJIAO.title_lines, QUANJIAO.body(13), [QUANJIAO.outlet], lines,
                   FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet]])
    got = {a.title: a for a in parse(page)}
    assert outcome(got.values()) == expected(QUANJIAO, FENGYANG)
    assert got[QUANJIAO.title].captions == [QUANJIAO.caption]


# -- no outlet line ------------------------------------------------------------------------

def test_page_without_outlet_lines_is_one_article_titled_by_its_first_line():
    page = render([["四川天府新区青龙街道用社工力量服务居民"], wrap(
        "今年以来，天府新区青龙街道社工站组织开展各类活动60余次，服务居民3000余人次。", 13),
        wrap("下一步，青龙社工站将继续深化服务内涵，拓宽服务领域，为青龙的和谐发展贡献更多力量。", 13)])
    got = parse(page)
    assert len(got) == 1
    a = got[0]
    assert a.title == "四川天府新区青龙街道用社工力量服务居民"
    assert a.source is None
    assert a.paragraphs == [
        "今年以来，天府新区青龙街道社工站组织开展各类活动60余次，服务居民3000余人次。",
        "下一步，青龙社工站将继续深化服务内涵，拓宽服务领域，为青龙的和谐发展贡献更多力量。"]


def test_page_without_outlet_lines_with_a_two_line_title():
    page = render([FENGYANG.title_lines, FENGYANG.body(13)])
    got = parse(page)
    assert outcome(got) == [(FENGYANG.title, "", "".join(FENGYANG.paragraphs))]


def test_page_without_outlet_lines_whose_first_line_is_body_text():
    """No title at all: a line with sentence marks is the body's start, not a title (it used
    to become the title `近日，天府新区青龙街道社`, and a one-sentence page a title without body)."""
    page = render([wrap("近日，天府新区青龙街道社工站组织开展各类活动60余次，服务居民3000余人次。", 13)])
    got = parse(page)
    assert len(got) == 1 and got[0].source is None
    assert got[0].title is None
    assert got[0].text.replace("\n", "") == \
        "近日，天府新区青龙街道社工站组织开展各类活动60余次，服务居民3000余人次。"


def test_article_without_outlet_followed_by_a_titled_article():
    """Seed page 003: the first article has no outlet line; the next one's title, printed
    before its body, is where it ends."""
    page = render([HENAN.title_lines, HENAN.body(13), TIANJIN.title_lines, TIANJIN.body(13),
                   [TIANJIN.outlet]])
    assert outcome(parse(page)) == expected(HENAN, TIANJIN)


def test_two_line_title_after_an_article_without_outlet():
    page = render([HENAN.title_lines, HENAN.body(13), SHAANXI.title_lines, SHAANXI.body(13),
                   [SHAANXI.outlet]])
    assert outcome(parse(page)) == expected(HENAN, SHAANXI)


def test_kicker_title_after_an_article_without_outlet():
    page = render([HENAN.title_lines, HENAN.body(13), FENGYANG.title_lines, FENGYANG.body(13),
                   [FENGYANG.outlet]])
    assert outcome(parse(page)) == expected(HENAN, FENGYANG)


def test_lead_printed_across_the_page_joins_its_article():
    """Seed page 003: an article's lead paragraph set across the columns at the page's foot,
    after the last outlet line, goes in front of that article's body."""
    lead = ("近日，河南省民政厅印发《河南社工千站暖万家行动实施方案》，决定自2023年6月至12月底，"
            "在全省乡镇（街道）社会工作服务站集中开展“河南社工千站暖万家行动”。")
    page = render([HENAN.title_lines, HENAN.body(13), TIANJIN.title_lines, TIANJIN.body(13),
                   [TIANJIN.outlet], wrap(lead, 38, indent=0)])
    got = {a.title: a for a in parse(page)}
    assert set(got) == {HENAN.title, TIANJIN.title}
    assert got[HENAN.title].source is None
    assert got[HENAN.title].text.replace("\n", "") == lead + "".join(HENAN.paragraphs)
    assert got[TIANJIN.title].text.replace("\n", "") == "".join(TIANJIN.paragraphs)


# -- ids and offsets -----------------------------------------------------------------------

def test_ids_stable_and_offsets_consistent():
    page = render([FENGYANG.title_lines, FENGYANG.body(13), [FENGYANG.outlet],
                   QUANJIAO.title_lines, QUANJIAO.body(13), [QUANJIAO.outlet]])
    one, two = parse(page, "2024-05-01_03.txt"), parse(page, "2024-05-01_03.txt")
    assert [a.id for a in one] == [a.id for a in two]
    assert all(a.issue == "2024-05-01_03" for a in one)
    assert parse(page, "other.txt")[0].id != one[0].id          # the issue is part of the id
    for a in one:
        for (s, e), p in zip(a.offsets, a.paragraphs):
            assert a.text[s:e] == p


@pytest.mark.parametrize("width", [11, 12, 13, 14, 15, 16])
def test_column_width_does_not_matter(width):
    page = render([FENGYANG.title_lines, FENGYANG.body(width), [FENGYANG.outlet],
                   SHAANXI.title_lines, SHAANXI.body(width), [SHAANXI.outlet]])
    assert outcome(parse(page)) == expected(FENGYANG, SHAANXI)
