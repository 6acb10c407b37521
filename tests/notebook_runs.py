"""Execute course notebooks in real kernels and read what they printed.

The source notebook of an assignment runs at most once per test session in each mode
(:func:`source_run`): the tests that read the same run share it. Its grading-mode run is
``nbgrader validate``'s own (``validate_keeping.py``): the validation that the tests check and the
outputs they read come from one execution.
"""
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

FULL, GRADING = "full", "validate"  # GRADING: nbgrader's validate mode, the budget of autograde
FULL_RUN_TIMEOUT = 900  # seconds per cell: the longest training cell of a full run
_source_runs = {}  # (assignment, mode) -> the executed notebook
_validations = {}  # assignment -> what nbgrader validate printed


def execute(path, cwd, env_mode=None, cells=None, monkeypatch=None, timeout=300):
    """Execute a notebook (or its first ``cells`` cells) in a real kernel; returns the notebook."""
    notebook = nbformat.read(str(path), as_version=4)
    if cells is not None:
        notebook.cells = notebook.cells[:cells]
    if env_mode is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", env_mode)
    run_in_kernel(notebook, cwd, timeout)
    return notebook


def run_in_kernel(notebook, cwd, timeout, **options):
    """Execute ``notebook`` in place with nbclient in a new ``python3`` kernel started in ``cwd``
    (``options``: the client's other settings), reached over IPC sockets as the grader's kernels
    are: no TCP port, and no kernel's warning that TCP is unencrypted on every start."""
    with tempfile.TemporaryDirectory(prefix="kernel-ipc-") as sockets:
        ipc = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", config=ipc,
                       resources={"metadata": {"path": str(cwd)}}, **options).execute()


def validated_run(course_root, assignment):
    """``nbgrader validate`` of the source notebook, as the course's command line runs it; returns
    (the notebook its validator executed, what nbgrader printed)."""
    from autograder.worker.nbgrader_cli import nbgrader_env

    with tempfile.TemporaryDirectory() as folder:
        executed = Path(folder) / f"{assignment}.ipynb"
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("validate_keeping.py")),
                               f"source/{assignment}/{assignment}.ipynb", str(executed)], cwd=course_root,
                              capture_output=True, text=True, timeout=1800, env=nbgrader_env())
        printed = done.stdout + done.stderr
        assert executed.is_file(), f"nbgrader validate executed nothing: {printed}"
        return nbformat.read(str(executed), as_version=4), printed


def source_run(course_root, assignment, mode):
    """The source notebook of ``assignment`` executed in ``mode`` (FULL: a student's run on the
    whole data; GRADING: nbgrader validate's run, in grading mode), once per session; returns a
    copy of it."""
    if (assignment, mode) not in _source_runs:
        started = time.monotonic()
        if mode == GRADING:
            _source_runs[assignment, mode], _validations[assignment] = validated_run(course_root, assignment)
        else:
            assert mode == FULL, mode
            with pytest.MonkeyPatch.context() as monkeypatch:
                _source_runs[assignment, mode] = execute(
                    course_root / "source" / assignment / f"{assignment}.ipynb", course_root / "source" / assignment,
                    monkeypatch=monkeypatch, timeout=FULL_RUN_TIMEOUT)
        print(f"{mode} run of {assignment}, kernel start included: {time.monotonic() - started:.1f} s")
    return copy.deepcopy(_source_runs[assignment, mode])


def validation_of(course_root, assignment):
    """What ``nbgrader validate`` printed for the source notebook (its run shared as above)."""
    source_run(course_root, assignment, GRADING)
    return _validations[assignment]


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
    assert f"Grading mode ({GRADING})" in printed
    assert printed.count("hidden tests passed.") == graded_functions
    assert stderr_of(notebook) == []
    return printed
