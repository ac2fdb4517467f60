"""PDF pages: the seed articles laid out as newspaper pages (pdfgen.py) come out as the same
articles as the seed text pages, whatever the layout; bad PDFs and bad pages are refused with
their reason and lose nothing else.

The layouts are drawn at random from fixed seeds; ``test_recovery_on_unseen_layouts`` uses a
seed the parser was not developed on.
"""

from __future__ import annotations

import json
import random
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.errors import BadIssueFile
from qa.ingest import Skipped, expand, ingest_bytes, ingest_paths
from qa.issues import IssueMeta, pages_of

from . import pdfgen
from .bugs import bug
from .relayout import BEGINS, begins, load_articles
from .test_seeds import LEFTOVER, QUANJIAO_CAPTION, TIANJIN_CAPTION

LAYOUTS = [101, 202, 303]            # one PDF per seed page for each of these layout seeds
UNSEEN = 20240923                    # layouts for the recovery rate (not tuned on)
# Measured when written: 87 of 87 articles on the 20 pages of UNSEEN (and 100 % on 1,000
# pages of other seeds while it was developed). It only guards against regressions.
MIN_RECOVERY = 0.97
JUMPS = 20241107                     # A3 layouts where articles run on below others (not tuned on)
# Measured when written: 58 of 59 articles, 14 of them running on below another; before the
# rules for it (qa.ingest.pdfpage: modules, _jumped_to, _merge_orphans) 66 % over 20 seeds.
MIN_JUMP_RECOVERY = 0.95


def write_seed_pdfs(folder: Path, seed: int, **kw) -> list[pdfgen.Placement]:
    """One single-page PDF per seed page, named like it, in a layout drawn from ``seed``."""
    folder.mkdir(parents=True, exist_ok=True)
    placements = []
    for i, (stem, arts) in enumerate(pdfgen.seed_pages().items()):
        issue = pdfgen.make_pdf([arts], seed=seed * 10 + i, **kw)
        (folder / f"{stem}.pdf").write_bytes(issue.data)
        placements += issue.placements
    return placements


@pytest.fixture(scope="module")
def seed_pdf_dirs(tmp_path_factory) -> dict[int, tuple[Path, list[pdfgen.Placement]]]:
    out = {}
    for seed in LAYOUTS:
        d = tmp_path_factory.mktemp(f"layout{seed}")
        out[seed] = d, write_seed_pdfs(d, seed)
    return out


@pytest.fixture(scope="module")
def one_issue():
    """The five seed pages as the five pages of one PDF."""
    issue = pdfgen.make_pdf(list(pdfgen.seed_pages().values()), seed=7)
    return issue, ingest_bytes(issue.data, "2024-03-28.pdf")


def key(a) -> tuple:
    return a.title, a.source, begins(a.text)


# -- the generator -------------------------------------------------------------------------

def test_generator_is_deterministic():
    pages = list(pdfgen.seed_pages().values())[:2]
    assert pdfgen.make_pdf(pages, seed=5).data == pdfgen.make_pdf(pages, seed=5).data


def test_generator_varies_what_the_parser_must_handle(seed_pdf_dirs):
    placements = [p for _, ps in seed_pdf_dirs.values() for p in ps]
    pages = pdfgen.random_pages(20, random.Random(UNSEEN))
    placements += pdfgen.make_pdf(pages, seed=UNSEEN).placements
    assert {p.title_pos for p in placements} == {"above", "below", "none"}
    assert {p.columns for p in placements} >= {1, 2, 3, 4}
    assert {p.image for p in placements} == {"none", "wide", "column"}
    assert {p.kicker for p in placements} == {True, False}
    assert {p.outlet_inline for p in placements} == {True, False}
    assert {p.damaged for p in placements} == {True, False}
    assert max(p.title_lines for p in placements) >= 3


# -- the seed pages as PDFs ----------------------------------------------------------------

