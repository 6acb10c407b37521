"""``python tests/validate_keeping.py NOTEBOOK EXECUTED``: ``nbgrader validate NOTEBOOK``, stock
nbgrader run by the course's command line (``autograder.worker.nbgrader_main``, from the course
root, with the course's configuration), that also writes to EXECUTED the notebook its validator
executed.

The tests that read a grading-mode run of a source notebook read this one, so that one execution
both validates the notebook and gives them its outputs (see ``notebook_runs.source_run``).
"""
import runpy
import sys

import nbformat
from nbgrader import validator

NOTEBOOK, EXECUTED = sys.argv[1:3]
_execute = validator.Validator._preprocess


def _preprocess_and_keep(self, nb):
    executed = _execute(self, nb)
    nbformat.write(executed, EXECUTED)
    return executed


validator.Validator._preprocess = _preprocess_and_keep
sys.argv = ["nbgrader", "validate", NOTEBOOK]
runpy.run_module("autograder.worker.nbgrader_main", run_name="__main__")
