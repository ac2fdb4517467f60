"""The question, understood once per request.

What the answer picking, the confidence features, the attribute gate and the highlighting ask
of a question — its expected answer type and unit, its content words, the words among them that
name one place, body or year, the organisations it names after a place, the attribute it asks
for — used to be re-derived from the raw text for every result. ``Question.of`` derives them
once, by the analysis steps that stay where their logic is (``answer.question_type``,
``answer.question_terms``, ``answer_type.asked_unit``, ``confidence.naming``,
``confidence.organisations``, ``attribute.asked_attribute``); the service passes the one
``Question`` down to every result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qa.search.answer import QuestionType, question_terms, question_type
from qa.search.answer_type import asked_unit
from qa.search.attribute import asked_attribute
from qa.search.confidence import naming, organisations


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

    @classmethod
    def of(cls, text: str, tokenize: Callable[[str], list[str]] | None = None) -> "Question":
        """``text`` analysed as it is (the caller normalises it); ``tokenize`` cuts it into
        words (default: the lexical index's tokenizer, ``qa.index.lexical.tokenize``)."""
        if tokenize is None:
            from qa.index.lexical import tokenize
        terms = question_terms(text, tokenize)
        return cls(text=text, type=question_type(text), unit=asked_unit(text), terms=terms,
                   named=tuple(t for t in terms if naming(t)),
                   organisations=tuple(tuple(names) for names in organisations(text, tokenize)),
                   attribute=asked_attribute(text))
