"""Does a failing test tell a student what went wrong in a few lines, without the tests' own code,
and without giving an expected value away?

In a notebook, a failing check shows its message and the line of the student's code involved
(where it raised, or the line it returned from): at most 10 lines, no frame of the test modules.
Messages never print an expected value: they name a differing entry, the value received there
and how far off it is, to two significant digits.
"""
import re
import shutil
import sys

import numpy as np
import pytest

from conftest import ROOT
from notebook_runs import run_in_kernel
from known_submissions.ghosts import ghost_notebook

sys.path.insert(0, str(ROOT / "assignments"))
import check_helpers  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TEST_MODULES = ("problem_unittests", "check_helpers", "hidden_checks", "Traceback", "File \"")
A01 = "a01_santa_logreg"


def failure(check, *args, **kwargs):
    with pytest.raises(AssertionError) as caught:
        check(*args, **kwargs)
    return caught.value


def shown_forms(value):
    """The ways a message could print ``value``: 3 to 8 significant digits, fixed and general."""
    return {f"{value:.{d}f}" for d in range(3, 9)} | {f"{value:.{d}g}" for d in range(3, 9)}


# --------------------------------------------------------------------------------------------
# Messages, without a kernel
# --------------------------------------------------------------------------------------------

def test_an_array_mismatch_names_one_entry_with_the_value_received_and_how_far_off():
    expected = np.array([[0.4321987, -1.2345678], [2.7182818, 0.5772156]])
    got = expected.copy()
    got[1, 0] = 2.1
    error = failure(check_helpers.check_close, "propagate", "dw", got, expected)
    message = str(error)
    assert message.startswith("propagate: dw: 1 of 4 values differs")
    assert "at [1, 0] you have 2.1, off by something of the order of 1." in message
    for value in expected.ravel():
        assert not shown_forms(value) & set(re.findall(r"-?\d+\.\d+", message)), (value, message)


def test_a_scalar_mismatch_says_what_came_back_not_what_was_expected():
    message = str(failure(check_helpers.check_close, "propagate", "cost", 0.75, 0.6931472))
    assert message == "propagate: cost differs from the expected value: got 0.75, off by something of the order of 0.1."
    assert not any(form in message for form in shown_forms(0.6931472))


def test_how_far_off_is_a_power_of_ten_that_leaves_the_expected_value_open():
    """To two digits, "got 0.75, off by 0.057" would leave 0.693 or 0.807; as a power of ten every
    expected value from about 0.43 to 0.72 or 0.78 to 1.07 reads the same."""
    assert {check_helpers.off_by(0.75, e) for e in (0.6931472, 0.71, 0.9, 0.45, 1.0)} == {"something of the order of 0.1"}
    assert check_helpers.off_by(-2.08294, -0.5) == "something of the order of 1"
    assert check_helpers.off_by(1.0, 1.0 + 2e-5) == "something of the order of 1e-05"
    assert check_helpers.off_by(float("nan"), 1.0) == "nan" and check_helpers.off_by(float("inf"), 1.0) == "inf"


def test_a04_distances_name_an_entry_but_not_its_expected_value():
    sys.path.insert(0, str(ROOT / "source" / "a04_knn_mlp_transfer"))
    try:
        import problem_unittests as a04
    finally:
        sys.path.pop(0)
        sys.modules.pop("problem_unittests", None)
    X_test, X_train = np.array([[0.0, 1.0]]), np.array([[3.0, 5.0], [1.0, 1.0]])
    expected = np.array([[5.0, 1.0]])
    wrong = lambda X_test, X_train, metric="l2": expected + np.array([[0.123456, 0.0]])  # noqa: E731
    message = str(failure(a04.check_compute_distances, wrong, X_test, X_train, "l2", expected, expected * 2))
    assert "dists[0, 0] = 5.12346, off by something of the order of 0.1" in message and "expected 5" not in message


def test_a_failure_renders_in_few_lines_with_the_students_line():
    def propagate(w, b, x, y):
        dw = np.ones((2, 1))
        return dw, 0.0, 0.5
    error = failure(lambda: check_helpers.check_close(
        "propagate", "dw", check_helpers.call_quietly(propagate, 0, 0, 0, 0)[0], np.zeros((2, 1))))
    lines = [ANSI.sub("", line) for line in "\n".join(error._render_traceback_()).splitlines()]
    assert len(lines) <= 10
    assert lines[0].startswith("CheckFailed: propagate: dw: 2 of 2 values differ")
    assert any("your propagate returned at" in line for line in lines)
    assert lines[-1].strip() == "return dw, 0.0, 0.5"


# --------------------------------------------------------------------------------------------
# In a real kernel: the release notebook with a stub, a wrong answer and an error
# --------------------------------------------------------------------------------------------

STUDENT = {  # grade_id -> the student's cell
    "init_w": None,  # the stub as released
    "propagate": "missing_1_over_m",
    "optimization": "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
                    "    costs = []\n"
                    "    for i in range(num_iterations):\n"
                    "        dw, db, cost = propagate(w, b, x, y)\n"
                    "        w = w - learning_rate * dw\n"
                    "        b = b - learning_rate * db\n"
                    "        costs.append(cost[0])\n"
                    "    return w, b, costs",
}


@pytest.fixture(scope="module")
def failing_cells(course_root, data_cache, tmp_path_factory):
    """The rendered error of each test cell of STUDENT, in a real kernel (release notebook)."""
    folder = tmp_path_factory.mktemp("messages") / A01
    shutil.copytree(course_root / "release" / A01, folder)
    notebook = ghost_notebook(A01, {"propagate": STUDENT["propagate"]})
    released = ghost_notebook(A01, None)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
    cells["init_w"].source = next(c.source for c in released.cells
                                  if c.metadata.get("nbgrader", {}).get("grade_id") == "init_w")
    cells["optimization"].source = STUDENT["optimization"]
    last = notebook.cells.index(cells["test_optimization"])
    notebook.cells = notebook.cells[:last + 1]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
        run_in_kernel(notebook, folder, 300, allow_errors=True)
    rendered = {}
    for name in STUDENT:
        errors = [o for o in cells[f"test_{name}"].outputs if o.output_type == "error"]
        assert len(errors) == 1, name
        rendered[name] = (errors[0], ANSI.sub("", "\n".join(errors[0].traceback)).splitlines())
    return rendered


@pytest.mark.parametrize("function, message, line", [
    ("init_w", "init_w: is not written yet: replace `raise NotImplementedError()` with your code.",
     "raise NotImplementedError()"),
    ("propagate", "propagate: dw: 3 of 3 values differ from the expected ones; at [1, 0] you have -2.08294, off by something of the order of 1.",
     "return x @ (y_hat - y).T"),
    ("optimization", "optimization: raised TypeError: 'float' object is not subscriptable", "costs.append(cost[0])"),
])
def test_a_failing_test_cell_shows_its_message_and_the_students_line_in_ten_lines(failing_cells, function,
                                                                                  message, line):
    error, lines = failing_cells[function]
    text = "\n".join(lines)
    print(text)
    assert error.ename == "CheckFailed" and error.evalue.startswith(f"{function}: ")
    assert len(lines) <= 10, text
    assert not any(name in text for name in TEST_MODULES), text
    assert message in " ".join(text.split()), text
    assert re.search(r"--> your (code raised it|\w+ returned) at Cell In\[\d+\], line \d+", text), text
    assert any(l.strip().startswith(line) for l in lines), text
