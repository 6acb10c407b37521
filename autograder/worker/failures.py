"""Failures of the grader itself, which are never a student's.

A worker lost with its submissions (a Dask worker killed), a grading process killed by the
machine (the kernel's out-of-memory killer, an operator), a worker that cannot run the harness,
an nbgrader process that failed on the machine (a full disk, a socket path too long, its
gradebook unusable): none of these says anything about the submission. The coordinator grades
such a submission again, elsewhere where it can, up to ``Grading.tries`` times; after the last
try its row is ``error`` with the reason, never ``crashed`` (``crashed`` means the student's own
notebook broke the grading).
"""
import signal

# The environment variable that gives an nbgrader process the pipe where it says whether it failed
# on the machine (nbgrader_main.py).
FAILURE_FD = "AUTOGRADER_NBGRADER_FAILURE_FD"
# Exceptions of the machine, by the qualified names of their classes (a subclass counts): the
# system's errors (a full disk, a file gone from the grader's scratch, a socket path too long)
# and the operational errors of the gradebook, a database of the grader's own in its scratch
# folder (a full disk there too, a lock, a file it cannot open). What a notebook holds is data,
# which fails otherwise (IntegrityError, DataError, a notebook that is not JSON).
MACHINE_ERRORS = frozenset({"builtins.OSError", "sqlite3.OperationalError", "sqlalchemy.exc.OperationalError"})


class GraderFailed(RuntimeError):
    """The grader, not the submission, failed; grading it again may succeed."""


def killed_by(returncode):
    """The name of the signal that ended a process with ``returncode`` (negative, as
    ``subprocess`` and ``multiprocessing`` report it), or None when it exited by itself."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def machine_failure(error):
    """"Name: message" of ``error``, an exception raised in an nbgrader process, when it is the
    machine's (:data:`MACHINE_ERRORS`); else ''. The student's code runs in the kernel, never in
    that process: what the notebook itself can make it raise (a malformed notebook, a test cell
    that fails) is not the machine's. Decided on the exception itself, in that process
    (``nbgrader_main.py``): the process's output also holds what the student's kernel wrote to
    its standard error, a whole traceback of the machine's failure as easily as anything else."""
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}
    if not names & MACHINE_ERRORS:
        return ""
    name = type(error).__qualname__
    module = type(error).__module__
    return f"{name if module == 'builtins' else f'{module}.{name}'}: {error}"[:300]