@pytest.mark.parametrize("seed", LAYOUTS)
def test_qa_ingest_gives_the_19_seed_articles(seed_pdf_dirs, seed_expected, seed):
    folder, placements = seed_pdf_dirs[seed]
    r = CliRunner().invoke(main, ["ingest", str(folder)])
    assert r.exit_code == 0, r.output
    got = [json.loads(l) for l in r.stdout.splitlines()]
    assert [(a["issue"], a["title"], a["source"]) for a in got] == \
        [(e["issue"], e["title"], e["source"]) for e in seed_expected], \
        "\n".join(str(p) for p in placements)
    for a, e in zip(got, seed_expected):
        assert a["text"].startswith(e["begins"]), (a["title"], a["text"][:40])
        assert a["page"] == 1


@pytest.mark.parametrize("seed", LAYOUTS)
def test_seed_pdfs_give_the_whole_text_and_captions(seed_pdf_dirs, seed):
    """Beyond the start: every character of the body (paragraph breaks aside), the captions
    with their articles, nothing of the running head, no mis-encoding left."""
    folder, placements = seed_pdf_dirs[seed]
    arts = {key(a): a for a in ingest_paths([folder]).articles}
    for p in placements:
        want = p.article
        got = arts[(want.title, want.source, begins(want.text))]
        assert got.captions == want.captions, str(p)
        # the repair may leave a mark it cannot tell from a word (要 for —, 野 for a quote
        # whose closing half is far away); everything else is as printed, but for a space
        # between two words that fell where a line wraps: a PDF does not keep it
        def chars(text):
            return len(text.replace("\n", "").replace(" ", ""))

        assert chars(got.text) == chars(want.text)
        assert "社会工作周刊" not in got.text and "图片来源" not in got.text
        for t in (got.title or "", got.text, *got.captions):
            assert not any(pat.search(t) for pat in LEFTOVER[:2]), t


def test_a_wholly_mis_encoded_issue_is_repaired(tmp_path, seed_expected):
    """Every mark printed in the wrong glyph (the seeds' damage), on every page."""
    write_seed_pdfs(tmp_path, 404, p_damage=1.0)
    result = ingest_paths([tmp_path])
    assert [(a.issue, a.title, a.source) for a in result.articles] == \
        [(e["issue"], e["title"], e["source"]) for e in seed_expected]
    left = [m.group(0) for a in result.articles for t in (a.title or "", a.text, *a.captions)
            for pat in LEFTOVER for m in pat.finditer(t)]
    assert left == []


def test_pages_of_one_pdf_are_the_issue_s_pages(one_issue, seed_expected):
    issue, arts = one_issue
    stems = list(pdfgen.seed_pages())
    assert {a.issue for a in arts} == {"2024-03-28"}
    assert [(stems[a.page - 1], a.title, a.source) for a in arts] == \
        [(e["issue"], e["title"], e["source"]) for e in seed_expected]


def test_captions_go_with_their_articles(one_issue):
    _, arts = one_issue
    assert {a.title: a.captions for a in arts if a.captions} == {
        "安徽全椒：以“五社联动”为支点 探索基层治理新路径": [QUANJIAO_CAPTION],
        "天津启动“五社联动”高层次社会工作人才培养计划": [TIANJIN_CAPTION],
    }


def test_paragraphs_offsets_and_ids(one_issue):
    _, arts = one_issue
    parsed = {(a.title, a.source): a for a in load_articles()}
    same = 0
    for a in arts:
        assert a.text == "\n".join(a.paragraphs)
        assert [a.text[s:e] for s, e in a.offsets] == a.paragraphs
        same += a.paragraphs == parsed[(a.title, a.source)].paragraphs
        assert a.id.startswith("2024-03-28-") and a.to_dict()["page"] == a.page
    assert len({a.id for a in arts}) == len(arts)
    # measured when written: 16 of 19; the rest differ by a mark the repair left (see above)
    # or by a paragraph that begins at the top of a column in a layout without indents
    assert same >= 16, same
    again = ingest_bytes(one_issue[0].data, "2024-03-28.pdf")
    assert [a.id for a in again] == [a.id for a in arts]


