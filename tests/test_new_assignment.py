"""Does a new assignment need only its own files, and is it then built, graded and checked like
the others?

In a copy of the course, a small fifth assignment is written the way the README's "Adding an
assignment" says: its notebook, and in its room assignments/<id>/ a manifest, visible tests,
hidden checks and a catalogue of mistakes. Nothing else of the course is touched. The build then
releases it, and the harness grades a reference, a blank and each catalogued mistake.
"""
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from conftest import ROOT

ASSIGNMENT = "a05_mean_squared_error"
# What the copy of the course holds: everything a course directory needs, nothing generated.
COPIED = ("nbgrader_config.py", "autograder", "coursekit", "admin", "known_submissions", "assignments",
          "Makefile")

MANIFEST = '''\
summary = "the mean squared error, as a loss a network can learn from"
keras = false
graded_functions = ["mean_squared_error"]
written_answers = []

[catalogue]
fewest_mistakes = 2
secrets = []

[demo]
shown_message = { student = "ghost-summed", text = "mean_squared_error: the loss differs" }

[demo.class]
ghost-reference = {}
ghost-blank = "blank"
ghost-summed = { mean_squared_error = "summed" }
'''

VISIBLE = '''\
"""Visible tests of the mean squared error."""
import numpy as np

from check_helpers import call_quietly, check_close, check_scalar, check_unchanged, load_expected, passed, snapshot

EXPECTED = load_expected(__file__)


def check_mean_squared_error(mean_squared_error, y_hat, y, expected):
    before = snapshot(y_hat, y)
    loss = check_scalar("mean_squared_error", "the loss", call_quietly(mean_squared_error, y_hat, y))
    check_unchanged("mean_squared_error", ("y_hat", "y"), before, (y_hat, y))
    check_close("mean_squared_error", "the loss", loss, expected, hints=(
        (lambda e: e * y.size, "Average over the examples (np.mean), do not sum."),
    ))


def mean_squared_error_cases():
    return [(np.array([0.5, 2.0, -1.0]), np.array([1.0, 1.5, 0.0]))]


def test_mean_squared_error(mean_squared_error):
    for case, expected in zip(mean_squared_error_cases(), EXPECTED["mean_squared_error"]):
        check_mean_squared_error(mean_squared_error, *case, expected)
    passed("mean_squared_error")
'''

HIDDEN = '''\
"""Hidden checks of the mean squared error."""
import numpy as np

import problem_unittests as visible
from check_helpers import passed


def mean_squared_error(y_hat, y):
    return float(np.mean((y_hat - y) ** 2))


def expected_outputs():
    return {"mean_squared_error": [mean_squared_error(*case) for case in visible.mean_squared_error_cases()]}


def test_mean_squared_error(impl):
    rng = np.random.default_rng(5)
    for size in (1, 7, 40):
        y_hat, y = rng.normal(size=size), rng.normal(size=size)
        visible.check_mean_squared_error(impl, y_hat, y, mean_squared_error(y_hat, y))
    passed("mean_squared_error", "hidden tests")
'''

MISTAKES = '''\
"""Catalogued mistakes of the mean squared error."""
from known_submissions import Mistake, catalogue

MISTAKES = catalogue(
    Mistake("mean_squared_error", "summed", "sums the squared errors",
            "def mean_squared_error(y_hat, y):\\n    return float(np.sum((y_hat - y) ** 2))\\n", "Average"),
    Mistake("mean_squared_error", "not_squared", "averages the absolute errors",
            "def mean_squared_error(y_hat, y):\\n    return float(np.mean(np.abs(y_hat - y)))\\n", "differs"),
)
'''

SETUP = '''\
import sys
from pathlib import Path

for folder in (Path.cwd(), *Path.cwd().parents):
    if (folder / "coursekit" / "__init__.py").is_file():
        sys.path.insert(0, str(folder))
        break

import coursekit

coursekit.setup_notebook()'''


def locked(cell, grade_id):
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": True, "schema_version": 3,
                                 "solution": False}
    return cell


