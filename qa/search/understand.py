"""The question understood once per request: ``understand`` runs the analysis steps, which
stay where their logic is, and gives the one ``Question`` (``qa.search.question``) that the
service passes down to every result."""

from __future__ import annotations

from collections.abc import Callable

from qa.search.answer import question_terms, question_type
from qa.search.answer_type import asked_unit
from qa.search.attribute import asked_attribute
from qa.search.confidence import naming, organisations
from qa.search.question import Question


def understand(text: str, tokenize: Callable[[str], list[str]] | None = None) -> Question:
    """``text`` analysed as it is (the caller normalises it); ``tokenize`` cuts it into words
    (default: the lexical index's tokenizer, ``qa.index.lexical.tokenize``)."""
    if tokenize is None:
        from qa.index.lexical import tokenize
    terms = question_terms(text, tokenize)
    return Question(text=text, type=question_type(text), unit=asked_unit(text), terms=terms,
                    named=tuple(t for t in terms if naming(t)),
                    organisations=tuple(tuple(names) for names in organisations(text, tokenize)),
                    attribute=asked_attribute(text))
