"""The reader's data: SQuAD-style sets, the CMRC dev split, and "near-topic" negatives.

Training reads only the CMRC 2018 trial set, the DRCD test set (traditional -> simplified with
OpenCC t2s) and the training half of the CMRC 2018 dev set (split by article, see
``cmrc_dev_heldout``). Evaluation reads the bench folders (passages.jsonl + questions.jsonl).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TRIAL, DEV, DRCD_TEST = "cmrc2018_trial.json", "cmrc2018_dev.json", "DRCD_test.json"


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]       # empty for a no-answer pair
    start: int               # character offset of answers[0] in the passage (-1: none)
    passage: str             # passage id
    article: str
    source: str


@dataclass
class Passage:
    id: str
    article: str
    text: str
    questions: list[str] = field(default_factory=list)


def _hash(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16)


def cmrc_dev_heldout(article_id: str) -> bool:
    """The CMRC 2018 dev article ("DEV_12") is in the held-out half (never trained on)."""
    return _hash("cmrc2018-dev:" + article_id) % 2 == 1


def is_validation(article: str, percent: int = 6) -> bool:
    """A training-side validation article ("drcd-test:1147"): curves and the threshold."""
    return _hash(article) % 100 < percent


def load_squad(path: Path, source: str, t2s: bool = False):
    """(passages by id, questions) of a SQuAD-style file; ``t2s`` converts DRCD to simplified."""
    convert = (lambda s: s)
    if t2s:
        from opencc import OpenCC
        convert = OpenCC("t2s").convert
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    passages, questions, dropped = {}, [], 0
    for art in data:
        article = f"{source}:{art.get('id') or art['title']}"
        for para in art["paragraphs"]:
            pid = f"{source}:{para['id']}"
            raw = para["context"]
            text = convert(raw)
            passages[pid] = Passage(pid, article, text)
            for qa in para["qas"]:
                answers = [a for a in qa["answers"] if a["text"].strip()]
                if not answers:
                    dropped += 1
                    continue
                first = answers[0]
                answer = convert(first["text"])
                start = _locate(text, answer, first["answer_start"], len(raw))
                if start < 0:
                    dropped += 1
                    continue
                texts = list(dict.fromkeys(convert(a["text"]) for a in answers))
                texts.remove(answer)
                q = Question(f"{source}:{qa['id']}", convert(qa["question"]).strip(),
                             [answer] + texts, start, pid, article, source)
                questions.append(q)
                passages[pid].questions.append(q.id)
    return passages, questions, dropped


def _locate(text: str, answer: str, start: int, raw_len: int) -> int:
    """Where ``answer`` is in ``text``: the occurrence nearest the (rescaled) original start."""
    hits = [m.start() for m in re.finditer(re.escape(answer), text)]
    if not hits:
        return -1
    guess = start * len(text) / max(1, raw_len)
    return min(hits, key=lambda h: abs(h - guess))


def load_training(data: Path):
    """Passages and questions of the three training files in ``data``, CMRC dev halved."""
    passages, questions, dropped = {}, [], 0
    for name, source, t2s in [(TRIAL, "cmrc-trial", False), (DEV, "cmrc-dev", False),
                              (DRCD_TEST, "drcd-test", True)]:
        p, q, d = load_squad(Path(data) / name, source, t2s)
        if source == "cmrc-dev":
            q = [x for x in q if not cmrc_dev_heldout(x.article.split(":", 1)[1])]
            p = {k: v for k, v in p.items() if not cmrc_dev_heldout(v.article.split(":", 1)[1])}
        passages.update(p)
        questions += q
        dropped += d
    return passages, questions, dropped


def heldout_ids(dev_file: Path, bench_dir: Path) -> dict:
    """The held-out CMRC dev half: article ids, and the bench's question and passage ids."""
    data = json.loads(Path(dev_file).read_text(encoding="utf-8"))["data"]
    articles = sorted((a["id"] for a in data if cmrc_dev_heldout(a["id"])),
                      key=lambda s: int(s.split("_")[1]))
    held = set(articles)
    qids, pids = [], set()
    for line in open(Path(bench_dir) / "questions.jsonl", encoding="utf-8"):
        q = json.loads(line)
        if q["src_id"].rsplit("_QUERY_", 1)[0] in held:
            qids.append(q["id"])
            pids.update(q["gold_passage_ids"])
    return {"rule": "sha256('cmrc2018-dev:' + article id), first 12 hex digits, odd",
            "articles": articles, "question_ids": qids, "passage_ids": sorted(pids)}


