"""One source of truth for the defaults: what the README's configuration table and BENCHMARKS.md
call the shipped values are what ``Settings`` holds."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from qa.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def readme_defaults() -> dict[str, str]:
    """``QA_X`` → the default the README's table gives it."""
    out = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`QA_"):
            continue
        names = re.findall(r"`(QA_\w+)`", cells[0])
        values = re.findall(r"`([^`]*)`", cells[1]) or [cells[1]]
        assert len(names) == len(values), line
        out.update(zip(names, values))
    return out


def test_readme_table_lists_every_setting_with_its_default():
    documented = readme_defaults()
    defaults = Settings()
    internal = {"query_prompt", "passage_prompt", "embed_batch_size", "hnsw_ef_construction",
                "candidates"}         # model and tuning internals, not meant to be configured
    for f in fields(Settings):
        name = "QA_" + f.name.upper()
        if f.name in internal:
            continue
        assert name in documented, f"{name} missing from the README's table"
        value = getattr(defaults, f.name)
        if f.name == "cache_dir":
            assert documented[name] == "~/.cache/qa"
        elif value is None:
            assert documented[name] == "unset"
        elif isinstance(value, (int, float)):
            assert type(value)(documented[name]) == value, name
        else:
            assert documented[name] == str(value), name


def test_benchmarks_marks_the_shipped_ef_search():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    shipped = {int(m) for m in re.findall(r"efSearch (\d+) \(shipped\)", text)}
    assert shipped == {Settings().hnsw_ef_search}
    assert "is not mine" not in text
