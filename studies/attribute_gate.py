"""Choose the gate on a question's asked attribute (``qa/search/attribute.py``,
``ATTRIBUTE_FACTOR`` in qa/search/confidence.py) on a validation set built for it.

    .venv/bin/python studies/attribute_gate.py --n 400   # rows cached in $QA_CACHE_DIR/studies

Conditions (``eval/unanswerable_questions.jsonl`` is held out and never read here):

* bench ``own`` — the first ``--n`` questions of each bench set, of its own index
  (answerable);
* bench ``attr-swapped`` — bench questions whose asked attribute (``asked_attribute``) their
  gold article speaks of, with that word replaced by another question's attribute (same set)
  that the gold article never speaks of (``mentions``): 海宁西站总建筑面积有多少平方米 →
  海宁西站总营业额有多少平方米 — the subject the index holds, an attribute it lacks;
* seed ``answerable`` — the seed dev questions, our paraphrases, short queries and every
  query style (eval/), of the seed index;
* seed ``attr-swapped`` — the same swap on those seed questions, with attributes from the
  bench sets' pool;
* seed ``unanswerable-dev`` — ``eval/unanswerable_dev.jsonl``: questions written for this,
  before any result was seen (attributes the named article lacks, other places, off-topic).

Then the gates tried on top of that one (``gate_all``): who/where questions gated too, an
organisation named after a place that the article never names (``organisation_absent``), a
number question whose neighbourhood holds no number in the asked unit though it speaks of the
attribute, a national question answered from a local passage.

Per condition: ``found`` (some result's confidence, after the gate, reaches the threshold)
for each gate variant and factor — a variant says where the attribute must be spoken of
(the answering sentence with its neighbours, or the article) and for which questions — then,
with ``ATTRIBUTE_FACTOR`` fixed, for each factor left when no number in the asked unit is
near either (``UNIT_ABSENT_FACTOR``). Rule: the lowest factors at which no answerable
condition loses more than .005 of found.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibrate as cal  # noqa: E402
from _candidates import Candidates, cached, top  # noqa: E402
from query_styles import _rng  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.evaluation import bench_settings, read_questions  # noqa: E402
from qa.search import confidence as conf  # noqa: E402
from qa.search.answer import question_type  # noqa: E402
from qa.search.confidence import organisation_absent, organisations  # noqa: E402
from qa.index.lexical import tokenize  # noqa: E402
from qa.search.attribute import (around, asked_attribute, attribute_absent, mentions,  # noqa: E402
                                 unit_absent)  # noqa: E402
from qa.search.question import Question  # noqa: E402
from qa.search.understand import understand  # noqa: E402
from qa.search.script import simplified  # noqa: E402
from qa.search.service import SearchService, passage_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_ANSWERABLE = [ROOT.parent / "shared" / "eval" / "seed_questions_dev.jsonl",
                   *sorted((ROOT / "eval").glob("paraphrase_questions.jsonl")),
                   *sorted((ROOT / "eval").glob("short_queries.jsonl")),
                   *sorted((ROOT / "eval").glob("styles_*.jsonl"))]
DEV = ROOT / "eval" / "unanswerable_dev.jsonl"
FACTORS = (1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.0)
# numbers: ``attribute_absent`` on the answering sentence with its neighbours, number
# questions only (round 4); who-where: number, who and where questions (shipped); any-type:
# every question; article: number questions, on the whole article.
VARIANTS = ("numbers", "who-where", "any-type", "article")
NUMBERS = ("count", "ratio")
# A question about the whole country or world, and what a passage says when it speaks at that
# scope or of one part of it: the scope gate measured (and not shipped) below.
_WIDE_ASKED = re.compile(r"全国|我国|全球|全世界")
_WIDE_SAID = re.compile(r"全国|我国|中国|全球|世界|各省")
_NARROW_SAID = re.compile(r"全省|全市|全县|全区|全州|全镇|本省|本市|本县|该省|该市|该县")


@functools.lru_cache(maxsize=None)
def understood(text: str) -> Question:
    """``text`` analysed as the service analyses a question (once per text)."""
    return understand(text, tokenize)


def scope_absent(question: str, near: str) -> bool:
    return _WIDE_ASKED.search(question) is not None and (
        _WIDE_SAID.search(near) is None or _NARROW_SAID.search(near) is not None)


def attribute_pool(texts) -> list[str]:
    return sorted({a for t in texts if (a := asked_attribute(t))})


def swap_attribute(qid: str, text: str, article: str, pool: list[str]) -> str | None:
    """``text`` with its asked attribute replaced by one from ``pool`` that ``article``
    never speaks of; None when it asks for none or ``article`` does not speak of it."""
    a = asked_attribute(text)
    if a is None or not mentions(a, article) or a not in text:
        return None
    others = [p for p in pool if p != a and not mentions(p, article) and not mentions(a, p)]
    if not others:
        return None
    new = _rng("attr:" + qid).choice(others)
    i = text.find(a)
    return text[:i] + new + text[i + len(a):]


def result_rows(service, text: str, answers: list[str], dense, lexical,
                answerable: bool) -> list[tuple]:
    """Per result: (confidence before the attribute, organisation and scope gates, answer
    held, sentence+neighbours, passage, article text, features)."""
    snap = service.snapshot()
    rows = []
    for h, f in service.explained(understood(text), 5, dense, lexical, snap):
        art = snap.article(h.citation.article_id)
        near = around(h.text, passage_sentences(art.text, h.citation.start, h.citation.end),
                      h.highlight.sentence)
        bare = replace(f, attribute_absent=False, organisation_absent=False)
        rows.append((conf.confidence(bare), answerable and any(a in h.text for a in answers),
                     near, h.text, f"{art.title or ''}\n{art.text}", f))
    return rows


def ask_all(service, cands: Candidates, items, keep=None) -> list[tuple[str, list]]:
    """items: (question text, answers, answerable) → (text, result rows)."""
    texts = [simplified(t) for t, _, _ in items]
    out = []
    for (t, answers, ok), st, (d, lx) in zip(items, texts, cands.get(texts)):
        out.append((st, result_rows(service, st, answers, top(d, 50, keep), top(lx, 50, keep),
                                    ok)))
    return out


def collect(base: Settings, n: int) -> dict:
    svcs, enc = {}, None
    for name in cal.SETS:
        svcs[name] = SearchService(bench_settings(base, cal.BENCH / name / "passages.jsonl"), enc)
        enc = svcs[name].encoder
    data = {}
    bench_pool = set()
    for name in cal.SETS:
        every = read_questions(cal.BENCH / name / "questions.jsonl")
        bench_pool |= set(attribute_pool(q.text for q in every))
    bench_pool = sorted(bench_pool)
    for name in cal.SETS:
        svc, cands = svcs[name], Candidates(svcs[name])
        snap = svc.snapshot()
        every = read_questions(cal.BENCH / name / "questions.jsonl")
        data[(name, "own")] = ask_all(svc, cands, [(q.text, q.answers, True) for q in every[:n]])
        pool = attribute_pool(q.text for q in every)
        swapped = []
        for q in every:
            gold = "\n".join(f"{a.title or ''}\n{a.text}" for g in q.gold
                             if (a := snap.article(g)) is not None)
            t = swap_attribute(q.id, q.text, gold, pool)
            if t is not None:
                swapped.append((t, [], False))
            if len(swapped) >= n:
                break
        data[(name, "attr-swapped")] = ask_all(svc, cands, swapped)
        cands.save()
        print(f"  {name}: {len(swapped)} swapped", file=sys.stderr, flush=True)
    seed = SearchService(base, enc)
    cands = Candidates(seed)
    snap = seed.snapshot()
    answerable = [q for p in SEED_ANSWERABLE for q in read_questions(p) if q.answerable]
    seed_articles = [snap.article(a["id"]) for a in snap.list_articles(0, 100_000)[1]]
    data[("seed", "answerable")] = ask_all(seed, cands,
                                           [(q.text, q.answers, True) for q in answerable])
    swapped = []
    for q in answerable:
        # the seed questions name no gold article: the articles holding an answer stand in
        arts = [a for a in seed_articles if any(x in a.text for x in q.answers)]
        gold = "\n".join(f"{a.title or ''}\n{a.text}" for a in arts)
        t = swap_attribute(q.id, q.text, gold, bench_pool) if gold else None
        if t is not None:
            swapped.append((t, [], False))
    data[("seed", "attr-swapped")] = ask_all(seed, cands, swapped)
    data[("seed", "unanswerable-dev")] = ask_all(
        seed, cands, [(q.text, [], False) for q in read_questions(DEV, unanswerable=True)])
    cands.save()
    return data


def gated(text: str, row: tuple, variant: str) -> bool:
    near, article = row[2], row[4]
    if variant == "any-type":
        a = asked_attribute(text)
        return a is not None and not mentions(a, near)
    if variant == "who-where":
        return attribute_absent(understood(text), near, kinds=NUMBERS + ("person", "place"))
    return attribute_absent(understood(text), article if variant == "article" else near,
                            kinds=NUMBERS)


def found(qs, thr: float, factor, variant: str = "numbers") -> float:
    """Share of questions some result of which reaches ``thr`` after the gate; ``factor(t,
    row)`` is what a gated result keeps."""
    return sum(any((r[0] * factor(t, r) if gated(t, r, variant) else r[0]) >= thr
                   for r in rows) for t, rows in qs) / max(len(qs), 1)


def gate_all(t: str, r: tuple, who: float = 1.0, org: bool = False,
             scope: float = 1.0, unit: float = 1.0) -> float:
    """A result's confidence after the round-4 attribute gate and the further gates under
    study: ``who`` kept by who/where questions whose attribute ``near`` never speaks of,
    ``org`` whether an organisation the article never names halves it (when no naming word
    already has), ``scope`` kept when 全国/我国 is asked and ``near`` speaks at no such scope,
    ``unit`` kept when the attribute is there but no number in the asked unit is."""
    c, near, f, q = r[0], r[2], r[5], understood(t)
    if attribute_absent(q, near, kinds=NUMBERS):
        c *= conf.UNIT_ABSENT_FACTOR if unit_absent(q, near) else conf.ATTRIBUTE_FACTOR
    elif attribute_absent(q, near, kinds=("person", "place")):
        c *= who
    elif unit_absent(q, near):
        c *= unit
    if org and not f.named_absent > 0 and organisation_absent(q, r[4]):
        c *= conf.ABSENT_FACTOR
    if scope_absent(t, near):
        c *= scope
    return c


FURTHER = {"round 4": {}, **{f"who/where {x}": {"who": x} for x in (0.7, 0.5, 0.4, 0.3)},
           "organisation": {"org": True},
           **{f"unit {x}": {"unit": x} for x in (0.7, 0.5, 0.4, 0.3)},
           **{f"scope {x}": {"scope": x} for x in (0.7, 0.5, 0.4, 0.3, 0.0)},
           "shipped": {"org": True}}


def further(data: dict, thr: float) -> None:
    print("\nfurther gates on top of the round-4 attribute gate (numbers, 0.4 / 0.3): found per "
          "condition")
    print(f"{'set / condition':30}{'n':>6}" + "".join(f"{k:>15}" for k in FURTHER))
    for (name, cond), qs in data.items():
        cells = [sum(any(gate_all(t, r, **kw) >= thr for r in rows) for t, rows in qs)
                 / max(len(qs), 1) for kw in FURTHER.values()]
        print(f"{name + ' / ' + cond:30}{len(qs):>6}" + "".join(f"{c:>15.3f}" for c in cells))
    print("questions each further gate touches (some result's confidence changes)")
    for key, kw in FURTHER.items():
        if not kw:
            continue
        moved = [(name, cond, t) for (name, cond), qs in data.items() for t, rows in qs
                 if any(gate_all(t, r, **kw) != gate_all(t, r) for r in rows)]
        print(f"  {key}: {len(moved)}")
        for name, cond, t in moved[:12]:
            print(f"      {name}/{cond}: {t}")


def cost(base: Settings, factor: float) -> None:
    """Over every question of each bench set (not the first ``--n``): the answerable ones that
    gating who/where questions at ``factor``, or the organisation gate, turn from found to not
    found (each on top of the shipped gates)."""
    thr, enc = base.found_confidence, None
    for name in cal.SETS:
        svc = SearchService(bench_settings(base, cal.BENCH / name / "passages.jsonl"), enc)
        enc, cands = svc.encoder, Candidates(svc)
        every = read_questions(cal.BENCH / name / "questions.jsonl")
        asked = [(q, t) for q in every if (t := simplified(q.text)) and (
            (asked_attribute(t) and question_type(t).kind in ("person", "place"))
            or organisations(t, tokenize))]
        lost = {"who/where": 0, "organisation": 0}
        for (q, t), (_, rows) in zip(asked, ask_all(svc, cands, [(q.text, q.answers, True)
                                                                  for q, _ in asked])):
            before = any(gate_all(t, r) >= thr for r in rows)
            after = {"who/where": any(gate_all(t, r, who=factor) >= thr for r in rows),
                     "organisation": any(gate_all(t, r, org=True) >= thr for r in rows)}
            for gate, ok in after.items():
                if before and not ok:
                    lost[gate] += 1
                    print(f"  lost by {gate}: {name} [{asked_attribute(t)}] {t}")
        cands.save()
        print(f"{name}: {len(every)} questions, {len(asked)} asked of, lost {lost}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="questions per bench set and condition")
    ap.add_argument("--show", default=None, help="print the questions of this condition "
                    "(set/condition) found or not with the shipped gate")
    ap.add_argument("--cost", type=float, default=None, metavar="FACTOR",
                    help="instead: over every bench question, the answerable ones lost by "
                    "gating who/where questions at FACTOR and by the organisation gate")
    args = ap.parse_args()
    base = Settings.from_env()
    if args.cost is not None:
        cost(base, args.cost)
        return
    data = cached(base, f"attribute-gate-v2-{args.n}", lambda: collect(base, args.n))
    thr = base.found_confidence
    print(f"found (best confidence >= {thr}) per gate variant and factor (1.0 = no gate)")
    for variant in VARIANTS:
        print(f"\n{variant}")
        print(f"{'set / condition':30}{'n':>6}{'asks':>7}" + "".join(f"{f:>8.1f}" for f in FACTORS))
        for (name, cond), qs in data.items():
            asks = sum(asked_attribute(t) is not None for t, _ in qs) / max(len(qs), 1)
            cells = [found(qs, thr, lambda t, r, f=f: f, variant) for f in FACTORS]
            print(f"{name + ' / ' + cond:30}{len(qs):>6}{asks:>7.2f}"
                  + "".join(f"{c:>8.3f}" for c in cells))
    further(data, thr)
    weak = conf.ATTRIBUTE_FACTOR
    print(f"\nshipped, {weak} kept; when no number in the asked unit is near either (unit_absent)")
    print(f"{'set / condition':30}{'n':>6}" + "".join(f"{f:>8.1f}" for f in FACTORS))
    for (name, cond), qs in data.items():
        cells = [found(qs, thr, lambda t, r, f=f: f if unit_absent(understood(t), r[2]) else weak)
                 for f in FACTORS]
        print(f"{name + ' / ' + cond:30}{len(qs):>6}" + "".join(f"{c:>8.3f}" for c in cells))
    if args.show:
        name, cond = args.show.split("/")
        for t, rows in data[(name, cond)]:
            ok = any(gate_all(t, r, **FURTHER["shipped"]) >= thr for r in rows)
            print(f"{'FOUND' if ok else 'not  '}  {asked_attribute(t)!s:8}  {t}")


if __name__ == "__main__":
    main()
