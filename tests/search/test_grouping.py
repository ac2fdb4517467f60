from qa.search.grouping import Candidate, group, overlap_share, redundant_pairs, text_share

ARTICLE = "甲" * 3000


def cand(article, s, e, text=None):
    return Candidate(article, (s, e), text if text is not None else f"{article}:{s}-{e}")


def grouped(cands, k, max_chars):
    return group([(c.article, c) for c in cands], lambda c: c, k, max_chars)


def test_overlapping_passages_of_one_article_merge_and_far_ones_are_counted():
    groups = grouped([cand("a", 0, 400), cand("b", 0, 400), cand("a", 300, 700),
                    cand("a", 1500, 1900), cand("c", 0, 400)], k=5, max_chars=1000)
    assert [g.first.article for g in groups] == ["a", "b", "c"]
    a = groups[0]
    assert a.span == (0, 700)
    assert [m.span for m in a.more] == [(1500, 1900)]


def test_a_merge_that_would_grow_too_long_is_not_made():
    g = grouped([cand("a", 0, 600), cand("a", 300, 1100)], k=5, max_chars=1000)[0]
    assert g.span == (0, 600)
    assert g.more == []          # overlapping by more than 30 %: the weaker one is dropped


def test_grown_passage_takes_in_hits_set_aside_before():
    g = grouped([cand("a", 0, 300), cand("a", 310, 600), cand("a", 200, 320)], k=5,
              max_chars=1000)[0]
    assert g.span == (0, 600) and g.more == []


def test_hits_set_aside_are_dropped_once_the_grown_passage_mostly_covers_them():
    g = grouped([cand("a", 400, 800), cand("a", 0, 300), cand("a", 250, 700)], k=5,
                max_chars=700)[0]
    # (0, 300) was set aside, then (250, 700) grew the passage to (250, 800): 50 of 300 chars
    # overlap, under 30 %, so it stays listed
    assert g.span == (250, 800) and [m.span for m in g.more] == [(0, 300)]
    g = grouped([cand("a", 400, 800), cand("a", 0, 300), cand("a", 150, 700)], k=5,
                max_chars=700)[0]
    assert g.span == (150, 800) and g.more == []


def test_reprints_in_other_articles_become_citations_and_k_is_kept():
    story = "济阳区已实现街道社工站全覆盖，建设一个区级社工总站，配备专业驻站社工二十六人。"
    groups = grouped([cand("a", 0, 40, story), cand("b", 0, 40, "据报道，" + story),
                    cand("c", 0, 9, "另一篇完全不同的文章内容在此"), cand("d", 0, 9, "第四篇文章的不同内容")],
                   k=2, max_chars=1000)
    assert [g.first.article for g in groups] == ["a", "c"]
    assert [o.article for o in groups[0].also] == ["b"]


def test_overlap_measures():
    assert overlap_share((0, 100), (50, 300)) == 0.5
    assert overlap_share((0, 100), (100, 200)) == 0.0
    assert text_share("完全不同的第一段文字内容", "另外一段毫无关系的文本") == 0.0
    results = [("a", (0, 400), "x"), ("a", (300, 700), "y"), ("b", (0, 100), "z")]
    assert redundant_pairs(results) == 0          # 100 of 400 characters: 25 %
    assert redundant_pairs(results + [("a", (250, 650), "w")]) == 2
