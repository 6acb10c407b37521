"""A class of ghost students graded by the harness's command line on a machine without a recording
of the reference (``autograder/sandbox/replay_store.py``): for the tests of what it records and
what the class's kernels replay (``test_keras_replay.py``, ``test_figures.py``)."""
import os
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell

from autograder.sandbox import replay_store


def grade_afresh(tmp_path, course_root, assignment, students, last_cell, jobs):
    """Grade ``students`` ({student: {graded function: mistake}}) of ``assignment``, each notebook
    ending with ``last_cell``, with ``python -m autograder grade --jobs JOBS``, in a gradebook and
    a cache folder of its own under ``tmp_path``. Returns ({student: graded notebook}, the
    recordings it made). What grading merged into the course's folders is removed."""
    from known_submissions.ghosts import ghost_notebook, remove_merged

    for student, answers in students.items():
        notebook = ghost_notebook(assignment, answers)
        notebook.cells.append(new_code_cell(last_cell))
        folder = tmp_path / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{assignment}.ipynb"))
    env = dict(os.environ, NBGRADER_DB_URL=f"sqlite:///{tmp_path / 'gradebook.db'}",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    try:
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(tmp_path / "submitted"),
                               "--out", str(tmp_path / "out"), "--jobs", str(jobs)], cwd=course_root, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        graded = {student: nbformat.read(str(course_root / "autograded" / student / assignment / f"{assignment}.ipynb"),
                                         as_version=4) for student in students}
    finally:
        remove_merged(students)
    recordings = [f for f in (tmp_path / "cache" / "course-autograder" / replay_store.FOLDER).iterdir()
                  if not f.name.startswith(".")]  # (their lock files left out)
    return graded, recordings