def test_pages_printed_in_embedded_fonts_read_the_same(one_issue):
    """The five seed pages printed in real embedded faces (``embed_fonts``: what scangen.py
    renders to images) read as the same articles as in the named CID font: the text layer
    still works. Lines are set by the embedded faces' own widths, so a space PDFium finds
    between a number and a word, or a paragraph break at a column's top, may differ; the
    characters may not."""
    embedded = pdfgen.make_pdf(list(pdfgen.seed_pages().values()), seed=7, embed_fonts=True)
    assert b"/FontFile2" in embedded.data and b"STSong-Light" not in embedded.data
    got = ingest_bytes(embedded.data, "2024-03-28.pdf")
    _, want = one_issue

    def chars(text):
        return re.sub(r"\s", "", text)

    assert [(a.page, a.title, a.source) for a in got] == [(a.page, a.title, a.source) for a in want]
    assert [chars(a.text) for a in got] == [chars(a.text) for a in want]
    assert [a.captions for a in got] == [a.captions for a in want]


def test_the_same_article_on_two_pages_keeps_two_ids():
    arts = list(pdfgen.seed_pages().values())[3]
    got = ingest_bytes(pdfgen.make_pdf([arts, arts], seed=3).data, "twice.pdf")
    assert [a.page for a in got] == [1] * len(arts) + [2] * len(arts)
    assert len({a.id for a in got}) == len(got)
    # and still two once filed under an issue (``qa add --issue``), which renames the page id
    (page,) = pages_of(got, IssueMeta(issue="2024-04-11"))
    assert len({a.id for a in page.articles}) == len(got)


def test_recovery_on_unseen_layouts():
    """20 pages of 3–5 articles drawn from the 19, in layouts from a seed not developed on."""
    pages = pdfgen.random_pages(20, random.Random(UNSEEN))
    issue = pdfgen.make_pdf(pages, seed=UNSEEN)
    arts = ingest_bytes(issue.data, "unseen.pdf")
    got = {(a.page, *key(a)) for a in arts}
    misses = [p for p in issue.placements
              if (p.page, p.article.title, p.article.source, begins(p.article.text)) not in got]
    rate = 1 - len(misses) / len(issue.placements)
    print(f"\nunseen layouts: {len(pages)} pages, {len(issue.placements)} articles, recovered "
          f"(title, outlet, first {BEGINS} characters) {rate:.1%}; articles out: {len(arts)}")
    for p in misses:
        print("  missed", p)
    assert rate >= MIN_RECOVERY
    assert len(arts) <= len(issue.placements) + 2


def test_articles_that_run_on_below_another_article():
    """A3 pages in three columns where an article fills its column and runs on in the next
    ones, below another article's end (the seed pages, then ten pages drawn from them, in
    layouts from a seed not developed on): each comes out whole, with its title and outlet."""
    pages = list(pdfgen.seed_pages().values()) + pdfgen.random_pages(10, random.Random(JUMPS))
    issue = pdfgen.make_pdf(pages, seed=JUMPS, jumps=True)
    jumped = [p for p in issue.placements if p.jumped]
    arts = ingest_bytes(issue.data, "a3.pdf")
    got = {(a.page, *key(a)) for a in arts}
    misses = [p for p in issue.placements
              if (p.page, p.article.title, p.article.source, begins(p.article.text)) not in got]
    rate = 1 - len(misses) / len(issue.placements)
    print(f"\nA3 pages with jumps: {len(issue.placements)} articles, {len(jumped)} run on below "
          f"another, recovered {rate:.1%}; articles out: {len(arts)}", *misses, sep="\n  ")
    assert len(jumped) >= 10
    assert rate >= MIN_JUMP_RECOVERY and len(arts) <= len(issue.placements) + 1


