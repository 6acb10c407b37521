"""a01's test cells on answers beyond the catalogue (tests/test_catalogues.py runs the catalogue)."""
import contextlib
import io

from catalogue_runs import reference, run_test_cell, with_source

ASSIGNMENT = "a01_santa_logreg"


def test_a_visible_test_leaves_no_warning_for_a_correct_answer_that_overflows():
    # exp overflows for large negative z: correct values, but numpy warns.
    namespace = with_source(reference(ASSIGNMENT),
                            "def propagate(w, b, x, y):\n"
                            "    m = x.shape[1]\n"
                            "    y_hat = 1 / (1 + np.exp(-(w.T @ x + b)))\n"
                            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
                            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        run_test_cell(ASSIGNMENT, "propagate", namespace)
    assert stderr.getvalue() == ""
