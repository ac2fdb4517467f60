"""Records that travel between stages. Plain dataclasses; ``asdict`` makes them JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Article:
    id: str                      # stable: derived from page id + title + body (ingest.articles)
    issue: str                   # issue id; a file added without one is an issue of its own
    title: str | None
    source: str | None           # outlet, e.g. "新华社客户端"; None when the page names none
    text: str                    # clean body: paragraphs joined by "\n"
    paragraphs: list[str] = field(default_factory=list)
    # (start, end) of each paragraph in ``text``, so a chunk can be traced back to its place
    offsets: list[tuple[int, int]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    date: str | None = None      # YYYY-MM-DD: the issue's date, or a corpus record's own
    url: str | None = None
    # The unit of replacement and removal: one page file (or one corpus record). Defaults to
    # the issue id, which is what a file added on its own is.
    page_id: str = ""
    page: int | None = None      # page number in the printed issue (第 N 版), when known
    paper: str | None = None     # e.g. 中国社会报
    # Offsets in ``text`` of characters OCR read with low confidence (a scanned page's
    # articles; ``ingest.scan``): kept, and shown as uncertain.
    uncertain: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.page_id:
            self.page_id = self.issue

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """The article as lists show it: its ``ARTICLE_SUMMARY`` fields."""
        return {f: getattr(self, f) for f in ARTICLE_SUMMARY}

    @classmethod
    def from_dict(cls, d: dict) -> "Article":
        d = dict(d)
        d["offsets"] = [tuple(o) for o in d.get("offsets", [])]
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


# What an article is listed by (/api/articles, an upload's report), without its text: the one
# list of these fields; the OpenAPI schema ArticleSummary is made from it too.
ARTICLE_SUMMARY = ("id", "issue", "page_id", "title", "source", "paper", "date", "page")


@dataclass
class Chunk:
    id: str                      # content hash of ``text``: identical text → identical id
    article_id: str
    text: str
    start: int                   # character offsets into the article's ``text``
    end: int


@dataclass
class Citation:
    issue: str
    article_id: str
    title: str | None
    source: str | None
    start: int
    end: int
    page_id: str = ""
    paper: str | None = None
    date: str | None = None
    page: int | None = None


    def reference(self) -> str:
        """The citation as a reader copies it — 《标题》，据大众网；中国社会报 2024年8月15日
        第3版 — with whatever is known and nothing invented."""
        return reference(self.title, self.source, self.paper, self.date, self.page)


def reference(title: str | None, source: str | None, paper: str | None, date: str | None,
              page: int | None) -> str:
    head = f"《{title}》" if title else "（无标题）"
    if source:
        head += f"，据{source}"
    tail = " ".join(x for x in (paper, chinese_date(date), f"第{page}版" if page else None) if x)
    return f"{head}；{tail}" if tail else head


def chinese_date(date: str | None) -> str | None:
    """``2024-08-15`` → ``2024年8月15日``; anything else as it is."""
    if not date:
        return None
    parts = date.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"
    return date


@dataclass
class Highlight:
    sentence: tuple[int, int]                     # offsets into the result's ``text``
    answer: tuple[int, int] | None = None         # a short typed answer inside ``sentence``
    terms: list[tuple[int, int]] = field(default_factory=list)   # question words in it


@dataclass
class Hit:
    rank: int
    score: float                 # fused ranking score: orders one answer's results, no more
    confidence: float            # calibrated probability that ``text`` answers, in [0, 1]
    scores: dict[str, float | None]    # per retrieval path: {"dense": …, "lexical": None}
    text: str
    highlight: Highlight
    citation: Citation
    also_in: list[Citation] = field(default_factory=list)   # reprints of the same passage
    also_in_more: int = 0        # further reprints, not listed (at most max_reprints are)
    # further passages of the same article that matched, as [start, end] in its text
    more_in_article: list[list[int]] = field(default_factory=list)
    # the short answer the result states (its text at ``highlight.answer``), or None
    answer: str | None = None

    def __post_init__(self) -> None:
        a = self.highlight.answer
        if self.answer is None and a is not None:
            self.answer = self.text[a[0]:a[1]]


@dataclass
class Answer:
    question: str
    results: list[Hit]
    took_ms: float
    found: bool = False          # whether the best result is confident enough to answer
