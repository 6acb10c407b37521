"""The course's grading harness around nbgrader: ``python -m autograder grade ...``.

Not to be confused with ``autograded/``, the folder where nbgrader writes graded notebooks.
"""
import sys

# jsonschema, which nbformat imports, also imports ``rfc3987_syntax`` where it is installed (as
# here: jupyter-events asks for ``jsonschema[format-nongpl]``). That module compiles some forty
# grammars as it is imported, for the one thing it does: check the "iri" and "iri-reference"
# formats, which no notebook or Jupyter schema uses. It costs about 1.5 s of a core in every
# process that imports nbformat, more than importing nbgrader without it. The course's own
# processes (the grader, its nbgrader processes, the tests) import this package before nbformat
# and go without it; jsonschema then leaves those two formats unchecked, as it does wherever the
# module is not installed.
sys.modules.setdefault("rfc3987_syntax", None)