def notebook():
    v4 = nbformat.v4
    answer = v4.new_code_cell("def mean_squared_error(y_hat, y):\n    ### BEGIN SOLUTION\n"
                              "    return float(np.mean((y_hat - y) ** 2))\n    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "mean_squared_error", "locked": False,
                                   "schema_version": 3, "solution": True, "task": False}
    test = v4.new_code_cell("tests.test_mean_squared_error(mean_squared_error)\n### BEGIN HIDDEN TESTS\n"
                            "import hidden_checks\nhidden_checks.test_mean_squared_error(mean_squared_error)\n"
                            "### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_mean_squared_error", "locked": True,
                                 "points": 2, "schema_version": 3, "solution": False, "task": False}
    cells = [locked(v4.new_markdown_cell("# The mean squared error\n\n"
                                         "$L = \\frac{1}{m} \\sum_i (\\hat y_i - y_i)^2$"), "intro"),
             locked(v4.new_code_cell(SETUP), "setup"),
             locked(v4.new_code_cell("import numpy as np\n\nimport problem_unittests as tests"), "imports"),
             answer, test]
    for index, cell in enumerate(cells):
        cell["id"] = f"a05-{index}"
    made = v4.new_notebook(cells=cells)
    made.metadata.update(kernelspec={"display_name": "Python 3 (ipykernel)", "language": "python",
                                     "name": "python3"}, language_info={"name": "python"})
    return made


def fingerprint(root, skip):
    """{relative path: digest} of every file under ``root`` outside the ``skip`` folders."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and "__pycache__" not in relative and not relative.startswith(skip):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def new_course(tmp_path_factory, data_cache):
    root = tmp_path_factory.mktemp("course")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    (root / "source").mkdir()
    (root / "release").mkdir()
    before = fingerprint(root, skip=(f"assignments/{ASSIGNMENT}", f"source/{ASSIGNMENT}", f"release/{ASSIGNMENT}"))
    room = root / "assignments" / ASSIGNMENT
    room.mkdir()
    for name, text in (("manifest.toml", MANIFEST), ("problem_unittests.py", VISIBLE),
                       ("hidden_checks.py", HIDDEN), ("mistakes.py", MISTAKES)):
        (room / name).write_text(text, encoding="utf-8")
    (root / "source" / ASSIGNMENT).mkdir()
    nbformat.write(notebook(), str(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    env = dict(os.environ, NBGRADER_DB_URL=f"sqlite:///{root / 'gradebook.db'}")
    build = subprocess.run([sys.executable, "admin/build.py", ASSIGNMENT], cwd=root, env=env,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    after = fingerprint(root, skip=(f"assignments/{ASSIGNMENT}", f"source/{ASSIGNMENT}", f"release/{ASSIGNMENT}"))
    changed = sorted(set(before.items()) ^ set(after.items()))
    return root, env, changed


def test_the_new_assignment_touches_only_its_own_files(new_course):
    _, _, changed = new_course
    assert changed == [] or all(path in ("gradebook.db",) for path, _ in changed), changed


def test_the_build_releases_its_visible_tests_and_stored_values_but_no_hidden_check(new_course):
    root, _, _ = new_course
    released = sorted(p.relative_to(root / "release" / ASSIGNMENT).as_posix()
                      for p in (root / "release" / ASSIGNMENT).rglob("*") if p.is_file())
    assert {f"{ASSIGNMENT}.ipynb", "problem_unittests.py", "check_helpers.py", "expected_outputs.json"} <= set(released)
    assert not [p for p in released if "hidden" in p]
    assert "BEGIN HIDDEN TESTS" not in (root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert (root / "source" / ASSIGNMENT / "hidden_checks.py").is_file()


def test_the_harness_grades_the_reference_the_blank_and_each_mistake(new_course):
    root, env, _ = new_course
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(root)!r})
        from known_submissions.ghosts import all_mistakes, write_class
        students = {{"ghost-reference": {{}}, "ghost-blank": None}}
        for mistake in all_mistakes({ASSIGNMENT!r}):
            students["ghost-" + mistake.name] = {{mistake.function: mistake.name}}
        write_class({ASSIGNMENT!r}, {str(root / 'submitted')!r}, students)
    """)
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, timeout=120)
    grade = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--out", str(root / "out"),
                            "--jobs", "2"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert grade.returncode == 0, grade.stdout + grade.stderr
    with open(root / "out" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    scores = {student: (row["status"], float(row["score"]), float(row["max_score"])) for student, row in rows.items()}
    assert scores == {"ghost-reference": ("graded", 2.0, 2.0), "ghost-blank": ("graded", 0.0, 2.0),
                      "ghost-summed": ("graded", 0.0, 2.0), "ghost-not_squared": ("graded", 0.0, 2.0)}
    feedback = (root / "out" / "feedback" / "ghost-summed" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Average over the examples" in feedback and "hidden_checks" not in feedback
