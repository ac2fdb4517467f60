"""One source of truth for the defaults: the settings table in docs/settings.md is what
``Settings`` holds (generated from it), and BENCHMARKS.md calls shipped what it ships."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from qa.config import (TABLE_END, TABLE_START, Settings, field_docs, settings_table,
                       with_settings_table)

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_DOC = ROOT / "docs" / "settings.md"


def test_the_committed_settings_table_is_the_generated_one():
    text = SETTINGS_DOC.read_text(encoding="utf-8")
    assert with_settings_table(text) == text, (
        "docs/settings.md is stale: run python -m qa.config --write docs/settings.md")


def test_every_setting_has_a_meaning_and_its_shown_default_reads_back_as_the_default():
    rows = {}
    for line in settings_table().splitlines()[2:]:
        variable, name, default, meaning = [c.strip() for c in line.strip("|").split(" | ")]
        rows[name.strip("`")] = (variable, default, meaning)
    defaults = Settings()
    for f in fields(Settings):
        variable, default, meaning = rows[f.name]
        assert variable == f"`QA_{f.name.upper()}`"
        assert meaning, f"{f.name}: write its meaning as a string under the field in qa/config.py"
        if default == "unset":
            assert getattr(defaults, f.name) is None
        elif f.name != "cache_dir":          # shown as ~/.cache/qa, whoever runs the test
            raw = re.fullmatch(r"`([^`]*)`", default).group(1)
            read = Settings.from_env({variable.strip("`"): raw})
            assert getattr(read, f.name) == getattr(defaults, f.name), f.name


def test_a_field_means_the_string_under_it_else_its_comment():
    source = '''
class Settings:
    # a group heading, not this field's meaning
    # the rationale
    a: int = 1
    """A's meaning,
    over two lines."""
    b: int = 2     # b's trailing comment
    # c's comment,
    # over two lines
    c: int = 3

    d: int = 4
    def method(self): pass
'''
    assert field_docs(source) == {"a": "A's meaning, over two lines.", "b": "b's trailing comment",
                                  "c": "c's comment, over two lines", "d": ""}


def test_the_table_is_written_between_its_markers_only():
    text = f"before\n{TABLE_START}\nold rows\n{TABLE_END}\nafter\n"
    table = settings_table()
    assert with_settings_table(text) == f"before\n{TABLE_START}\n{table}\n{TABLE_END}\nafter\n"
    with pytest.raises(ValueError):
        with_settings_table("no markers")


def test_benchmarks_marks_the_shipped_ef_search():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    shipped = {int(m) for m in re.findall(r"efSearch (\d+) \(shipped\)", text)}
    assert shipped == {Settings().hnsw_ef_search}
    assert "is not mine" not in text
