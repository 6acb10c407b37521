"""nbgrader's Execute as the course runs it (autograder/decisions/execute.py), with a real kernel."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from traitlets.config import Config

from autograder.decisions.execute import SurvivingExecute, output_size

# No sandbox, and test cells run in the kernel as stock nbgrader runs them: what these tests look
# at is the preprocessor's handling of outputs and of the kernel's end.
OFF = Config({"Sandbox": {"mode": "off"}, "SurvivingExecute": {"decide_tests_outside": False}})

HUGE_LINE = "print('x' * 5_000_000)"
MANY_LINES = "for i in range(20_000):\n    print('line', i)"
ERROR_AFTER = "print('y' * 50_000)\nraise ValueError('z' * 100_000)"


@pytest.fixture
def executed(tmp_path, monkeypatch):
    cells = [new_code_cell(text) for text in (HUGE_LINE, MANY_LINES, ERROR_AFTER, "print('small')")]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    # The limit is the grader's, whatever the sandbox: here none, and tests in the kernel.
    execute = SurvivingExecute(config=OFF, max_cell_output=10_000, timeout=120, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    return notebook


def test_does_a_cell_that_prints_without_end_keep_only_its_share_with_a_note(executed):
    for cell in executed.cells[:2]:
        assert sum(map(output_size, cell.outputs)) <= 10_000 + 200
        assert "output cut" in cell.outputs[-1].text


def test_does_an_error_after_the_limit_still_count(executed):
    errors = [o for o in executed.cells[2].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError" and len(errors[0].evalue) <= 2000


def test_is_a_small_output_kept_as_it_is(executed):
    assert [o.text for o in executed.cells[3].outputs] == ["small\n"]


def test_does_the_course_stop_the_kernel_at_once_keeping_every_output(tmp_path, monkeypatch):
    """The course's configuration kills the kernel once the last cell is done, without asking it
    to shut down first; everything the cells printed up to their end is still in the notebook."""
    from pathlib import Path

    from jupyter_client.manager import AsyncKernelManager
    from traitlets.config.loader import PyFileConfigLoader

    asked = []

    async def asked_to_shut_down(self, restart=False):
        asked.append(restart)

    monkeypatch.setattr(AsyncKernelManager, "_async_request_shutdown", asked_to_shut_down)
    root = Path(__file__).resolve().parent.parent
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.merge(OFF)
    last = "import sys\nfor i in range(3000):\n    print(i)\nsys.stderr.write('done')"
    notebook = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell(last)],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    execute = SurvivingExecute(config=config, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    assert asked == []  # stopped without the shutdown request
    streams = {o.name: o.text for o in notebook.cells[1].outputs if o.output_type == "stream"}
    assert streams["stdout"].splitlines() == [str(i) for i in range(3000)]
    assert streams["stderr"] == "done"


STUCK_AFTER_INTERRUPT = '''
class Endless(Exception):
    def __str__(self):  # the kernel's traceback display calls it, and never gets past it
        while True:
            pass

raise Endless()
'''


def test_a_kernel_that_does_not_stop_when_interrupted_ends_the_run_without_waiting_on_each_cell(tmp_path):
    """A cell past its time is interrupted; when the kernel is still busy ``iopub_timeout`` seconds
    later, the later cells are marked not run (sent to the busy kernel, each would time out behind
    it)."""
    cells = [new_code_cell("before = 1"), new_code_cell(STUCK_AFTER_INTERRUPT)] + [
        new_code_cell(f"after_{i} = {i}") for i in range(4)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    execute = SurvivingExecute(config=OFF, timeout=3, iopub_timeout=3, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    assert notebook.cells[0].outputs == []
    stuck = notebook.cells[1].outputs[-1]
    assert stuck.ename == "TimeoutError" and "did not stop when it was interrupted" in stuck.evalue
    for cell in notebook.cells[2:]:
        assert [o.evalue for o in cell.outputs] == ["not run: the kernel did not stop when interrupted in cell 1"]
