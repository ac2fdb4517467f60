"""Page text → lines and paragraphs: column-cut lines with blank lines between them, spaces PDF
extraction leaves, outlet and caption lines, widths."""

from __future__ import annotations

import pytest

from qa.ingest import ingest_bytes
from qa.ingest.layout import (
    clean_title, display_width, is_kicker, join_body, paragraph_text, paragraphs, split_lines,
)

from .relayout import wrap



def _lines(page: str):
    return split_lines(page)


# -- spaces --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,clean", [
    ("近 3万人", "近3万人"),
    ("来自国家卫健委 2023 年末", "来自国家卫健委2023年末"),
    ("全国已建成健康企业近 1.9万家", "全国已建成健康企业近1.9万家"),
    ("增加了 38.5 %", "增加了38.5%"),
    ("覆盖 50%的辖区", "覆盖50%的辖区"),
    ("为 7.7\u0020万余人", "为7.7万余人"),
    ("1. 9万家", "1.9万家"),
    ("1 .9万家", "1.9万家"),
    ("9 月 20日，上海市", "9月20日，上海市"),
    ("服 务 ， 全 省 覆 盖 率 已 达", "服务，全省覆盖率已达"),
    ("“ 社工+志愿 ” 新模式", "“社工+志愿”新模式"),
    ("社工站 1094个", "社工站1094个"),
    ("New York Times 报道", "New York Times报道"),
    ("据 Super Bowl 50 报道", "据Super Bowl 50报道"),
    ("善美济阳‘幸福 yang益’", "善美济阳‘幸福yang益’"),
    ("英文版名为 Mental Health Map 。", "英文版名为Mental Health Map。"),
    ("  两端的空格  ", "两端的空格"),
    # a name of two phrases keeps its space; one next to a mark goes (seed pages 000, 004)
    ("该县打造了“童心有温暖 成长有相伴”等", "该县打造了“童心有温暖 成长有相伴”等"),
    ("在基层社会治理方面 ，“党建引领 邻里共治”居民", "在基层社会治理方面，“党建引领 邻里共治”居民"),
    ("“微光冉冉  益童成长”关爱", "“微光冉冉 益童成长”关爱"),
    ("北 慈 善 之 家", "北慈善之家"),
    ("好社区。 （据新闻晨报）", "好社区。（据新闻晨报）"),
])
def test_join_body(raw, clean):
    assert join_body(raw) == clean


@pytest.mark.parametrize("raw,clean", [
    ("贵州：已建成乡镇（街道）社工站 1094个", "贵州：已建成乡镇（街道）社工站1094个"),
    ("安徽全椒：以“五社联动”为支点 探索基层治理新路径", "安徽全椒：以“五社联动”为支点 探索基层治理新路径"),
    ("聚焦五大领域   实施五项专项行动", "聚焦五大领域 实施五项专项行动"),
    ("社工站 “156+” 服务体系", "社工站“156+”服务体系"),
])
def test_clean_title(raw, clean):
    assert clean_title(raw) == clean


# -- widths --------------------------------------------------------------------------------

def test_display_width():
    assert display_width("社会工作") == 4
    assert display_width("2024") == 2           # ASCII is half as wide
    assert display_width("，。") == 1            # full-width marks are squeezed to half
    assert display_width("社工 站") == 3.25


@pytest.mark.parametrize("text,kicker", [
    ("安徽凤阳：", True), ("山东省东营市东营区：", True), ("内蒙古包头市九原区：", True),
    ("社会工作者：", True), ("Note:", True),
    ("加强人才引育。严把选拔：", False), ("近日，", False), ("贵州：已建成乡镇", False),
])
def test_is_kicker(text, kicker):
    assert is_kicker(text) is kicker


# -- lines ---------------------------------------------------------------------------------

def test_blank_and_mark_only_lines_dropped():
    lines = _lines("第一行文字\n\n\n   \n，\n”\n第二行文字\n")
    assert [l.text for l in lines] == ["第一行文字", "第二行文字"]


@pytest.mark.parametrize("line,source", [
    ("（据新华社客户端）", "新华社客户端"),
    ("（据《贵州日报》）", "贵州日报"),
    ("（ 据 人民网 ）", "人民网"),
    ("(据中国新闻网)", "中国新闻网"),
    ("（据阜阳市人民政府官网）", "阜阳市人民政府官网"),
])
def test_outlet_line(line, source):
    [l] = _lines(line)
    assert (l.kind, l.source) == ("outlet", source)


