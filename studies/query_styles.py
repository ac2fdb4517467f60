"""Question sets in other query styles, made mechanically from written questions.

Readers do not type the bench's careful questions. Four styles, each a deterministic
transformation (seeded by the question's id, so reruns write the same files):

* ``keywords``   — the question cut by jieba, question words, particles and punctuation
  dropped, the rest joined by spaces (济阳区 配备 驻站 社工);
* ``colloquial`` — wrapped in spoken framing (请问…啊, 我想知道…来着);
* ``typos``      — one or two content characters dropped, doubled or swapped with a
  neighbour, as fast typing does;
* ``traditional`` — converted to traditional characters (OpenCC s2t);
* ``terse``      — the three longest keywords, in order (济阳区 驻站社工 人数 → 济阳区 驻站 社工):
  what a search box gets from a reader in a hurry.

    .venv/bin/python studies/query_styles.py          # writes eval/styles_*.jsonl

The seed sets (dev + our paraphrases) are transformed into ``eval/styles_<style>.jsonl``;
``studies/fusion_study.py --style S`` applies the same transformation to bench questions
on the fly. Needs ``opencc-purepy`` (``pip install -e '.[styles]'``) for the traditional
style only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT.parent / "shared" / "eval" / "seed_questions_dev.jsonl",
           ROOT / "eval" / "paraphrase_questions.jsonl"]
STYLES = ("keywords", "colloquial", "typos", "traditional", "terse")

_DROP = set("什么 什么样 哪 哪些 哪个 哪里 哪儿 谁 怎么 怎样 如何 为什么 为何 何时 多少 几 吗 呢 了 的 是 在 有 "
            "和 与 及 被 把 都 也 就 还 要 会 能 将 对 于 为 从 到 一共 共 现在 目前 已经 已 个".split())
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FRAMES = [("请问", "？"), ("我想知道", "。"), ("想问一下，", "啊？"), ("有人知道", "吗？"),
           ("帮我查一下", "。"), ("", "来着？"), ("谁能告诉我", "？"), ("", "呀？")]


def _rng(key: str) -> random.Random:
    return random.Random(int(hashlib.sha1(key.encode()).hexdigest()[:8], 16))


def keywords(q: str, key: str) -> str:
    import jieba

    words = [w.strip() for w in jieba.lcut(q)]
    kept = [w for w in words if w and w not in _DROP and _CJK.search(w) or w.isalnum()]
    kept = [w for w in kept if w not in _DROP]
    return " ".join(dict.fromkeys(kept)) or q


def colloquial(q: str, key: str) -> str:
    pre, post = _rng(key).choice(_FRAMES)
    return pre + q.rstrip("？?。 ") + post


def typos(q: str, key: str) -> str:
    rng = _rng(key)
    chars = list(q)
    for _ in range(1 + (len(q) > 15)):
        spots = [i for i, c in enumerate(chars) if _CJK.match(c)]
        if len(spots) < 4:
            break
        i = rng.choice(spots[1:-1])
        kind = rng.choice(("drop", "double", "swap"))
        if kind == "drop":
            del chars[i]
        elif kind == "double":
            chars.insert(i, chars[i])
        else:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def terse(q: str, key: str) -> str:
    words = keywords(q, key).split()
    longest = sorted(range(len(words)), key=lambda i: (-len(words[i]), i))[:3]
    return " ".join(words[i] for i in sorted(longest))


_S2T = None


def traditional(q: str, key: str) -> str:
    global _S2T
    if _S2T is None:
        from opencc_purepy import OpenCC

        _S2T = OpenCC("s2t")
    return _S2T.convert(q)


TRANSFORMS = {"keywords": keywords, "colloquial": colloquial, "typos": typos,
              "traditional": traditional, "terse": terse}


def restyle(question: str, key: str, style: str) -> str:
    return TRANSFORMS[style](question, f"{style}:{key}")


def main() -> None:
    records = []
    for path in SOURCES:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    for style in STYLES:
        out = ROOT / "eval" / f"styles_{style}.jsonl"
        if style == "traditional" and importlib.util.find_spec("opencc_purepy") is None:
            print(f"kept {out.relative_to(ROOT)}: opencc-purepy is not installed "
                  "(pip install -e '.[styles]')", file=sys.stderr)
            continue
        with open(out, "w", encoding="utf-8") as f:
            for r in records:
                q = restyle(r["q"], r["id"], style)
                f.write(json.dumps({"id": f"{style}-{r['id']}", "q": q, "answers": r["answers"],
                                    "source": r.get("source"), "from": r["q"]},
                                   ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} questions to {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
