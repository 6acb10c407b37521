"""Dask preload of a grading cluster.

    PYTHONPATH=COURSE dask scheduler|worker ... --preload autograder.cluster.preload

Since Dask 2024 the scheduler, not only the workers, unpickles the tasks a client sends, and
both are console scripts: their processes import from the installed packages and the script's own
folder, never from the folder they were started in. The harness is not an installed package but
a folder of the course, so a scheduler or worker started without ``PYTHONPATH`` naming the course
(a read-only copy will do) cannot read the grading tasks, and every submission failed with
"Error during deserialization of the task graph". Given as a preload, this module makes such a
scheduler or worker fail at its start instead, where the operator sees it ("No module named
'autograder'"), and a worker says in its log which course it serves and what sandbox its kernels
get. (A preload given as a file path would not do: Dask copies the file into its scratch folder
before importing it, so it could not tell where the course is.)
"""
import logging
import os
import pwd
import tempfile

from autograder.course import COURSE_ROOT
from autograder.sandbox import cgroups
from autograder.sandbox.policy import bwrap_problem, sandbox_mode

logger = logging.getLogger("distributed.preloading")


def _user_name():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without an entry in /etc/passwd
        return os.environ.get("USER") or str(os.geteuid())


def without_tls(server):
    """Why ``server`` (a scheduler or worker, listening) accepts clients without TLS and client
    certificates, or "" where it requires them."""
    security = getattr(server, "security", None)
    address = str(getattr(server, "address", "") or "")
    if security is None or not security.require_encryption:
        return f"it does not require encryption (listening at {address or 'an unknown address'})"
    if not address.startswith("tls://"):
        return f"it listens at {address}, not tls://"
    return ""


def warn_without_tls(server, kind):
    """Say in the log, as the scheduler or worker starts, that anyone who reaches it runs code as its user."""
    problem = without_tls(server)
    if problem:
        logger.warning("grading %s WITHOUT TLS: %s. Any account that can reach this %s or another process of "
                       "the cluster (any local account on a machine of its network, a student's on the class's "
                       "hub included) can run code here as %s (uid %d): read the hidden checks, change grades. "
                       "Start the scheduler and the workers with --tls-ca-file, --tls-cert and --tls-key "
                       "(README \"Grading on a cluster\")", kind, problem, kind, _user_name(), os.geteuid())


def dask_setup(server):
    """Called by Dask as the scheduler or worker starts: log the course (and, on a worker, the
    sandbox) it will grade with, and warn where it accepts clients without TLS."""
    from distributed import Worker

    if not isinstance(server, Worker):
        logger.info("grading scheduler: course %s", COURSE_ROOT)
        warn_without_tls(server, "scheduler")
        return
    warn_without_tls(server, "worker")
    mode = sandbox_mode("bwrap")
    if os.geteuid() == 0:
        kernels = "each kernel a user of its own, forked from this worker's kernel zygote"
    else:  # a worker run as a user of its own: kernels in a user namespace, started afresh
        kernels = "kernels in a user namespace, started afresh (no kernel zygote without root)"
    logger.info("grading worker: course %s, sandbox %s, user %s (uid %d), scratch %s; %s", COURSE_ROOT, mode,
                _user_name(), os.geteuid(), tempfile.gettempdir(), kernels)
    if mode != "bwrap":
        logger.warning("grading worker: student code runs WITHOUT the sandbox (limits only): %s", bwrap_problem())
    if cgroups.problem():
        logger.warning("grading worker: kernels get no control group (%s): their memory is limited per process "
                       "only, tmpfs not counted", cgroups.problem())
    # The fork server of the worker's nbgrader processes imports nbgrader now, while the worker
    # waits for its first submission (remote_job.py).
    from autograder.cluster.remote_job import allow_children
    from autograder.worker.processes import start_fork_server

    allow_children()
    start_fork_server()
