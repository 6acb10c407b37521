"""Helpers shared by the course notebooks.

This folder is the one canonical copy. The build (``python admin/build.py``) copies it into every
``source/<assignment>/coursekit/`` with a "generated" banner, so that it travels with the
assignment to students and to the grader; edit the files here, never the copies.
"""
from .budget import budget, grading_mode, in_grading_mode
from .notebook import setup_notebook

__all__ = ["budget", "grading_mode", "in_grading_mode", "setup_notebook"]
