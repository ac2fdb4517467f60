"""Records that travel between stages. Plain dataclasses; ``asdict`` makes them JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Article:
    id: str                      # stable: derived from issue + title + body, see ingest.articles
    issue: str                   # issue/page id (file stem) or corpus name
    title: str | None
    source: str | None           # outlet, e.g. "新华社客户端"; None when the page names none
    text: str                    # clean body: paragraphs joined by "\n"
    paragraphs: list[str] = field(default_factory=list)
    # (start, end) of each paragraph in ``text``, so a chunk can be traced back to its place
    offsets: list[tuple[int, int]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    date: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Article":
        d = dict(d)
        d["offsets"] = [tuple(o) for o in d.get("offsets", [])]
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Chunk:
    id: str                      # content hash of ``text``: identical text → one chunk
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


@dataclass
class Highlight:
    sentence: tuple[int, int]                     # offsets into the result's ``text``
    terms: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Hit:
    rank: int
    score: float
    scores: dict[str, float]     # per retrieval path: {"dense": …, "lexical": …}
    text: str
    highlight: Highlight
    citation: Citation
    also_in: list[Citation] = field(default_factory=list)   # reprints of the same passage


@dataclass
class Answer:
    question: str
    results: list[Hit]
    took_ms: float
