"""Filters by paper, issue and date, and the order by date, on an archive whose issues carry
that metadata (a character-hash encoder stands in for the model: what is tested is which
articles may answer, not how well), on both backends: Milvus applies them as ``expr`` filters
inside its searches."""

from __future__ import annotations

import pytest

from qa.ingest import ingest_bytes
from qa.issues import IssueMeta, IssueService, pages_of
from qa.search.filters import parse_where
from qa.search.service import SearchService
from tests.conftest import BACKENDS, place_for
from tests.fakes import FakeEncoder, fake_settings

PAGE = "{city}社区食堂开业\n\n{body}\n\n（据{outlet}）\n"
ISSUES = [  # (issue, date, paper, city, body, outlet): three different stories on one topic
    ("d1", "2024-03-01", "中国社会报", "青岚",
     "近日，青岚第三个社区食堂在老街口开张，退休教师组成志愿队帮厨，老年人凭卡就餐。", "青岚日报"),
    ("d2", "2024-05-20", "中国社会报", "白沙",
     "白沙镇把闲置的供销社改成社区食堂，午餐十元两荤一素，行动不便的老人可以预约送餐上门。", "白沙晚报"),
    ("d3", "2024-08-15", "公益时报", "云溪",
     "云溪街道的社区食堂由社工机构运营，晚上还开设兴趣课堂，附近居民排队打饭的场面十分热闹。", "云溪新闻网"),
]
Q = "社区食堂"


@pytest.fixture(scope="module", params=BACKENDS)
def search(request, tmp_path_factory):
    encoder = FakeEncoder()
    root = tmp_path_factory.mktemp("filters") / "index"
    settings = place_for(request.param, root, request).settings(fake_settings(root))
    service = IssueService(settings, encoder)
    for i, (issue, date, paper, city, body, outlet) in enumerate(ISSUES):
        text = PAGE.format(city=city, body=body, outlet=outlet).encode()
        pages = pages_of(ingest_bytes(text, "A01.txt"),
                         IssueMeta(issue=issue, date=date, paper=paper, page=1))
        (service.build if i == 0 else service.add)(pages)
    return SearchService(settings, encoder)


def issues_of(answer) -> list[str]:
    return [h.citation.issue for h in answer.results]


def test_no_filter_finds_all_three(search):
    assert sorted(issues_of(search.ask(Q, 5))) == ["d1", "d2", "d3"]


@pytest.mark.parametrize("where, expected", [
    (parse_where(paper="公益时报"), ["d3"]),
    (parse_where(paper=["中国社会报"]), ["d1", "d2"]),
    (parse_where(issue=["d2", "d3"]), ["d2", "d3"]),
    (parse_where(source="白沙晚报"), ["d2"]),
    (parse_where(date_from="2024-05-01"), ["d2", "d3"]),
    (parse_where(date_to="2024-05-20"), ["d1", "d2"]),
    (parse_where(date_from="2024-04-01", date_to="2024-06-01"), ["d2"]),
    (parse_where(paper="中国社会报", date_from="2024-04-01"), ["d2"]),
    (parse_where(paper="人民日报"), []),
])
def test_filters(search, where, expected):
    answer = search.ask(Q, 5, where=where)
    assert sorted(issues_of(answer)) == expected
    for h in answer.results:
        c = h.citation
        assert (c.paper, c.date, c.page) == next((p, d, 1) for i, d, p, *_ in ISSUES
                                                 if i == c.issue)


def test_sort_by_date_puts_the_newest_first(search):
    answer = search.ask(Q, 5, sort="date")
    dates = [h.citation.date for h in answer.results]
    assert dates == sorted(dates, reverse=True) and len(dates) == 3
    assert [h.rank for h in answer.results] == [1, 2, 3]
