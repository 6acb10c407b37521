"""The catalogues again, as the harness grades them: each test cell decided in the grading process
(``autograder/decisions/``) against the student's functions in a real kernel, where the tests see
only what crosses the wire. A check that works in-process (``test_catalogues.py``) but sees less
across the wire (a call's memory, a model's layers) fails here.

One kernel per assignment holds the reference solutions; each catalogued mistake replaces its
function there, its test cell is decided, and the reference's function is put back.
"""
import os

import pytest
from jupyter_client.manager import start_new_kernel

from autograder import course, notebook_cells
from autograder.decisions import cell as trusted
from autograder.decisions import kernel_memory
from catalogue_runs import all_mistakes, graded_cells
from conftest import ASSIGNMENTS


class ReferenceKernel:
    """A kernel holding an assignment's reference solutions, as ``reference_namespace`` builds them."""

    def __init__(self, assignment):
        self.assignment = assignment
        notebook = notebook_cells.read(assignment)
        self.solutions = notebook_cells.cells_by_role(notebook, "solution")
        setup = ["import numpy as np"]
        if course.load(assignment).keras:
            setup.append("import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')\n"
                         "import keras\nfrom keras import layers")
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=60,
                                                     env={**os.environ, "NBGRADER_EXECUTION": "autograde"})
        for source in [*setup, *(source for _, source in notebook_cells.reference_cells(notebook))]:
            self.run(source)

    def run(self, source):
        reply = self.client.execute_interactive(source, timeout=120, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    def decide(self, function):
        """(error name and message, or None; printed text) of test_<function>'s cell."""
        outputs = trusted.run_test_cell(self.client, graded_cells(self.assignment)[f"test_{function}"],
                                        timeout=300, assignment=self.assignment,
                                        memory=kernel_memory.of_kernel_manager(self.manager))
        errors = [o for o in outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        return (f"{errors[0].ename}: {errors[0].evalue}" if errors else None), text

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def reference_kernel(request):
    kernel = ReferenceKernel(request.param)
    yield kernel
    kernel.close()


def test_every_catalogued_mistake_fails_when_the_grader_decides_the_test_outside_the_kernel(reference_kernel):
    assignment = reference_kernel.assignment
    secrets = course.load(assignment).secrets
    for name in graded_cells(assignment):
        error, text = reference_kernel.decide(name[len("test_"):])
        assert error is None, f"the reference fails {name}: {error}"
        assert "hidden tests passed." in text, text
    missed = []
    for mistake in all_mistakes(assignment):
        reference_kernel.run(mistake.source)
        try:
            error, _ = reference_kernel.decide(mistake.function)
        finally:
            reference_kernel.run(reference_kernel.solutions[mistake.function])
        if error is None or mistake.expect not in error or f"{mistake.function}: " not in error \
                or any(secret in error for secret in secrets):
            missed.append(f"{mistake.function} {mistake.name} (expected {mistake.expect!r}): "
                          f"{error or 'passed every test'}")
    assert not missed, "\n".join(missed)
