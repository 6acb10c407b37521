"""Execute course notebooks in real kernels and read what they printed.

The source notebook of an assignment runs at most once per test session in each mode
(:func:`source_run`): the tests that read the same run share it.
"""
import copy
import time

import nbformat
import pytest
from nbclient import NotebookClient

FULL, GRADING = "full", "autograde"
FULL_RUN_TIMEOUT = 900  # seconds per cell: the longest training cell of a full run
_source_runs = {}  # (assignment, mode) -> the executed notebook


def execute(path, cwd, env_mode=None, cells=None, monkeypatch=None, timeout=300):
    """Execute a notebook (or its first ``cells`` cells) in a real kernel; returns the notebook."""
    notebook = nbformat.read(str(path), as_version=4)
    if cells is not None:
        notebook.cells = notebook.cells[:cells]
    if env_mode is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", env_mode)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def source_run(course_root, assignment, mode):
    """The source notebook of ``assignment`` executed in ``mode`` (FULL: a student's run on the
    whole data; GRADING: as nbgrader runs it), once per session; returns a copy of it."""
    if (assignment, mode) not in _source_runs:
        started = time.monotonic()
        with pytest.MonkeyPatch.context() as monkeypatch:
            _source_runs[assignment, mode] = execute(
                course_root / "source" / assignment / f"{assignment}.ipynb", course_root / "source" / assignment,
                env_mode=None if mode == FULL else mode, monkeypatch=monkeypatch,
                timeout=FULL_RUN_TIMEOUT if mode == FULL else 300)
        print(f"{mode} run of {assignment}, kernel start included: {time.monotonic() - started:.1f} s")
    return copy.deepcopy(_source_runs[assignment, mode])


def text_of(notebook):
    return "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs if output.output_type == "stream")


def stderr_of(notebook):
    return [(cell.metadata.get("nbgrader", {}).get("grade_id"), output.get("text", ""))
            for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "stream" and output.name == "stderr"]


def graded_run(course_root, assignment, graded_functions):
    """The source notebook run as nbgrader does (grading mode), checked: every hidden test passes
    and nothing reaches stderr; returns what it printed."""
    notebook = source_run(course_root, assignment, GRADING)
    printed = text_of(notebook)
    assert "Grading mode (autograde)" in printed
    assert printed.count("hidden tests passed.") == graded_functions
    assert stderr_of(notebook) == []
    return printed
