"""Scores a question set against an index: hit@1, hit@k, MRR, outlet@1, and the misses.

Two formats are read:

* seed questions — ``{"id", "q", "answers", "source"}``: a hit is a returned passage that
  contains one of the answer strings; ``source`` must be the top result's outlet;
* bench sets — ``{"id", "question", "answers", "gold_passage_ids"}`` next to a
  ``passages.jsonl``: the index is built from those passages (cached per model and chunking),
  a hit is the answer string in a returned passage, and R@k counts gold passage ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.config import Settings


@dataclass
class Question:
    id: str
    text: str
    answers: list[str]
    source: str | None = None
    gold: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    name: str
    k: int
    n: int = 0
    hit1: int = 0
    hitk: int = 0
    rr: float = 0.0
    source_ok: int = 0
    source_n: int = 0
    gold1: int = 0
    goldk: int = 0
    gold_n: int = 0
    misses: list[dict] = field(default_factory=list)

    def figures(self) -> dict:
        n = max(self.n, 1)
        out = {"questions": self.n, "hit@1": self.hit1 / n, f"hit@{self.k}": self.hitk / n,
               f"MRR@{self.k}": self.rr / n}
        if self.source_n:
            out["outlet@1"] = self.source_ok / self.source_n
        if self.gold_n:
            out["R@1"] = self.gold1 / self.gold_n
            out[f"R@{self.k}"] = self.goldk / self.gold_n
        return out

    def text(self, show_misses: int = 20) -> str:
        f = self.figures()
        head = f"{self.name}: " + "  ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in f.items())
        lines = [head]
        for m in self.misses[:show_misses]:
            lines.append(f"  miss {m['id']}: {m['question']}  want {m['answers'][:2]} "
                         f"got: {m['top'][:60]!r}")
        if len(self.misses) > show_misses:
            lines.append(f"  … {len(self.misses) - show_misses} more misses")
        return "\n".join(lines)


def read_questions(path: Path) -> list[Question]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(Question(id=str(r.get("id", n)), text=r.get("q") or r["question"],
                                answers=list(r.get("answers") or []), source=r.get("source"),
                                gold=[str(g) for g in r.get("gold_passage_ids") or []]))
    return out


def evaluate(service, questions: list[Question], k: int, name: str) -> EvalReport:
    rep = EvalReport(name=name, k=k)
    for q in questions:
        answer = service.ask(q.text, k)
        results = answer.results
        rep.n += 1
        first = next((i for i, h in enumerate(results)
                      if any(a in h.text for a in q.answers)), None)
        if first is not None:
            rep.hitk += 1
            rep.rr += 1.0 / (first + 1)
            rep.hit1 += first == 0
        if q.source is not None:
            rep.source_n += 1
            rep.source_ok += bool(results) and results[0].citation.source == q.source
        if q.gold:
            rep.gold_n += 1
            ids = [h.citation.article_id for h in results]
            rep.gold1 += bool(ids) and ids[0] in q.gold
            rep.goldk += any(i in q.gold for i in ids)
        if first != 0 or (q.source is not None and results
                          and results[0].citation.source != q.source):
            rep.misses.append({"id": q.id, "question": q.text, "answers": q.answers,
                               "rank": None if first is None else first + 1,
                               "top": results[0].text if results else ""})
    return rep


def bench_settings(settings: Settings, passages: Path) -> Settings:
    """A cached index per passage file, model, encoder engine and chunking, so reruns only
    search."""
    key = hashlib.sha1(json.dumps([str(passages.resolve()), passages.stat().st_size,
                                   settings.model, settings.encoder_backend, settings.chunk_chars,
                                   settings.chunk_overlap_sentences]).encode()).hexdigest()[:12]
    bench = replace(settings,
                    index_dir=settings.cache_dir / "eval" / f"{passages.parent.name}-{key}")
    if settings.milvus_uri:
        # One Milvus (a server, or a Lite folder named outright) holds every bench set: each
        # under its own collection prefix. Without a URI each set has a Lite folder of its own.
        bench = replace(bench, milvus_prefix=f"{settings.milvus_prefix}_eval_{key}")
    return bench
