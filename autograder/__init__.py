"""The course's grading harness around nbgrader: ``python -m autograder grade ...``.

Not to be confused with ``autograded/``, the folder where nbgrader writes graded notebooks.
"""
