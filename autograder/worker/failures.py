"""Failures of the grader itself, which are never a student's.

A worker lost with its submissions (a Dask worker killed), a grading process killed by the
machine (the kernel's out-of-memory killer, an operator), a worker that cannot run the harness:
none of these says anything about the submission. The coordinator grades such a submission
again, elsewhere where it can, up to ``Grading.tries`` times; after the last try its row is
``error`` with the reason, never ``crashed`` (``crashed`` means the student's own notebook broke
the grading).
"""
import builtins
import re
import signal

_RAISED = re.compile(r"^\s*(?:builtins\.)?([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)(?::|$)")  # "Name: message", a traceback's last line
# Errors of the gradebook, a database of the grader's own in its scratch folder: a full disk
# ("database or disk is full"), a lock, a file it cannot open. What a notebook holds is data,
# which fails otherwise (IntegrityError, DataError).
GRADEBOOK_ERRORS = frozenset({"sqlite3.OperationalError", "sqlalchemy.exc.OperationalError"})


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


def grader_side_error(log):
    """The exception that ended an nbgrader process, from its ``log``, when it is the machine's (an
    ``OSError``: a socket path too long, a full disk, a file gone from the grader's scratch; an
    operational error of its gradebook: a full disk there too), as "Name: message"; else ''. The
    student's code runs in the kernel, never in that process: what the notebook itself can make
    it raise (a malformed notebook, a test cell that fails) is neither. Only the log's last
    traceback counts: the kernel's stderr reaches this log too, and a line a student wrote there
    before nbgrader's own traceback must not decide. That traceback ends at its first line that
    names an exception, of Python's own or a module's (a student's line after it does not decide
    either)."""
    lines = log.splitlines()
    starts = [index for index, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    for line in lines[starts[-1] + 1:] if starts else ():
        match = _RAISED.match(line)
        name = match.group(1) if match else ""
        if name in GRADEBOOK_ERRORS:
            return line.strip()[:300]
        raised = getattr(builtins, name, None) if name.isidentifier() else None
        if isinstance(raised, type) and issubclass(raised, BaseException):  # the traceback's last line
            return line.strip()[:300] if issubclass(raised, OSError) else ""
        if "." in name and name.rpartition(".")[2].endswith(("Error", "Exception")):  # a module's exception
            return ""
    return ""