def load_bench(folder: Path, question_ids: set[str] | None = None):
    """(passages by id, questions) of a bench folder; article = passage title."""
    passages = {}
    for line in open(Path(folder) / "passages.jsonl", encoding="utf-8"):
        p = json.loads(line)
        passages[p["id"]] = Passage(p["id"], p["title"], p["text"])
    questions = []
    for line in open(Path(folder) / "questions.jsonl", encoding="utf-8"):
        q = json.loads(line)
        if question_ids is not None and q["id"] not in question_ids:
            continue
        pid = q["gold_passage_ids"][0]
        text = passages[pid].text
        start = min((text.find(a) for a in q["answers"] if a in text), default=-1)
        questions.append(Question(q["id"], q["question"], q["answers"], start, pid,
                                  passages[pid].article, Path(folder).name))
    return passages, questions


# ----------------------------------------------------------------------------- negatives

class Retriever:
    """BM25 over passages with the project's own jieba tokenisation (``qa.index.lexical``)."""

    def __init__(self, passages: dict[str, Passage]):
        import bm25s

        from qa.index.lexical import tokenize

        self.tokenize = tokenize
        self.ids = list(passages)
        self.passages = passages
        self.bm25 = bm25s.BM25()
        self.bm25.index([tokenize(passages[i].text) for i in self.ids], show_progress=False)

    def ranked(self, question: str) -> list[str]:
        terms = [t for t in self.tokenize(question) if t in self.bm25.vocab_dict and t]
        scores = self.bm25.get_scores(terms) if terms else np.zeros(len(self.ids))
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")]

    def wrong(self, q: Question, same_article: bool) -> str | None:
        """Top-ranked passage of the same article (or of another article) that is not q's and
        contains none of its answers (such a passage may answer it after all)."""
        for pid in self.ranked(q.question):
            p = self.passages[pid]
            if pid == q.passage or (p.article == q.article) != same_article:
                continue
            if not any(a in p.text for a in q.answers):
                return pid
        return None


SWAP_TAGS = {"nr": "nr", "nrt": "nr", "ns": "ns", "nt": "nt", "t": "t", "m": "m"}
_ASKING = re.compile("[哪几多何谁啥什么怎]")


def _swappable(word: str, tag: str) -> str | None:
    """The swap pool a question word belongs to (None: not a name, place, time or number)."""
    kind = SWAP_TAGS.get(tag)
    if kind is None or len(word) < 2 or _ASKING.search(word):
        return None
    if kind == "m":
        # numbers with digits only, pooled by shape so a year swaps with a year
        return "m:" + re.sub(r"\d", "0", word) if re.search(r"\d", word) else None
    return kind


def swapped_questions(questions: list[Question], passages: dict[str, Passage],
                      seed: int) -> dict[str, str]:
    """Question id -> the question with one name/place/organisation/time/number (jieba POS
    nr/ns/nt/t/m) that its passage mentions swapped for another of the same kind from other
    questions, one the passage does not mention: the right subject, a fact the passage lacks."""
    import jieba.posseg

    cut = {q.id: [(w.word, w.flag) for w in jieba.posseg.cut(q.question)] for q in questions}
    pools = defaultdict(set)
    for words in cut.values():
        for word, tag in words:
            if (kind := _swappable(word, tag)):
                pools[kind].add(word)
    pools = {k: sorted(v) for k, v in pools.items()}
    rng = random.Random(seed)
    out = {}
    for q in questions:
        text = passages[q.passage].text
        spots = [(i, kind) for i, (word, tag) in enumerate(cut[q.id])
                 if (kind := _swappable(word, tag)) and word in text
                 and not any(word in a for a in q.answers)]
        if not spots:
            continue
        i, kind = rng.choice(spots)
        choices = [w for w in pools[kind] if w not in text and w not in q.question]
        if not choices:
            continue
        words = [w for w, _ in cut[q.id]]
        words[i] = rng.choice(choices)
        out[q.id] = "".join(words)
    return out
