"""Execute course notebooks in real kernels and read what they printed."""
import time

import nbformat
from nbclient import NotebookClient


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


def text_of(notebook):
    return "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs if output.output_type == "stream")


def stderr_of(notebook):
    return [(cell.metadata.get("nbgrader", {}).get("grade_id"), output.get("text", ""))
            for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "stream" and output.name == "stderr"]


def graded_run(course_root, assignment, monkeypatch, graded_functions):
    """Execute the source notebook as nbgrader does (grading mode) and check that every hidden
    test passes and nothing reaches stderr; returns what it printed."""
    started = time.monotonic()
    notebook = execute(course_root / "source" / assignment / f"{assignment}.ipynb",
                       course_root / "source" / assignment, env_mode="autograde", monkeypatch=monkeypatch)
    print(f"grading-mode run of {assignment}, kernel start included: {time.monotonic() - started:.1f} s")
    printed = text_of(notebook)
    assert "Grading mode (autograde)" in printed
    assert printed.count("hidden tests passed.") == graded_functions
    assert stderr_of(notebook) == []
    return printed