def test_a_title_wrapped_over_its_one_column_keeps_no_space_at_the_break():
    """Titles set over one column and wrapped where the line was full, their articles running
    on in the next columns: a break inside a word is no space (「…司法社 工…」 was)."""
    arts = {a.title: a for a in load_articles()}
    wanted = ["陕西推动实施“未检+司法社工”模式 助迷途少年安全“返航”",
              "安徽临泉：建强社会工作人才队伍 为基层社会治理增活力"]
    page = [arts[wanted[0]], arts["贵州首家“院社协作”共建医务社工站落户毕节"],
            arts[wanted[1]], arts["内蒙古首家社会工作学院揭牌成立"]]
    issue = pdfgen.make_pdf([page], seed=JUMPS + 1, jumps=True, p_damage=0.0)
    assert [p.jumped for p in issue.placements if p.article.title in wanted] == [True, True]
    assert all(p.title_lines >= 2 for p in issue.placements if p.article.title in wanted)
    got = [a.title for a in ingest_bytes(issue.data, "a3.pdf")]
    assert got == [a.title for a in page]


# -- bad files and bad pages ---------------------------------------------------------------

def _pdf(*pages, **kw) -> bytes:
    return pdfgen.make_pdf(list(pages), seed=9, **kw).data


@pytest.mark.parametrize("make,words", [
    (lambda: _pdf(pdfgen.SCAN), ["没有识别出文字"]),
    (lambda: _pdf(pdfgen.SCAN, pdfgen.SCAN), ["没有识别出文字", "全部 2 页"]),
    (lambda: _pdf(list(pdfgen.seed_pages().values())[0], password="秘密"), ["加密", "密码"]),
    (lambda: _pdf(list(pdfgen.seed_pages().values())[0])[:3000], ["不是有效的 PDF"]),
    (lambda: b"%PDF-1.4\n" + bytes(range(256)) * 8, ["不是有效的 PDF"]),
    (lambda: "（据新华社）社区服务。".encode() * 50, ["不是有效的 PDF"]),
    (lambda: b"", ["文件为空"]),
    (lambda: _pdf(pdfgen.BLANK), ["空白页"]),
])
def test_unreadable_pdf_is_refused_naming_the_file(make, words):
    with pytest.raises(BadIssueFile) as e:
        ingest_bytes(make(), "A03版.pdf")
    assert e.value.message.startswith("A03版.pdf: ")
    for w in words:
        assert w in e.value.message, e.value.message


def test_one_bad_page_does_not_lose_the_others(tmp_path):
    pages = list(pdfgen.seed_pages().values())
    (tmp_path / "issue.pdf").write_bytes(_pdf(pages[0], pdfgen.SCAN, pdfgen.BLANK, pages[3]))
    result = ingest_paths([tmp_path])
    assert sorted({a.page for a in result.articles}) == [1, 4]
    assert [key(a) for a in result.articles] == \
        [key(a) for a in pages[0]] + [key(a) for a in pages[3]]
    assert [(Path(s.name).name, s.page) for s in result.skipped] == \
        [("issue.pdf", 2), ("issue.pdf", 3)]
    assert "没有识别出文字" in result.skipped[0].reason and "第 2 页" in result.skipped[0].reason
    assert "空白页" in result.skipped[1].reason
    summary = result.summary()
    assert "收录 1 个文件" in summary and "跳过 PDF 中的 2 页" in summary
    r = CliRunner().invoke(main, ["ingest", str(tmp_path)])
    assert r.exit_code == 1 and len(r.stdout.splitlines()) == len(result.articles)


def test_page_text_over_the_limit_is_skipped():
    data = _pdf(list(pdfgen.seed_pages().values())[1])
    skipped: list[Skipped] = []
    with pytest.raises(BadIssueFile, match="文字过多"):
        ingest_bytes(data, "p.pdf", max_bytes=2_000, skipped=skipped)
    assert ingest_bytes(data, "p.pdf", max_bytes=100_000, skipped=skipped) and not skipped


def test_pdfs_are_found_in_folders_and_read_in_parallel(tmp_path):
    """Server threads may ingest two uploads at once; PDFium is not thread-safe."""
    pages = list(pdfgen.seed_pages().values())
    datas = [_pdf(pages[0]), _pdf(pages[2])]
    for i, d in enumerate(datas):
        (tmp_path / f"p{i}.pdf").write_bytes(d)
    assert [p.name for p in expand([tmp_path])] == ["p0.pdf", "p1.pdf"]
    want = [[key(a) for a in ingest_bytes(d, "p.pdf")] for d in datas]
    got: dict[int, list] = {}

    def run(i: int) -> None:
        got[i] = [[key(a) for a in ingest_bytes(datas[i % 2], "p.pdf")] for _ in range(3)]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g == [want[i % 2]] * 3 for i, g in got.items()) and len(got) == 4


