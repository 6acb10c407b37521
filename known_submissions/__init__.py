"""The catalogue of known submissions: what proves the grading right, for the tests, the demo
and the benchmarks (never imported by the grading harness itself).

- ``ghosts``: ghost students answered from an assignment's reference solutions and its catalogue
  of typical mistakes (``assignments/<id>/mistakes.py``, built from :class:`Mistake` below); the
  demo class of each manifest is made of them;
- ``faults``: ghost students whose notebooks break the grading rather than the maths.

A mistake is the full source of a wrong version of one graded function, written as a student
would write it; the same text is tested at function level (tests/) and pasted into ghost
notebooks end to end.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """One typical wrong answer for ``function``.

    ``expect`` is a piece of text the failing test's message must contain, so that a student
    reading it learns what went wrong.
    """

    function: str
    name: str
    description: str
    source: str
    expect: str


def catalogue(*mistakes):
    """Group mistakes by function name, keeping their order."""
    grouped = {}
    for mistake in mistakes:
        grouped.setdefault(mistake.function, []).append(mistake)
    return grouped


def function_source(signature, *body):
    """The source of a function: ``def <signature>:`` and its body lines, indented."""
    return f"def {signature}:\n" + "".join(f"    {line}\n" for line in body)
