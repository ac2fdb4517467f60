"""Mis-encoded punctuation: each full-width mark printed as the GB2312 character 0x31 rows
further on (“ → 野, ， → 袁). Repair must restore it where the context says it is punctuation and
leave the same characters alone where they are words (要求, 学院, 野外, 叶子)."""

from __future__ import annotations

import pytest

from qa.ingest.decode import decode
from qa.ingest.repair import MAPPING, repair

from .conftest import SEEDS

# The mis-encoded characters the issue lists.
ISSUE_PAIRS = {"野": "“", "冶": "”", "袁": "，", "遥": "。", "尧": "、", "渊": "（", "冤": "）",
               "叶": "《", "曳": "》", "院": "：", "要": "—"}
# A damaged outlet line, as seed page 001 has under otherwise correct articles: it tells the
# repair that this page was printed with the wrong font.
DAMAGED_OUTLET = "\n\n渊据叶新闻晨报曳冤\n"


def _ids(cases: list, prefix: str) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(len(cases))]


# -- the mapping ---------------------------------------------------------------------------

def _gb2312_shift() -> dict[str, str]:
    """Every character of GB2312 rows 0xD2/0xD4 → the character of row 0xA1/0xA3 with the same
    trail byte, computed here from the codec rather than taken from the module."""
    out = {}
    for row in (0xA1, 0xA3):
        for trail in range(0xA1, 0xFF):
            try:
                out[bytes([row + 0x31, trail]).decode("gb2312")] = \
                    bytes([row, trail]).decode("gb2312")
            except UnicodeDecodeError:
                pass
    return out


SAME_MARK = {"\u2015": "\u2014", "\u30fb": "\u00b7"}   # ― vs —, ・ vs ·: one mark, two code points


def test_mapping_follows_the_encoding_rule():
    shift = _gb2312_shift()
    for wrong, right in MAPPING.items():
        assert wrong in shift, wrong
        assert SAME_MARK.get(shift[wrong], shift[wrong]) == right, (wrong, right, shift[wrong])


def test_mapping_has_the_marks_the_issue_lists():
    for wrong, right in ISSUE_PAIRS.items():
        assert MAPPING.get(wrong) == right, wrong


def test_mapping_covers_the_punctuation_of_news_text():
    marks = set("，。、：；？！“”‘’（）《》—…·")
    shift = _gb2312_shift()
    covered = {SAME_MARK.get(r, r) for w, r in shift.items() if w in MAPPING}
    assert marks <= covered
    # …and nothing that is not punctuation: the rest of the two rows maps from common words
    assert set(MAPPING.values()) <= marks


def test_mapping_examples_by_bytes():
    assert bytes([0xD2, 0xB0]).decode("gb2312") == "野"
    assert bytes([0xA1, 0xB0]).decode("gb2312") == "“"
    assert MAPPING["野"] == "“"
    assert bytes([0xD4, 0xAC]).decode("gb2312") == "袁" and MAPPING["袁"] == "，"


# -- repaired ------------------------------------------------------------------------------

