"""One submission graded on a Dask worker, from what the coordinator sends it.

A worker may be another machine, or another user of this one, with its own copy of the course
(read-only, as a shared file system gives it) at a path of its own. So the coordinator sends, with
the :class:`~autograder.worker.job.Job`, what the worker could not read for itself: the template
gradebook's bytes, compressed (a mostly empty SQLite file: some 160 KB, a few KB compressed; the
coordinator's scratch folder is its own) and the course's fingerprint. The worker grades with
its own course folder, in its own scratch folder, and forks its kernels from a kernel zygote of
its own (``sandbox/zygote.py``; the coordinator's is on another machine, or another user's),
started on its first submission of an assignment and kept for the worker's life: one per worker
process, for the assignment it grades last (a zygote with Keras holds hundreds of MB).

As on one machine, the worker forks its nbgrader processes from a fork server that has imported
nbgrader (``worker/processes.py``), and its kernels read the data decoded once (on this worker's
machine, in its user's cache folder: ``sandbox/shared_data.py``) unless the command line named
a folder, or none, with ``--Sandbox.decoded_data=``. Its kernels replay the reference's Keras
calls as on one machine, from a recording made on the worker's machine (the coordinator's is for
another processor): the first submission of a Keras assignment that a machine's workers grade
waits while the reference is graded there once.
"""
import atexit
import dataclasses
import hashlib
import multiprocessing
import os
import tempfile
import threading
import zlib
from pathlib import Path

from .. import course, scratch
from ..course import COURSE_ROOT
from ..sandbox import replay_store, shared_data
from ..sandbox.policy import sandbox_mode
from ..sandbox.zygote import Zygote
from ..settings import Sandbox, course_config
from ..worker.failures import GraderFailed
from ..worker.job import grade, thread_settings
from ..worker.processes import start_fork_server
from .course_version import course_version

_zygote = {"key": None, "zygote": None}  # this worker process's kernel zygote, and what it was started for
_zygote_lock = threading.Lock()


def worker_zygote(job):
    """The socket of this worker's kernel zygote for ``job`` ("" where kernels start afresh:
    ``Sandbox.zygote = False``, no bubblewrap, not root), started on the first job of its
    assignment and settings; the zygote of another assignment is stopped first."""
    key = (job.assignment, job.settings, job.threads)
    with _zygote_lock:
        if _zygote["key"] != key:
            if _zygote["zygote"] is not None:
                _zygote["zygote"].close()
            sandbox = Sandbox(config=course_config(COURSE_ROOT, list(job.settings)))
            zygote = Zygote(str(COURSE_ROOT / "release" / job.assignment),
                            {**os.environ, **thread_settings(job.threads)}, sandbox,
                            keras=course.load(job.assignment).keras).__enter__()
            _zygote.update(key=key, zygote=zygote)
        return _zygote["zygote"].socket_path or ""


def zygote_stats():
    """This worker's zygote's :meth:`~autograder.sandbox.zygote.Zygote.stats` (zeros without one):
    ``client.run(zygote_stats)`` asks every worker."""
    with _zygote_lock:
        zygote = _zygote["zygote"]
        return zygote.stats() if zygote is not None else {"kernels_forked": 0, "zygote_peak_mb": 0.0}


@atexit.register
def _stop_zygote():
    with _zygote_lock:
        if _zygote["zygote"] is not None:
            _zygote["zygote"].close()
        _zygote.update(key=None, zygote=None)


def allow_children():
    """Let this process have children of multiprocessing's making (a fork server and the
    nbgrader processes forked from it). A Dask worker that a nanny started is a daemonic process,
    which multiprocessing forbids them: without this, each of its nbgrader processes would start
    afresh and import nbgrader again, some 3 s twice a submission. The flag concerns this
    process's own children only: the nanny still stops the worker as before."""
    current = multiprocessing.current_process()
    if current.daemon:
        current.daemon = False


def _in_bubblewrap(job):
    """Whether this worker's kernels for ``job`` are in bubblewrap: only those are given the
    folders the kernels share (``sandbox/kernel_manager.shared_folders``)."""
    return sandbox_mode(Sandbox(config=course_config(COURSE_ROOT, list(job.settings))).mode) == "bwrap"


def with_worker_data(job):
    """``job``, with this worker's decoded data (made here once, kept and checked by
    ``shared_data.prepare``) unless its settings name a folder, or none, already, or its kernels
    are not in bubblewrap."""
    if any(setting.startswith("--Sandbox.decoded_data=") for setting in job.settings) or not _in_bubblewrap(job):
        return job
    decoded = shared_data.prepare(job.assignment, os.environ.get("COURSE_DATA_DIR"))
    if not decoded:
        return job
    return dataclasses.replace(job, settings=(*job.settings, f"--Sandbox.decoded_data={decoded}"))


def with_worker_replay(job):
    """``job`` (this worker's, with its zygote and template), with this worker's recording of the
    reference's Keras calls and figures (``sandbox/replay_store.py``): made on this machine once, by grading
    the reference here as a submission of its own (never merged into a gradebook), and kept in
    this worker's user's cache folder, named by this machine's processor among the rest. ``job``
    as it is where its settings name a folder, or none, already, or this worker's kernels are
    not in bubblewrap (one outside could write the recording)."""
    if any(setting.startswith("--Sandbox.keras_replay=") for setting in job.settings):
        return job
    if not replay_store.records(job.assignment) or not _in_bubblewrap(job):
        return job

    def grade_reference(submissions, settings):
        return grade(dataclasses.replace(job, student_id=replay_store.RECORDING_ID,
                                         submission=str(Path(submissions) / replay_store.RECORDING_ID / job.assignment),
                                         settings=(*job.settings, *settings), profile=""))

    with tempfile.TemporaryDirectory(prefix="keras-reference-", dir=scratch.run_folder()) as folder:
        store = replay_store.prepare(job.assignment, job.threads, grade_reference, folder)
    return dataclasses.replace(job, settings=(*job.settings, f"--Sandbox.keras_replay={store}")) if store else job


def template_file(content):
    """A file in this worker's run folder holding the template gradebook ``content``, written once
    per content (a worker grades many submissions with the same template)."""
    path = scratch.run_folder() / f"template-{hashlib.sha256(content).hexdigest()[:20]}.db"
    if not path.is_file():
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(partial, path)
    return path


def grade_on_worker(job, template_db, version):
    """Grade ``job`` on this worker, with its course copy; ``template_db`` is the template
    gradebook (its bytes, ``zlib``-compressed), ``version`` the coordinator's :func:`course_version`
    of the assignment. Raises :class:`GraderFailed` when this worker's course differs from the
    coordinator's."""
    mine = course_version(job.assignment)
    if mine != version:
        raise GraderFailed(f"the worker's copy of the course ({COURSE_ROOT}) differs from the coordinator's "
                           f"for {job.assignment} (fingerprint {mine[:12]}, coordinator's {version[:12]}): "
                           f"update the workers' copy")
    template = template_file(zlib.decompress(template_db))
    allow_children()
    # Started by the preload already, without Keras: started here where it was not, again with Keras
    # for an assignment whose tests receive Keras models.
    start_fork_server(keras=course.load(job.assignment).keras)
    job = with_worker_data(job)
    local = dataclasses.replace(job, course_root=str(COURSE_ROOT), template_db=str(template),
                                kernel_zygote=worker_zygote(job))
    return grade(with_worker_replay(local))