def test_titles_read_from_type_size_not_position():
    """A page holding one article, its title below the body in a smaller size than usual:
    still a title, since it is set larger than the body."""
    arts = [next(a for a in load_articles() if a.title and a.title.startswith("贵州毕节"))]
    issue = pdfgen.make_pdf([arts], seed=11, p_below=1.0)
    assert issue.placements[0].title_pos == "below"
    [a] = ingest_bytes(issue.data, "one.pdf")
    assert key(a) == (arts[0].title, arts[0].source, begins(arts[0].text))
    assert re.match(r"近年来", a.text)


def test_titles_barely_larger_than_the_body_are_told_by_their_weight():
    """Titles and kickers in bold at 1.1 times the body size (as over news in brief)."""
    pages = pdfgen.random_pages(10, random.Random(UNSEEN + 1))
    issue = pdfgen.make_pdf(pages, seed=UNSEEN + 1, title_scale=1.1)
    got = {(a.page, *key(a)) for a in ingest_bytes(issue.data, "brief.pdf")}
    missed = [str(p) for p in issue.placements
              if (p.page, p.article.title, p.article.source, begins(p.article.text)) not in got]
    print(f"\nbold titles at 1.1x: {len(issue.placements) - len(missed)} of "
          f"{len(issue.placements)} recovered", *missed, sep="\n  ")
    # measured when written: 45 of 46; the miss is the case below
    assert len(missed) <= 1


@bug("a title below its article, narrower than its columns, is read in the middle of it: the "
     "cut between the columns the title does not overlap puts it after the second column, and "
     "the third begins a paragraph, so it is taken for another article")
def test_narrow_title_below_its_columns():
    pages = pdfgen.random_pages(10, random.Random(UNSEEN + 1))
    issue = pdfgen.make_pdf(pages[:1], seed=UNSEEN + 1, title_scale=1.1)
    [p] = [p for p in issue.placements if p.article.title and p.article.title.startswith("贵州：")]
    assert p.title_pos == "below"
    got = [key(a) for a in ingest_bytes(issue.data, "brief.pdf")]
    assert (p.article.title, p.article.source, begins(p.article.text)) in got


# -- limits (issue 23): checked while reading, before layout, chunking or embedding --------------

def _glyph_pdf(glyphs: int, pages: int = 1) -> bytes:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "hostile.py"
    spec = importlib.util.spec_from_file_location("qa_hostile_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.glyph_pdf(glyphs, pages)


def test_pdf_limits_are_checked_while_reading():
    from qa.ingest.pdf import Limits, read_pdf

    small = Limits(pages=3, page_glyphs=2_000, glyphs=5_000)
    with pytest.raises(BadIssueFile, match="4 页，超过上限 3 页"):
        read_pdf(_glyph_pdf(1_000, 4), "many.pdf", "many", limits=small)
    with pytest.raises(BadIssueFile, match="字符过多（.*上限 2,000）"):
        read_pdf(_glyph_pdf(3_000), "dense.pdf", "dense", limits=small)
    with pytest.raises(BadIssueFile, match="到第 3 页已超过 5,000 个字符"):
        read_pdf(_glyph_pdf(1_900, 3), "long.pdf", "long", limits=small)
    articles, bad = read_pdf(_glyph_pdf(1_900, 2), "fine.pdf", "fine", limits=small)
    assert articles and not bad


def test_the_default_pdf_limits_refuse_a_glyph_bomb_by_its_third_page():
    """640k characters a page in 4.6 KB (was: 87 s and 32k chunks, all ten pages indexed;
    RELIABILITY.md "Bounds" has the times)."""
    from qa.ingest.pdf import read_pdf

    with pytest.raises(BadIssueFile, match="到第 3 页已超过 1,500,000 个字符"):
        read_pdf(_glyph_pdf(640_000, 10), "bomb.pdf", "bomb")
