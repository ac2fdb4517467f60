"""The question, understood once per request.

What the answer picking, the confidence features, the attribute gate and the highlighting ask
of a question — its expected answer type and unit, its content words, the words among them that
name one place, body or year, the organisations it names after a place, the attribute it asks
for — used to be re-derived from the raw text for every result. ``qa.search.understand`` derives
them once, by the analysis steps that stay where their logic is (``answer.question_type``,
``answer.question_terms``, ``answer_type.asked_unit``, ``confidence.naming``,
``confidence.organisations``, ``attribute.asked_attribute``); the service passes the one
``Question`` down to every result. This module is only the records (no analysis), so that the
steps can name them and the factory can import the steps without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionType:
    kind: str | None            # count | ratio | time | place | person | None
    unit: str | None = None     # for count: the unit asked for (名, 个, 学时), if any


@dataclass(frozen=True)
class Question:
    text: str                   # as searched: normalised, in the archive's script (the service's)
    type: QuestionType          # the kind of answer expected (count, ratio, time, place, person)
    unit: str | None            # the unit a quantity question counts in (多少名 → 名), else None
    terms: tuple[str, ...]      # content words, distinct, longest first (``question_terms``)
    named: tuple[str, ...]      # those of them that name one place, body, figure or year
    # the organisations named after a place, each as the ways an article may name it
    organisations: tuple[tuple[str, ...], ...]
    attribute: str | None       # what is asked about the subject (经费 of 经费是多少), else None
