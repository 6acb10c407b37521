"""How much work a notebook does: the full experience for students, a small budget for grading.

nbgrader sets ``NBGRADER_EXECUTION`` to ``autograde`` or ``validate`` while it runs a notebook.
Under it the notebooks ask for less (a deterministic subset of the data, fewer iterations or
epochs) through :func:`budget`, so grading a class stays fast. Graded checks never depend on
full-length training. The course's own tests execute notebooks the same way.
"""
import os

GRADING_MODES = ("autograde", "validate")


def grading_mode():
    """The nbgrader mode this kernel runs under (``"autograde"`` or ``"validate"``), else None."""
    mode = os.environ.get("NBGRADER_EXECUTION", "").strip().lower()
    return mode if mode in GRADING_MODES else None


def in_grading_mode():
    """True while nbgrader (or a test that imitates it) executes the notebook."""
    return grading_mode() is not None


def budget(full, grading):
    """``full`` for a student working through the notebook, ``grading`` while it is graded.

    >>> num_iterations = budget(full=2000, grading=100)
    """
    return grading if in_grading_mode() else full
