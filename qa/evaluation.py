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
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.config import Settings
from qa.errors import BadQuestionSet


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
        """What ``qa eval`` prints: the figures (metric names as in the README), then misses."""
        f = self.figures()
        head = f"{self.name}：" + "  ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{LABELS.get(k, k)} {v}"
            for k, v in f.items())
        lines = [head]
        for m in self.misses[:show_misses]:
            lines.append(f"  未命中 {m['id']}：{m['question']}  答案 {m['answers'][:2]}  "
                         f"第一段：{m['top'][:60]!r}")
        if len(self.misses) > show_misses:
            lines.append(f"  …… 另有 {len(self.misses) - show_misses} 个未命中")
        return "\n".join(lines)


LABELS = {"questions": "问题数"}


def read_questions(path: Path) -> list[Question]:
    """Every question of a seed- or bench-format file; ``BadQuestionSet`` names the file and
    line of anything that cannot be scored, so no figure counts a broken line as a miss."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BadQuestionSet(f"找不到问题文件 {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadQuestionSet(f"无法读取问题文件 {path}：{e}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} 第 {n} 行"
        try:
            r = json.loads(line)
        except ValueError:
            raise BadQuestionSet(f"{where}不是合法的 JSON") from None
        if not isinstance(r, dict):
            raise BadQuestionSet(f"{where}不是 JSON 对象")
        text = r.get("q") or r.get("question")
        if not isinstance(text, str) or not text.strip():
            raise BadQuestionSet(f"{where}没有问题（q 或 question）")
        answers = r.get("answers")
        if not isinstance(answers, list) or not answers or \
                not all(isinstance(a, str) and a for a in answers):
            raise BadQuestionSet(f"{where}没有答案（answers 须是非空的字符串列表），无法评分")
        out.append(Question(id=str(r.get("id", n)), text=text, answers=answers,
                            source=r.get("source"),
                            gold=[str(g) for g in r.get("gold_passage_ids") or []]))
    if not out:
        raise BadQuestionSet(f"问题文件 {path} 里没有问题")
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
    return replace(settings, index_dir=settings.cache_dir / "eval" / f"{passages.parent.name}-{key}")


def bench_index(settings: Settings, passages: Path, encoder, progress: bool = False) -> Settings:
    """``bench_settings`` for ``passages``, its index built from them on first use."""
    from qa.index.builder import Builder
    from qa.index.store import IndexStore
    from qa.ingest import ingest_paths

    run = bench_settings(settings, passages)
    if not IndexStore(run.index_dir).exists():
        if progress:
            print(f"正在用 {passages} 建立评测索引（只需一次）…", file=sys.stderr, flush=True)
        result = ingest_paths([passages], settings.max_page_bytes)
        if result.skipped:
            raise BadQuestionSet(f"无法建立评测索引：{result.skipped[0].name}："
                                 f"{result.skipped[0].reason}")
        Builder(run, encoder).build(result, progress=progress)
    return run
