"""The five real seed pages → exactly the 19 articles of ``seed_articles.jsonl``."""

from __future__ import annotations

import re

import pytest

from qa.ingest import ingest_paths

from .conftest import DATA, SEEDS, SHARED

QUANJIAO_CAPTION = ("3月25日，南京大学、南京财经大学与全椒县合作共建的社会工作实习基地正式揭牌"
                    "（图片来源：全椒县民政局）")
TIANJIN_CAPTION = ("天津市“五社联动”高层次社会工作人才培养计划启动仪式暨养老人才共建基地成立"
                   "（图片来源：天津理工大学）")

# What mis-encoded punctuation looks like when it survives: 渊据…冤 outlets, 野…冶 quotes,
# 叶…曳 book titles, and the single marks. 袁 遥 尧 冶 曳 冤 渊 do not occur in the seed
# articles as words, so any of them left is a mark that was not repaired.
LEFTOVER = [
    re.compile(r"渊\s*据"),
    re.compile(r"据[^（）\n]{1,20}冤"),
    re.compile(r"野[^“”\n]{1,30}冶"),
    re.compile(r"叶[^《》\n]{1,30}曳"),
    re.compile(r"[袁遥尧冶曳冤渊]"),
]


def _all_text(a) -> list[str]:
    return [a.title or "", a.text, *a.captions]


def test_data_copy_matches_shared_eval_file():
    shared = SHARED / "eval" / "seed_articles.jsonl"
    if not shared.exists():
        pytest.skip("../shared is not checked out beside the repository")
    assert (DATA / "seed_articles.jsonl").read_bytes() == shared.read_bytes()


def test_exactly_the_expected_articles(seed_result, seed_expected):
    assert seed_result.skipped == []
    assert seed_result.files == 5
    got = [(a.issue, a.title, a.source) for a in seed_result.articles]
    want = [(e["issue"], e["title"], e["source"]) for e in seed_expected]
    assert got == want


@pytest.mark.parametrize("k", range(19))
def test_article_title_source_and_body_start(seed_articles, seed_expected, k):
    a, e = seed_articles[k], seed_expected[k]
    assert (a.issue, a.title, a.source) == (e["issue"], e["title"], e["source"])
    assert a.text.startswith(e["begins"]), a.text[:60]


def test_issue_ids_are_the_file_stems(seed_articles):
    assert sorted({a.issue for a in seed_articles}) == sorted(p.stem for p in SEEDS.glob("*.txt"))


def test_no_mis_encoded_punctuation_left(seed_articles):
    left = [(a.title, pat.pattern, m.group(0), t[max(0, m.start() - 8):m.end() + 8])
            for a in seed_articles for t in _all_text(a) for pat in LEFTOVER
            for m in pat.finditer(t)]
    assert left == []


@pytest.mark.parametrize("issue,snippet", [
    # repaired on the damaged pages
    ("001_5e68e9660a63f3de", "“156+”服务体系推动社工站建设高质量发展"),
    ("001_5e68e9660a63f3de", "“培训—督导—赋能—整合”带动社工站高效运行"),
    ("002_ebf6d75d4c563302", "山东省莱州市积极探索“社工+志愿”新模式，选择部分城市社区先行先试，"
                             "进一步推动专业服务进社区。近日，文昌路街道汇泉、光州、北关、定海、"
                             "东南隅社区“五彩绳”联合党委携手“汇光关爱”社会工作服务站、"),
    # correct text on the same pages, left as it is
    ("001_5e68e9660a63f3de", "社会工作学院———通辽社会工作学院揭牌成立仪式在通辽职业学院举行"),
    ("001_5e68e9660a63f3de", "对社工人员的要求也在提高"),
    ("002_ebf6d75d4c563302", "浙江省人民医院毕节医院与毕节市同心社会工作发展中心"),
    ("002_ebf6d75d4c563302", "积极推动“院社协作”共建医务社工站"),
    ("002_ebf6d75d4c563302", "“不仅要关注当下的改变，更重要的是改变孩子的未来。”"),
    ("003_c1d45e1d9ab3f679", "《实施方案》要求，各地要把此次行动作为破解社工服务难点堵点问题的有效途径"),
    ("003_c1d45e1d9ab3f679", "“我们要持续深入学习贯彻习近平总书记视察贵州重要讲话精神"),
    ("003_c1d45e1d9ab3f679", "养老院院长培训"),
    ("001_5e68e9660a63f3de", "健康促进是系统工程，要倡导多社会主体共同建设"),
    ("002_ebf6d75d4c563302", "我长大以后也要成为一名志愿者。"),
])
def test_text_as_printed(seed_articles, issue, snippet):
    bodies = "\n".join(t.replace("\n", "") for a in seed_articles if a.issue == issue
                       for t in _all_text(a))
    assert snippet in bodies


