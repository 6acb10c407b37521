"""nbgrader processes started for grading: forked from a server that has imported nbgrader once,
each with its own limits, session and working folder.

Starting a Python process and importing nbgrader takes seconds, as long as a short notebook
takes to run. So each nbgrader process is forked from a server process that has imported nbgrader
once (``multiprocessing``'s forkserver): still a fresh process per submission, with its own
limits, its own session and its own working directory, without the start-up. Where a process
may not have children of its own (a daemonic Dask worker) nbgrader is started as a command.
"""
import contextlib
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing import reduction
from multiprocessing.connection import wait
from pathlib import Path
from typing import NamedTuple, Optional

from .. import scratch
from ..sandbox.kernel_output import KernelOutput
from .failures import FAILURE_FD
from .nbgrader_cli import NBGRADER


def _apply_limits(memory_mb):
    os.setsid()  # a process group of its own, so a timeout can stop the kernel too
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _limits(memory_mb):
    return lambda: _apply_limits(memory_mb)


# Imported once by the fork server, so that each nbgrader process forked from it starts at once
# (warm.py also does, once, what each process would repeat on its first notebook).
PRELOAD = ("autograder",  # first: what it sets spares the imports after it (see autograder/__init__.py)
           "nbgrader.api", "nbgrader.apps.nbgraderapp", "nbgrader.apps.autogradeapp",
           "nbgrader.apps.generatefeedbackapp", "nbgrader.preprocessors", "nbconvert", "jupyter_client",
           "autograder.decisions.execute",
           # What each nbgrader process would otherwise import on first use (these imports take
           # about 30 ms in an a02 autograde, 15 ms in its generate_feedback): SQLite's dialect and driver,
           # for nbgrader's engine; the classes the course's nbgrader_config.py names by their path;
           # ipykernel's kernel spec, which the kernel's lookup reads; the NumPy submodules the
           # tests reach lazily (np.random, and np.ma through np.unique).
           "sqlite3", "sqlalchemy.dialects.sqlite", "autograder.gate.collect", "autograder.gate.release_feedback",
           "autograder.pages.formgrader", "ipykernel.kernelspec", "numpy.random", "numpy.ma",
           "autograder.worker.warm")
KERAS_PRELOAD = ("autograder.worker.warm_keras",)  # for assignments whose tests receive Keras models
FROZEN = ("autograder.worker.frozen",)  # last: what the server holds by then, out of the collector's sight
_server_preload = None  # what the running fork server imported
# The environment variable that tells the fork server this process's main script or module.
MAIN_SCRIPT = "AUTOGRADER_FORK_SERVER_MAIN"
# Held while a forked process starts and while its exit status is read. Process.start() polls
# every other child of this process, from the starting thread; when that poll and the child's own
# thread read one status pipe at once, one of them finds it empty and takes the exit status for
# 255 (measured: a quarter of short processes, six threads starting them at once).
_PROCESSES = threading.Lock()


class _Passed:
    """A file descriptor of this process handed to a process of the fork server, as
    multiprocessing hands over its own pipes (sent along as the process starts): an int there."""

    def __init__(self, fd):
        self.fd = fd

    def __reduce__(self):
        return _received, (reduction.DupFd(self.fd),)


def _received(duplicate):
    return duplicate.detach()


