"""Scores a question set against an index: hit@1, hit@k, MRR, outlet@1, the answer in the
highlighted sentence, repeats among the results, how often an answer is claimed, and the misses.

Two formats are read:

* seed questions — ``{"id", "q", "answers", "source"}``: a hit is a returned passage that
  contains one of the answer strings; ``source`` must be the top result's outlet; a line with
  ``"answerable": false`` (or no answers) is a question the index cannot answer, scored only
  by whether the service says so (``found`` false);
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
from qa.reader.metrics import em, f1
from qa.search.grouping import redundant_pairs


@dataclass
class Question:
    id: str
    text: str
    answers: list[str]
    source: str | None = None
    gold: list[str] = field(default_factory=list)
    answerable: bool = True


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
    sentence1: int = 0          # an answer inside the top result's highlighted sentence
    redundant: int = 0          # pairs of results repeating each other (grouping.REDUNDANT)
    found: int = 0              # answerable questions the service claims to answer
    answer_em: float = 0.0      # the top result's short answer against the gold answers
    answer_f1: float = 0.0      # (CMRC 2018's EM and character F1; no answer scores 0)
    unanswerable: int = 0
    not_found: int = 0          # unanswerable questions the service says it cannot answer
    misses: list[dict] = field(default_factory=list)

    def figures(self) -> dict:
        out: dict = {"questions": self.n + self.unanswerable}
        if self.n:
            n = self.n
            out.update({"hit@1": self.hit1 / n, f"hit@{self.k}": self.hitk / n,
                        f"MRR@{self.k}": self.rr / n, "sentence@1": self.sentence1 / n,
                        "found": self.found / n, "answer EM": self.answer_em / n,
                        "answer F1": self.answer_f1 / n})
        if self.unanswerable:
            out["not-found"] = self.not_found / self.unanswerable
        out["redundant"] = self.redundant
        if self.source_n:
            out["outlet@1"] = self.source_ok / self.source_n
        if self.gold_n:
            out["R@1"] = self.gold1 / self.gold_n
            out[f"R@{self.k}"] = self.goldk / self.gold_n
        return out

    def text(self, show_misses: int = 20) -> str:
        """What ``qa eval`` prints: the figures (metric names as in docs/evaluation.md), then misses."""
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


def table(reports: list[EvalReport]) -> str:
    """The per-set figures as one Markdown table (the form quoted in docs/ and reports)."""
    k = reports[0].k if reports else 5
    columns = ("questions", "hit@1", f"hit@{k}", "sentence@1", "answer EM", "answer F1",
               "redundant", "found", "not-found")
    lines = ["| set | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for r in reports:
        f = r.figures()
        cells = [f"{f[c]:.3f}" if isinstance(f.get(c), float) else str(f.get(c, "–"))
                 for c in columns]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


LABELS = {"questions": "问题数"}


def read_questions(path: Path, unanswerable: bool = False) -> list[Question]:
    """Every question of a seed- or bench-format file; ``BadQuestionSet`` names the file and
    line of anything that cannot be scored, so no figure counts a broken line as a miss. A
    question the index cannot answer says so (``"answerable": false``); with ``unanswerable``
    every question counts as one (bench questions asked of the seed index)."""
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
        declared = r.get("answerable", True) is not False
        answerable = declared and not unanswerable
        if declared and (
                not isinstance(answers, list) or not answers
                or not all(isinstance(a, str) and a for a in answers)):
            raise BadQuestionSet(f"{where}没有答案（answers 须是非空的字符串列表；"
                                 f"无法回答的问题请写 \"answerable\": false），无法评分")
        out.append(Question(id=str(r.get("id", n)), text=text,
                            answers=list(answers) if answerable else [],
                            source=r.get("source"),
                            gold=[str(g) for g in r.get("gold_passage_ids") or []
                                  ] if answerable else [],
                            answerable=answerable))
    if not out:
        raise BadQuestionSet(f"问题文件 {path} 里没有问题")
    return out


def evaluate(service, questions: list[Question], k: int, name: str) -> EvalReport:
    rep = EvalReport(name=name, k=k)
    for q in questions:
        answer = service.ask(q.text, k)
        results = answer.results
        rep.redundant += redundant_pairs([(h.citation.article_id, (h.citation.start,
                                                                    h.citation.end), h.text)
                                          for h in results[:5]])
        found = getattr(answer, "found", bool(results))
        if not q.answerable:
            rep.unanswerable += 1
            rep.not_found += not found
            if found:
                rep.misses.append({"id": q.id, "question": q.text, "answers": ["（无答案）"],
                                   "rank": None, "top": results[0].text if results else ""})
            continue
        rep.n += 1
        rep.found += bool(found)
        if results:
            s, e = results[0].highlight.sentence
            rep.sentence1 += any(a in results[0].text[s:e] for a in q.answers)
            said = results[0].answer or ""
            rep.answer_em += em(said, q.answers)
            rep.answer_f1 += f1(said, q.answers)
        first = next((i for i, h in enumerate(results)
                      if any(a in h.text for a in q.answers)), None)
        if first is not None:
            rep.hitk += 1
            rep.rr += 1.0 / (first + 1)
            rep.hit1 += first == 0
        if q.source is not None and q.answerable:
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


def passages_of(questions: Path) -> Path | None:
    """A bench set's passages: ``passages.jsonl`` beside its questions, or the file that
    ``passages.path`` beside them names (relative to it): a subset of a set's questions asked
    of the whole set's passages."""
    here = questions.parent / "passages.jsonl"
    if here.exists():
        return here
    pointer = questions.parent / "passages.path"
    if pointer.exists():
        return (pointer.parent / pointer.read_text(encoding="utf-8").strip()).resolve()
    return None


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


def bench_index(settings: Settings, passages: Path, encoder, progress: bool = False) -> Settings:
    """``bench_settings`` for ``passages``, its index built from them on first use."""
    from qa.index.factory import open_backend
    from qa.issues import IssueMeta, IssueService

    run = bench_settings(settings, passages)
    if not open_backend(run).exists():
        if progress:
            print(f"正在用 {passages} 建立评测索引（只需一次）…", file=sys.stderr, flush=True)
        service = IssueService(run, encoder)
        pages, skipped, files = service.read_paths([passages], IssueMeta())
        if skipped:
            raise BadQuestionSet(f"无法建立评测索引：{skipped[0].name}：{skipped[0].reason}")
        service.build(pages, skipped, files, progress=progress)
    return run
