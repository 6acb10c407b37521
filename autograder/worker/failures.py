"""Failures of the grader itself, which are never a student's.

A worker lost with its submissions (a Dask worker killed), a grading process killed by the
machine (the kernel's out-of-memory killer, an operator), a worker that cannot run the harness:
none of these says anything about the submission. The coordinator grades such a submission
again, elsewhere where it can, up to ``Grading.tries`` times; after the last try its row is
``error`` with the reason, never ``crashed`` (``crashed`` means the student's own notebook broke
the grading).
"""
import signal


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