def _forked_nbgrader(argv, folder, env, memory_mb, log_fd, failure_fd, peak_path):
    """The body of a process forked from the server: limits, then stock nbgrader with ``argv``.

    Its output goes to ``log_fd`` (the pipe of :func:`_bounded_log`), the machine's failure it
    met, if any, to ``failure_fd`` (``nbgrader_main.py``), its peak memory (KiB) to
    ``peak_path``; it ends with nbgrader's exit status.
    """
    _apply_limits(memory_mb)
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(env, **{FAILURE_FD: str(failure_fd)})
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.path[:0] = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
    from .nbgrader_main import run  # imported here, after the environment it reads is in place

    sys.argv = ["nbgrader", *argv]
    try:
        run()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        from ..decisions.kernel_memory import highest_mark_reset  # the kernels' peaks before a measured call
        from ..sandbox.zygote import kernels_peak_kib  # kernels forked by the zygote are not this process's children

        peak = max([resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                   + [kernels_peak_kib(), highest_mark_reset() // 1024])
        Path(peak_path).write_text(str(peak), encoding="utf-8")
        # A process of the fork server ends with os._exit, past atexit: its run folder goes now,
        # not at the next run (which spares folders younger than a few seconds).
        scratch.remove_run_folder()


def _fork_server():
    """The forkserver context of this process, or None where this process may not have children."""
    global _server_preload
    if multiprocessing.current_process().daemon or "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    if forkserver._forkserver._forkserver_pid is None:  # not started yet: it starts with these
        _server_preload = _server_preload or list(PRELOAD + FROZEN)
        context.set_forkserver_preload(_server_preload)
        _tell_the_server_the_main_script()
    return context


def _tell_the_server_the_main_script():
    """Have the fork server run this process's main script or module once (warm.py), where this
    process was started as one (a benchmark, a program or a notebook's kernel that grades
    in-process): multiprocessing runs it again in each process it starts from a server that has
    not (its preload of ``__main__`` never receives the script in Python 3.11), 25 ms or more for
    each nbgrader process. ``python -m autograder`` is a package's ``__main__``, which no process
    runs again: nothing to tell."""
    from multiprocessing import spawn

    prepared = spawn.get_preparation_data("main")
    os.environ[MAIN_SCRIPT] = json.dumps({key: prepared[key] for key in ("init_main_from_name", "init_main_from_path")
                                          if key in prepared})


def start_fork_server(keras=False):
    """Start this process's fork server now, so that it imports nbgrader (and Keras, with
    ``keras``) while other work goes on. A server already running without Keras is replaced
    when Keras is wanted; one with Keras serves everyone."""
    global _server_preload
    context = _fork_server()
    if context is None:
        return
    from multiprocessing import forkserver

    wanted = list(PRELOAD) + (list(KERAS_PRELOAD) if keras else []) + list(FROZEN)
    if fork_server_running() and set(wanted) <= set(_server_preload or ()):
        return
    if not stop_fork_server():
        return
    context.set_forkserver_preload(wanted)
    _tell_the_server_the_main_script()
    forkserver.ensure_running()
    _server_preload = wanted


def stop_fork_server():
    """Stop this process's fork server, if one runs: the processes it started live on, and the
    next one asked for comes from a new server, which imports and warms up again, as in a new
    command (``benchmarks/grading_throughput.py`` grades each round's class so). False where this
    Python cannot stop a running server."""
    global _server_preload
    from multiprocessing import forkserver

    if fork_server_running():
        if not hasattr(forkserver._forkserver, "_stop"):
            return False
        forkserver._forkserver._stop()
    _server_preload = None
    return True


def fork_server_running():
    """Whether this process's fork server has started (its nbgrader processes are forked from it)."""
    from multiprocessing import forkserver

    return forkserver._forkserver._forkserver_pid is not None


class Finished(NamedTuple):
    """An nbgrader process that ran (:func:`run_nbgrader_limited`)."""
    exitcode: Optional[int]  # None: stopped at its time limit
    log: str                 # the end of its output (:func:`read_log`), the student's kernel's included
    peak_mb: float           # its peak memory in MiB, or 0 unknown
    failure: str = ""        # the machine's failure that ended its work, "Name: message" ("": none)


def run_nbgrader_limited(argv, folder, env, memory_mb, timeout):
    """Run ``nbgrader ARGV`` in ``folder`` with ``env`` under the limits, ``timeout`` seconds at most;
    a :class:`Finished`."""
    context = _fork_server()
    with tempfile.TemporaryDirectory(prefix="nbgrader-run-", dir=scratch.run_folder()) as notes:
        log_path, peak_path = Path(notes) / "log", Path(notes) / "peak-kib"
        output = _bounded_log(log_path)
        failure_read, failure_write = os.pipe()
        try:
            if context is None:
                process = subprocess.Popen([*NBGRADER, *argv], cwd=folder, env={**env, FAILURE_FD: str(failure_write)},
                                           stdout=output.write_fd, stderr=subprocess.STDOUT, pass_fds=(failure_write,),
                                           preexec_fn=_limits(memory_mb))
                output.close_writer()
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return Finished(None, "", 0.0)
                exitcode, peak = process.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            else:
                exitcode = run_forked(context, _forked_nbgrader, (argv, str(folder), env, memory_mb,
                                                                  _Passed(output.write_fd), _Passed(failure_write),
                                                                  str(peak_path)), timeout)
                if exitcode is None:
                    return Finished(None, "", 0.0)
                peak = int(peak_path.read_text(encoding="utf-8")) / 1024 if peak_path.is_file() else 0.0
            failure = _last_failure(failure_read) if exitcode else ""
        finally:
            output.finish(LOG_WAIT)
            os.close(failure_read)
            os.close(failure_write)
        return Finished(exitcode, read_log(log_path), peak, failure)


def _last_failure(read_fd):
    """The last failure an ended nbgrader process wrote into the pipe (``nbgrader_main.record``):
    "Name: message" where it was the machine's, else ''. Read without waiting for the pipe's end:
    this process holds its other end until the read is done."""
    os.set_blocking(read_fd, False)
    received = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(read_fd, 1 << 16):
            received += chunk
    lines = received.decode("utf-8", errors="replace").splitlines()
    try:
        failure = json.loads(lines[-1]) if lines else ""
    except ValueError:
        return ""
    return failure if isinstance(failure, str) else ""


LOG_HEAD, LOG_TAIL = 64 * 1024, 512 * 1024  # bytes of an nbgrader process's output kept from its start, its end
LOG_WAIT = 5.0  # seconds the end of its output may take to arrive after it ended
LOG_KEPT = 1 << 20  # bytes of an nbgrader process's output that are read: its end, where its errors are


def _bounded_log(path):
    """A pipe for an nbgrader process's standard output and error, drained by a thread of this
    process into the file ``path``, of which it keeps the first ``LOG_HEAD`` and the last
    ``LOG_TAIL`` bytes (``sandbox/kernel_output.py``). nbgrader logs what the student's kernel
    makes it log (a message type of a megabyte, as often as the kernel sends one): written to
    the file directly, that grew by gigabytes, filled the grader's disk, and the other students
    of the class failed for it."""
    sink = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return KernelOutput(sink, head=LOG_HEAD, tail=LOG_TAIL, what="the nbgrader process's output", close_sink=True)


def read_log(path):
    """The last ``LOG_KEPT`` bytes of the output at ``path``, as text. The output is kept to its
    start and end as it is written (:func:`_bounded_log`), and so is what the student's kernel
    writes there (``sandbox/kernel_output.py``); before, it was all of what the code wrote to the
    file descriptors 1 and 2, and read whole, 400 MB of it took a grading process tree 920 MB of
    memory at its peak."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - LOG_KEPT))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return f"[the first {size - LOG_KEPT} bytes of the output were not read]\n{text}" if size > LOG_KEPT else text


def run_forked(context, target, args, timeout):
    """Run ``target(*args)`` in a process of ``context``; its exit status, or None when it was
    stopped at ``timeout`` seconds (it must start a process group of its own, which is killed).
    Safe to call from several threads at once."""
    process = context.Process(target=target, args=args)
    with _PROCESSES:
        process.start()
    ended = wait([process.sentinel], timeout)
    if not ended:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        wait([process.sentinel])
    with _PROCESSES:
        process.join()  # its exit status is there to read: this returns at once
    return process.exitcode if ended else None