# Names of two phrases, printed with a space between them (the same lines have spaces that PDF
# extraction added: `在基层社会治理方面 ，“党`, letter-spaced `服 务 ， 全 省`).
OWN_SPACES = ["“童心有温暖 成长有相伴”", "“微光冉冉 益童成长”", "“党建引领 邻里共治”"]


def test_no_spaces_between_chinese_or_inside_numbers(seed_articles):
    """Titles keep the one space between their parts (`为支点 探索…`), bodies the one inside a
    name of two phrases; no other."""
    bodies = "\n".join(a.text for a in seed_articles)
    for own in OWN_SPACES:
        assert own in bodies
    for a in seed_articles:
        for t in [a.text, *a.captions]:
            for own in OWN_SPACES:
                t = t.replace(own, "")
            assert not re.search(r"[\u4e00-\u9fff，。、][^\S\n]+[\u4e00-\u9fff，。、]", t), t
        for t in _all_text(a):
            assert not re.search(r"[\u4e00-\u9fff，。、][^\S\n]+\d|\d[^\S\n]+[\u4e00-\u9fff，。、%]",
                                 t), t
            assert not re.search(r"\d[^\S\n]*\.[^\S\n]+\d|\d[^\S\n]+\.\d", t), t


def test_no_stray_characters(seed_articles):
    for a in seed_articles:
        for t in _all_text(a):
            assert not re.search(r"[\ufffd\x00-\x08\x0b-\x1f\x7f\u2f00-\u2fdf]", t)


def test_captions_attached_to_their_articles(seed_articles):
    captions = {a.title: a.captions for a in seed_articles if a.captions}
    assert captions == {
        "安徽全椒：以“五社联动”为支点 探索基层治理新路径": [QUANJIAO_CAPTION],
        "天津启动“五社联动”高层次社会工作人才培养计划": [TIANJIN_CAPTION],
    }
    for a in seed_articles:
        assert "图片来源" not in a.text


def test_offsets_point_at_the_paragraphs(seed_articles):
    for a in seed_articles:
        assert a.paragraphs and all(p.strip() == p and p for p in a.paragraphs)
        assert a.text == "\n".join(a.paragraphs)
        assert len(a.offsets) == len(a.paragraphs)
        for (start, end), par in zip(a.offsets, a.paragraphs):
            assert a.text[start:end] == par


def test_ids_are_stable_and_unique(seed_articles):
    again = ingest_paths([SEEDS]).articles
    assert [a.id for a in again] == [a.id for a in seed_articles]
    ids = [a.id for a in seed_articles]
    assert len(set(ids)) == len(ids)
    for a in seed_articles:
        assert a.id.startswith(a.issue + "-")
        assert re.fullmatch(r"[0-9A-Za-z_-]+", a.id)


def test_ids_do_not_depend_on_the_folder(tmp_path, seed_articles):
    """A page ingested from elsewhere (an upload, a copy) keeps its article ids."""
    page = next(SEEDS.glob("003_*.txt"))
    (tmp_path / page.name).write_bytes(page.read_bytes())
    again = ingest_paths([tmp_path / page.name]).articles
    assert [a.id for a in again] == [a.id for a in seed_articles if a.issue == page.stem]


def test_a_line_left_short_by_what_went_down_is_no_paragraph(seed_articles):
    """Seed page 001: `济阳区社工总站依托` is short because “156+” could not end it; it was a
    paragraph of its own."""
    pars = [p for a in seed_articles for p in a.paragraphs]
    assert "济阳区社工总站依托" not in pars
    assert any(p.startswith("济阳区社工总站依托“156+”服务体系和“五融”工作法") for p in pars)