def test_outlet_after_the_last_body_line_is_split_off():
    lines = _lines("化、法治化、智能化、专业化，让\n\n群众幸福感更强。 （据人民网）\n")
    assert [(l.kind, l.text) for l in lines] == [
        ("text", "化、法治化、智能化、专业化，让"), ("text", "群众幸福感更强。"),
        ("outlet", "（据人民网）")]
    assert lines[-1].source == "人民网"


def test_outlet_in_the_middle_of_a_line_is_text():
    """`（据介绍）` inside a sentence is no outlet line."""
    lines = _lines("该基地（据介绍）将致力于推进合作培养模式。\n")
    assert [l.kind for l in lines] == ["text"]


def test_caption_line_and_its_wide_first_line():
    page = ("以更加专业、高效的服务回应\n\n居民的期待。\n\n"
            "3 月 25 日，南京大学、南京财经大学与全椒县合作共建的社会\n"
            "工作实习基地正式揭牌（图片来源：全椒县民政局）\n")
    kinds = [(l.kind, l.text[:6]) for l in _lines(page)]
    assert kinds == [("text", "以更加专业、"), ("text", "居民的期待。"),
                     ("caption", "3 月 25"), ("caption", "工作实习基地")]


# -- paragraphs ----------------------------------------------------------------------------

COLUMN_PAGE = """\
近年来，全国各地各部门全

面推进健康中国建设，全方位全

周期维护人民健康，从“健康细

胞”到健康乡镇、健康县区，再到

健康城市、健康省份，已经形成

了全链条推进健康中国建设的

工作体系。

来自国家卫健委 2023 年末
公布的数据显示，全国已建成健

康企业近 1.9万家，和 2022年相
比增加了 38.5%，连续三年增长
30%以上。

中国社会工作联合会副会

长兼医务社会工作专业委员会

主任周冰表示，今年全国社工宣

传周的主题是“汇聚社工力量，

服务美好生活”。
"""

COLUMN_PARAGRAPHS = [
    "近年来，全国各地各部门全面推进健康中国建设，全方位全周期维护人民健康，从“健康细胞”到健康"
    "乡镇、健康县区，再到健康城市、健康省份，已经形成了全链条推进健康中国建设的工作体系。",
    "来自国家卫健委2023年末公布的数据显示，全国已建成健康企业近1.9万家，和2022年相比增加了"
    "38.5%，连续三年增长30%以上。",
    "中国社会工作联合会副会长兼医务社会工作专业委员会主任周冰表示，今年全国社工宣传周的主题是"
    "“汇聚社工力量，服务美好生活”。",
]


def test_paragraphs_rebuilt_from_column_lines():
    pars = [paragraph_text(p) for p in paragraphs(_lines(COLUMN_PAGE))]
    assert pars == COLUMN_PARAGRAPHS


def _paragraphs(page: str) -> list[str]:
    """The paragraphs of a one-article page, through the public entry point."""
    [a] = ingest_bytes((page + "\n（据新华社客户端）\n").encode(), "p.txt")
    return a.paragraphs


def test_paragraphs_of_an_ingested_page():
    [a] = ingest_bytes((COLUMN_PAGE + "（据新华社客户端）\n").encode(), "p.txt")
    assert a.paragraphs == COLUMN_PARAGRAPHS
    assert a.source == "新华社客户端"


def test_paragraph_ending_with_a_closing_quote():
    page = ("“我们要持续深入学习贯彻\n\n习近平总书记重要讲话精神。”\n\n邓湘贵说。\n\n"
            "记者在会上了解到，自\n\n2020年以来，贵州省深入贯\n\n彻落实民政部部署。\n")
    pars = _paragraphs(page)
    assert pars[-1] == "记者在会上了解到，自2020年以来，贵州省深入贯彻落实民政部部署。"


