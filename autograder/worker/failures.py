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

_RAISED = re.compile(r"^\s*(?:builtins\.)?([A-Za-z]\w*)(?::|$)")  # "Name: message", a traceback's last line


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
    ``OSError``: a socket path too long, a full disk, a file gone from the grader's scratch), as
    "Name: message"; else ''. The student's code runs in the kernel, never in that process: what
    the notebook itself can make it raise (a malformed notebook, a test cell that fails) is no
    ``OSError``. Only the log's last traceback counts: the kernel's stderr reaches this log too,
    and a line a student wrote there before nbgrader's own traceback must not decide."""
    lines = log.splitlines()
    starts = [index for index, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    for line in lines[starts[-1] + 1:] if starts else ():
        match = _RAISED.match(line)
        raised = getattr(builtins, match.group(1), None) if match else None
        if isinstance(raised, type) and issubclass(raised, BaseException):  # the traceback's last line
            return line.strip()[:300] if issubclass(raised, OSError) else ""
    return ""