REPAIRED = [
    # the issue's examples
    ("渊据叶新闻晨报曳冤", "（据《新闻晨报》）"),
    ("贵州首家野院社协作冶共建医务社工站落户毕节", "贵州首家“院社协作”共建医务社工站落户毕节"),
    ("山东莱州院积极探索野社工+志愿冶新模式", "山东莱州：积极探索“社工+志愿”新模式"),
    # outlet lines
    ("渊据新华社客户端冤", "（据新华社客户端）"),
    ("渊据阜阳市人民政府官网冤", "（据阜阳市人民政府官网）"),
    ("好社区遥 渊据叶新闻晨报曳冤", "好社区。 （据《新闻晨报》）"),
    # a whole damaged paragraph (seed page 002)
    ("山东省莱州市积极探索野社工+志愿冶新模式袁选择部分城市社区先行先试袁进一步推动专业服务进"
     "社区遥近日袁文昌路街道汇泉尧光州尧北关尧定海尧东南隅社区野五彩绳冶联合党委",
     "山东省莱州市积极探索“社工+志愿”新模式，选择部分城市社区先行先试，进一步推动专业服务进"
     "社区。近日，文昌路街道汇泉、光州、北关、定海、东南隅社区“五彩绳”联合党委"),
    ("近年来袁安徽省淮北市不断夯实社会工作站建设袁通过建立社区渊村冤基金尧探索野基金管委会+"
     "专职社工冶模式袁有效解决了社工站运营资金问题遥",
     "近年来，安徽省淮北市不断夯实社会工作站建设，通过建立社区（村）基金、探索“基金管委会+"
     "专职社工”模式，有效解决了社工站运营资金问题。"),
    # dashes between words inside quotes (seed page 001)
    ("野培训要督导要赋能要整合冶带动社工站高效运行", "“培训—督导—赋能—整合”带动社工站高效运行"),
    # ？ ！ · ‘ ’ inside a damaged quotation
    ("野老师袁活动时间可以再延长一些吗钥我想一直待在这里遥冶",
     "“老师，活动时间可以再延长一些吗？我想一直待在这里。”"),
    ("野我们一起加油浴冶孩子们说遥", "“我们一起加油！”孩子们说。"),
    ("福泉塑起野社工黔行窑耶泉爷心服务尧耶泉爷城有爱冶社会工作服务品牌",
     "福泉塑起“社工黔行·‘泉’心服务、‘泉’城有爱”社会工作服务品牌"),
    # a damaged article without a single paired mark: its own marks are the evidence
    ("近年来袁东营区坚持把新时代文明实践与社会工作相结合袁真正实现资源共享遥街道还引进专业力量袁"
     "面向老年人提供服务遥",
     "近年来，东营区坚持把新时代文明实践与社会工作相结合，真正实现资源共享。街道还引进专业力量，"
     "面向老年人提供服务。"),
    # real (ASCII) marks cut it into stretches with one mark each
    ("截至10:00袁与实践基地相结合袁真正实现阵地共享遥截至11:00袁居民参与遥",
     "截至10:00，与实践基地相结合，真正实现阵地共享。截至11:00，居民参与。"),
    # a quotation over several sentences, too long to pair by its halves alone
    ("提升辖区文明程度遥\n野为推动志愿服务和社会工作融合发展袁实现社工站与新时代文明实践所阵地资源"
     "共享袁我们通过融合阵地尧融合服务尧融合队伍尧融合平台等举措方法袁将理论宣讲尧科普教育等与实践"
     "基地相结合袁真正实现阵地共建共享遥冶文汇街道相关工作人员介绍说遥",
     "提升辖区文明程度。\n“为推动志愿服务和社会工作融合发展，实现社工站与新时代文明实践所阵地资源"
     "共享，我们通过融合阵地、融合服务、融合队伍、融合平台等举措方法，将理论宣讲、科普教育等与实践"
     "基地相结合，真正实现阵地共建共享。”文汇街道相关工作人员介绍说。"),
]

# Damage with no paired mark nearby: repaired because the page carries damage elsewhere.
REPAIRED_ON_DAMAGED_PAGE = [
    # words made of the same characters stay, inside a damaged sentence
    ("学院要求学生参加野外实践袁医院院长表示支持遥", "学院要求学生参加野外实践，医院院长表示支持。"),
    ("据介绍袁该学院重要的任务是培养人才遥", "据介绍，该学院重要的任务是培养人才。"),
    ("社会工作者院\n汇聚星星之火袁为事实孤儿照亮前路", "社会工作者：\n汇聚星星之火，为事实孤儿照亮前路"),
    ("要注重社工服务的标准化和规范化袁积极推进一线社工专业能力建设遥",
     "要注重社工服务的标准化和规范化，积极推进一线社工专业能力建设。"),
    ("社区开展了政策宣讲尧儿童友好尧助残帮扶等服务遥", "社区开展了政策宣讲、儿童友好、助残帮扶等服务。"),
    ("启行学社关注事实孤儿群体中9要15岁的孩子袁以寒暑假7日开放式教育营地为主遥",
     "启行学社关注事实孤儿群体中9—15岁的孩子，以寒暑假7日开放式教育营地为主。"),
    ("他说院野我们要持续深入学习遥冶", "他说：“我们要持续深入学习。”"),
    ("医院院长表示袁要坚持以人民为中心遥", "医院院长表示，要坚持以人民为中心。"),
    ("搭建了民政要要要总站要要要乡镇渊街道冤社工站三级工作体系遥", "搭建了民政———总站———乡镇（街道）社工站三级工作体系。"),
    ("推进社会工作专业化尧提升养老服务水平遥", "推进社会工作专业化、提升养老服务水平。"),
    ("合作推动医务社会工作发展的探索之路遥该社工站的成立袁是统一战线的缩影遥", "合作推动医务社会工作发展的探索之路。该社工站的成立，是统一战线的缩影。"),
    ("在节假日等休闲时光绽放光彩噎噎遥", "在节假日等休闲时光绽放光彩……。"),
    ("四川天府新区青龙街道院\n用社工力量服务居民", "四川天府新区青龙街道：\n用社工力量服务居民"),
    ("山东济南济阳区院\n社工站野156+冶服务体系 探索基层治理新途径", "山东济南济阳区：\n社工站“156+”服务体系 探索基层治理新途径"),
    ("野你们真是好有心袁经常来\n\n探望我尧关心我遥冶在安徽省滁州", "“你们真是好有心，经常来\n\n探望我、关心我。”在安徽省滁州"),
]


@pytest.mark.parametrize("damaged,expected", REPAIRED, ids=_ids(REPAIRED, "r"))
def test_repaired(damaged, expected):
    assert repair(damaged) == expected