def test_column_narrowing_around_a_picture_keeps_the_paragraph():
    """Seed page 003: the column narrows beside a picture; every line there is short, none
    ends the paragraph."""
    page = ("三是开展“千站暖万家儿童\n\n关爱行动”。加强社工站与学校、\n\n社区儿童之家、托教中心等机构\n\n"
            "的合作和联动，多方面链接社会\n\n资源关爱儿童成长。入户或到学\n\n校了解儿童的需求，并根据其需\n\n"
            "求开展救助保护、行为培养、心\n\n理辅导、能力建设、社会关爱等\n\n服务。\n\n"
            "四是开展“千站暖万家残障\n\n康复行动”。加强社工站与残联、\n\n特教学校、社区残疾人康复室等\n\n"
            "机构的合作和联动，多方面链接\n\n社会资源开展残障康复行动。到\n\n残疾人家里探访，了解\n\n"
            "残疾人的自理程度、生\n\n活来源、身体状况、支持\n\n体系，多方面开展残疾\n\n"
            "人医学康复、教育康复、\n\n职业康复、社会康复、技\n\n术康复。\n\n（据河南日报）\n")
    [a] = ingest_bytes(page.encode(), "p.txt")
    assert a.paragraphs == [
        "三是开展“千站暖万家儿童关爱行动”。加强社工站与学校、社区儿童之家、托教中心等机构的合作"
        "和联动，多方面链接社会资源关爱儿童成长。入户或到学校了解儿童的需求，并根据其需求开展救助"
        "保护、行为培养、心理辅导、能力建设、社会关爱等服务。",
        "四是开展“千站暖万家残障康复行动”。加强社工站与残联、特教学校、社区残疾人康复室等机构的"
        "合作和联动，多方面链接社会资源开展残障康复行动。到残疾人家里探访，了解残疾人的自理程度、"
        "生活来源、身体状况、支持体系，多方面开展残疾人医学康复、教育康复、职业康复、社会康复、"
        "技术康复。"]


def test_sentence_ending_at_a_line_end_inside_a_paragraph():
    page = ("加强人才引育。严把选拔\n\n关口，坚持把政治标准放在首\n\n位，建立政治素质联审考察机\n\n"
            "制，完善实绩实效考核评价。\n\n目前全县社会工作人才有1.2\n\n万余人。\n\n"
            "突出作用发挥。积极宣讲\n\n政策，发挥社会工作人才联系\n\n服务群众的优势特点。\n")
    pars = _paragraphs(page)
    assert pars == [
        "加强人才引育。严把选拔关口，坚持把政治标准放在首位，建立政治素质联审考察机制，完善实绩"
        "实效考核评价。目前全县社会工作人才有1.2万余人。",
        "突出作用发挥。积极宣讲政策，发挥社会工作人才联系服务群众的优势特点。"]


def test_subheading_is_a_paragraph_of_its_own():
    page = ("为济阳区社会工作发展提\n\n供了智力支持。\n\n“一站一品牌”助力基层服\n\n务和治理效能提升\n\n"
            "济阳区社工总站依托\n\n“156+”服务体系和“五融”工作\n\n法，指导垛石街道社工站成\n\n"
            "功创建市级社工站示范点。\n")
    pars = _paragraphs(page)
    assert "“一站一品牌”助力基层服务和治理效能提升" in pars
    # The short line is no paragraph: “156+” could not end it, so went down a line.
    assert pars[-1] == "济阳区社工总站依托“156+”服务体系和“五融”工作法，指导垛石街道社工站成功创建市级" \
                       "社工站示范点。"


PUSHED = ["济阳区社工总站依托“156+”服务体系和“五融”工作法，指导垛石街道社工站成功创建市级社工站示范点。",
          "全县社会工作人才达到了12000余人，服务群众三万余人次，居民满意度不断提高。",
          "嘉定区的英文版地图名为Mental Health Map，已正式发布，居民满意度不断提高。"]
INTRO = ["为济阳区社会工作发展提供了智力支持，服务群众三万余人次，居民满意度不断提高。",
         "济阳区民政局大力推进社会工作服务站建设，建立健全工作机制，完善服务网络，形成了良好局面。"]


def _column(width: int, *pars: str) -> str:
    return "".join(l + "\n\n" for p in pars for l in wrap(p, width))


@pytest.mark.parametrize("width", [12, 13, 14])
@pytest.mark.parametrize("text", PUSHED, ids=["quote", "number", "latin"])
def test_line_short_only_because_the_next_could_not_be_broken(text, width):
    """An opening mark, a number or a Latin word that did not fit went down a line together,
    leaving the line above short: it is wrapped, not a paragraph's end."""
    assert _paragraphs(_column(width, *INTRO, text)) == [*INTRO, text]


def test_heading_before_a_quotation_stays_a_heading():
    """A short heading, where what starts the next line would have fit: it ends there. (A
    heading that stops as close to the edge as a pushed-down line is told from one by nothing
    on the page.)"""
    text = "“156+”服务体系推动社工站建设，全区社工站成功创建市级示范点，成效明显。"
    page = _column(13, *INTRO) + "夯实基础\n\n" + _column(13, text)
    assert _paragraphs(page) == [*INTRO, "夯实基础", text]
