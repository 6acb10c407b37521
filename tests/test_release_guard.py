"""Does anything students receive answer a graded question, under any name?

Every function, class and method defined in the Python files of release/<a>/ (the visible tests,
the check helpers, the course helpers; the notebook's stubs live in the notebook) is handed to
the hidden checks of each graded function of <a>, as the grader runs them. None may pass.
"""
import contextlib
import importlib.util
import inspect
import io
import resource
import signal
import sys
import warnings

import pytest

from autograder import course, course_checks
from conftest import ASSIGNMENTS, ROOT

SECONDS_PER_TRY = 20  # a hidden check that a candidate keeps busy this long has not passed
# Memory a try may map beyond what this process maps already. A candidate handed arguments it was
# not written for may ask for an array of any size (fixed_array(Z) makes prod(Z) numbers) and keep
# NumPy busy in C, where the alarm cannot stop it; past this it fails at once with MemoryError.
# The hidden checks hold at most 512 MiB (a04's memory case).
HEADROOM = 2**30


def release_modules(folder):
    """Each Python file of ``folder`` imported afresh, as a student's kernel would import it."""
    saved_path, saved = list(sys.path), {n: m for n, m in sys.modules.items()
                                         if n.split(".")[0] in ("check_helpers", "problem_unittests", "coursekit")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    modules = []
    try:
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            with contextlib.redirect_stdout(io.StringIO()):
                module = importlib.import_module(name)
            assert module.__file__ == str(path), f"{name} was imported from {module.__file__}, not {path}"
            modules.append((path, module))
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.split(".")[0] in ("check_helpers", "problem_unittests", "coursekit")]:
            del sys.modules[name]
        sys.modules.update(saved)
    return modules


def candidates(folder):
    """(file, name, object) for every function, class and method defined in the folder's files."""
    found = []
    for path, module in release_modules(folder):
        for name, obj in vars(module).items():
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__ != module.__name__:
                continue
            found.append((path, name, obj))
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    function = getattr(member, "__func__", member)  # static and class methods too
                    if inspect.isfunction(function):
                        found.append((path, f"{name}.{attr}", function))
    return found


class TookTooLong(Exception):
    pass


def _alarm(signum, frame):
    raise TookTooLong()


def mapped_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def solves(hidden_test, candidate):
    """Whether ``hidden_test(candidate)`` passes (quietly, within SECONDS_PER_TRY seconds and
    HEADROOM bytes of memory)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    wanted = mapped_bytes() + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (wanted if limits[1] == resource.RLIM_INFINITY else min(wanted, limits[1]), limits[1]))
    signal.alarm(SECONDS_PER_TRY)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings(), __import__("numpy").errstate(all="ignore"):
            warnings.simplefilter("ignore")
            hidden_test(candidate)
        return True
    except BaseException:  # noqa: BLE001 - whatever a wrong candidate does, it did not pass
        return False
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, limits)
        signal.signal(signal.SIGALRM, previous)


def solved_by_release(assignment):
    folder = ROOT / "release" / assignment
    found = []
    for function in course.load(assignment).graded_functions:
        hidden = course_checks.load(assignment)[course_checks.HIDDEN]
        for path, name, candidate in candidates(folder):
            if solves(getattr(hidden, f"test_{function}"), candidate):
                found.append(f"released file {path.relative_to(ROOT)} solves graded function {function} "
                             f"(with {name})")
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_released_file_solves_a_graded_function(assignment, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert solved_by_release(assignment) == []


def test_the_guard_finds_a_reference_under_another_name(tmp_path, monkeypatch):
    """A release folder whose helpers hide the answer to propagate, renamed, is caught."""
    import shutil

    monkeypatch.setenv("MPLBACKEND", "Agg")
    assignment = "a01_santa_logreg"
    folder = tmp_path / "release" / assignment
    shutil.copytree(ROOT / "release" / assignment, folder)
    with open(folder / "check_helpers.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef tidy(w, b, x, y):\n"
                     "    y_hat = 1 / (1 + np.exp(-(w.T @ x + b)))\n"
                     "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
                     "    return x @ (y_hat - y).T / x.shape[1], float(np.mean(y_hat - y)), float(cost)\n")
    hidden = course_checks.load(assignment)[course_checks.HIDDEN]
    solved = [name for _, name, candidate in candidates(folder) if solves(hidden.test_propagate, candidate)]
    assert solved == ["tidy"]