@pytest.mark.parametrize("damaged,expected", REPAIRED_ON_DAMAGED_PAGE,
                         ids=_ids(REPAIRED_ON_DAMAGED_PAGE, "rp"))
def test_repaired_on_a_damaged_page(damaged, expected):
    assert repair(damaged + DAMAGED_OUTLET)[:len(expected)] == expected


# -- left alone ----------------------------------------------------------------------------

CORRECT = [
    "会议要求，各地要把此次行动作为破解社工服务难点堵点问题的有效途径。",
    "这是一项重要举措，对维护劳动者身体健康至关重要。",
    "近日，内蒙古自治区首家社会工作学院揭牌成立。",
    "浙江省人民医院毕节医院与毕节市同心社会工作发展中心合作共建医务社会工作服务站。",
    "养老院院长培训、养老产业管理人员培养等工作同步推进。",
    "孩子们在野外探索中学会了合作，也认识了许多野生动物。",
    "社区开展了“野菜识别”科普活动，居民踊跃参加。",
    "叶书记在调研时强调，群众的事情无小事。",
    "该企业是一家冶金企业，员工约三千人。",
    "袁隆平院士的事迹激励着一代又一代青年。",
    "遥远的山村里，也有了社工站的身影。",
    "尧舜禹的故事流传至今。",
    "他终于洗清了冤枉，走出了人生的深渊。",
    "他来到窑洞前，看望了爷爷奶奶。",
    "他拿出钥匙，打开了社区活动室的门。",
    "耶鲁大学的学者也参加了研讨会。",
    "子曰：学而时习之。",
    "“我们要持续深入学习贯彻习近平总书记重要讲话精神。”邓湘贵说。",
    "据悉，该院要求全体医务人员参加培训，提升服务水平。",
    "要想富，先修路。",
    "院社协作是一种新模式，医院和社会组织都要参与。",
    "秋天到了，叶子在风中轻轻摇曳。",
    "在野外写生中陶冶情操，是孩子们最喜欢的活动。",
]

# The same sentences on a page that also carries damage (a mis-encoded outlet line): seed page
# 001 is like that, and the correct text of it must stay as it is.
CORRECT_ON_DAMAGED_PAGE = [
    "这是一项重要举措，对维护劳动者身体健康至关重要。",
    "近日，内蒙古自治区首家社会工作学院揭牌成立。",
    "孩子们在野外探索中学会了合作，也认识了许多野生动物。",
    "袁隆平院士的事迹激励着一代又一代青年。",
    "他终于洗清了冤枉，走出了人生的深渊。",
    "据悉，该院要求全体医务人员参加培训，提升服务水平。",
    "要想富，先修路。",
    "会议要求，各地要把此次行动作为破解社工服务难点堵点问题的有效途径。",
    "健康促进是系统工程，要倡导多社会主体共同建设，普及健康生活。",
    "还有孩子坚定地表示：“我长大以后也要成为一名志愿者。”",
    "区精神卫生中心相关负责人表示，健康促进要坚持以人民为中心。",
    # one character that reads as a mark in a long unpunctuated stretch is no damage by itself
    "会上，该院院长袁明介绍了医院近年来在社会工作方面的探索和实践。",
    "山西平遥古城吸引了大量游客前来参观游览和拍照留念，十分热闹。",
    "该企业是一家冶金企业。",
]


@pytest.mark.parametrize("text", CORRECT, ids=_ids(CORRECT, "c"))
def test_correct_text_untouched(text):
    assert repair(text) == text


@pytest.mark.parametrize("text", CORRECT_ON_DAMAGED_PAGE, ids=_ids(CORRECT_ON_DAMAGED_PAGE, "cp"))
def test_correct_text_untouched_on_a_damaged_page(text):
    out = repair(text + DAMAGED_OUTLET)
    assert out[:len(text)] == text
    assert out[len(text):] == "\n\n（据《新闻晨报》）\n"


@pytest.mark.parametrize("page", ["000", "003", "004"])
def test_correct_seed_pages_untouched(page):
    path = next(SEEDS.glob(f"{page}_*.txt"))
    text = decode(path.read_bytes(), path.name)
    assert repair(text) == text


@pytest.mark.parametrize("page", ["001", "002"])
def test_repair_is_idempotent(page):
    path = next(SEEDS.glob(f"{page}_*.txt"))
    once = repair(decode(path.read_bytes(), path.name))
    assert repair(once) == once


def test_repair_keeps_length_and_line_breaks():
    """One character for one: offsets computed before and after repair agree."""
    path = next(SEEDS.glob("002_*.txt"))
    text = decode(path.read_bytes(), path.name)
    out = repair(text)
    assert len(out) == len(text)
    breaks = [i for i, c in enumerate(text) if c == "\n"]
    assert [i for i, c in enumerate(out) if c == "\n"] == breaks
