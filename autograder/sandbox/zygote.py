"""Kernels forked from a zygote that has already imported what they import.

The harness starts one :class:`Zygote` per class (``autograder/zygote_server.py`` runs in it):
a process in a bubblewrap sandbox laid out as a kernel's, which imports ipykernel, NumPy,
matplotlib and the other packages the course's kernels import (Keras and TensorFlow where the
assignment uses them). ``Sandbox.zygote_socket`` carries its socket to the nbgrader processes.

A kernel still gets a sandbox of its own, made by bubblewrap as before; only what runs in it
changes. ``SandboxedKernelManager`` (``kernel_manager.py``) starts the sandbox with a small
placeholder in it, and asks the zygote for a kernel (:func:`fork_kernel`); the zygote's child
joins the placeholder's namespaces and becomes the kernel there (dropping to the sandbox's user,
under its limits, with the kernel's environment). The placeholder ends as soon as the kernel
has, and with it the sandbox and every process the student's code started. So for nbgrader and
jupyter_client the kernel is the sandbox's process, as before: stopping it and seeing it die
work as they did. The kernel is not a child of its grading process, so the zygote reports its
peak memory (:func:`kernels_peak_kib`).

Forking needs the zygote to join another process's namespaces, which the grader can do as root
(where the sandbox keeps real uids). Elsewhere, or when anything about the zygote is wrong, the
kernel starts afresh as before: the zygote makes kernels faster, never different.
"""
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import scratch
from ..decisions import wire
from .policy import bwrap_command, kernel_environment, matplotlib_font_lists, sandbox_mode
SERVER = Path(__file__).with_name("zygote_server.py")
AGENT = "agent.py"  # the grader's agent, in the zygote's folder (zygote_server.AGENT)
# What the course's kernels import: ipykernel itself (its debugger too, which imports debugpy as
# each kernel starts: about 70 ms), what a kernel imports as it starts (IPython's debugger and
# object inspector, its history's SQLite, NumPy's random numbers for the kernel's own seed: about
# 13 ms), then the packages its helpers use.
MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
           "IPython.core.debugger", "IPython.core.oinspect", "IPython.core.completerlib", "IPython.core.logger",
           "IPython.extensions.storemagic", "sqlite3", "tornado.platform.asyncio", "numpy", "numpy.random",
           "matplotlib.pyplot", "matplotlib_inline.backend_inline", "PIL.Image", "h5py", "requests", "pooch")
KERAS_MODULES = ("tensorflow", "keras")
NAMESPACES = ("net", "ipc", "uts", "cgroup", "pid", "mnt")
PLACEHOLDER_MARK = "course-kernel-placeholder"
LOCK = "alive.lock"
# The placeholder: waits for the first process that joins its sandbox (the kernel), then for it
# to end; ending, it ends the sandbox. A kernel that never comes ends it after two minutes.
PLACEHOLDER = r"""
import os, sys, time
me = os.getpid()
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
deadline = time.monotonic() + 120
kernel = None
while kernel is None:
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me))
    kernel = pids[0] if pids else None
    if kernel is None:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.005)
while alive(kernel):
    time.sleep(0.02)
"""


class ZygoteUnavailable(RuntimeError):
    """No kernel from the zygote: the kernel starts afresh instead."""


def usable(settings):
    """Whether kernels are forked from a zygote here with these ``Sandbox`` settings (see the
    module's docstring); ``Sandbox.zygote = False`` starts every kernel afresh."""
    return (settings.zygote and os.geteuid() == 0 and sandbox_mode(settings.mode) == "bwrap"
            and hasattr(socket, "send_fds"))


def modules_for(keras):
    return MODULES + (KERAS_MODULES if keras else ())


class Zygote:
    """The zygote of one class: ``with Zygote(released, env, settings, keras) as zygote:`` gives
    ``zygote.socket_path`` (None where :func:`usable` is false or it could not start);
    ``settings`` are the ``Sandbox`` settings its kernels get."""

    def __init__(self, released, env, settings, keras=False):
        self.released, self.env, self.settings, self.keras = released, env, settings, keras
        self.process = None
        self.folder = None
        self.socket_path = None

    def __enter__(self):
        if not usable(self.settings):
            return self
        self.folder = tempfile.mkdtemp(prefix="kernel-zygote-", dir=scratch.run_folder())
        os.chmod(self.folder, 0o700)
        self.socket_path = os.path.join(self.folder, "socket")
        # The grader's agent, which the zygote installs in itself: its kernels have it from their start.
        Path(self.folder, AGENT).write_text(Path(wire.__file__).read_text(encoding="utf-8"), encoding="utf-8")
        env = zygote_environment(kernel_environment(self.env))
        command = [sys.executable, "-c", SERVER.read_text(encoding="utf-8"), self.socket_path,
                   *modules_for(self.keras)]
        command = bwrap_command(command, self.released, self.folder, None, env, self.settings.limits(),
                                matplotlib_font_lists(), zygote=True)
        # Held while the zygote lives, by it alone: a kernel waits for the socket only while it is held.
        lock = os.open(os.path.join(self.folder, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True,
                                            pass_fds=[lock])
        except OSError:
            self.close()
        finally:
            os.close(lock)
        return self

    def ready(self, timeout=120):
        """Whether the zygote serves within ``timeout`` seconds (it imports first)."""
        deadline = time.monotonic() + timeout
        while self.socket_path and self.process and self.process.poll() is None:
            if os.path.exists(self.socket_path):
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return False

    def stats(self):
        """{"kernels_forked": how many kernels the zygote has forked so far, "zygote_peak_mb": its
        own peak memory}; zeros where it does not run."""
        stats = {"kernels_forked": 0, "zygote_peak_mb": 0.0}
        if not self.socket_path or not os.path.exists(self.socket_path):
            return stats
        try:
            with _connect(self.socket_path, time.monotonic() + 5) as sock:
                sock.settimeout(10)
                sock.sendall(json.dumps({"count": True}).encode())
                sock.shutdown(socket.SHUT_WR)
                answer = json.loads(sock.recv(4096).decode())
            stats.update(kernels_forked=int(answer["kernels"]), zygote_peak_mb=int(answer["peak_kib"]) / 1024)
        except (OSError, ValueError, KeyError, TypeError, ZygoteUnavailable):
            pass
        return stats

    def close(self):
        if self.process is not None:
            # Its whole process group: a zygote whose bubblewrap was stopped while it set up would
            # live on otherwise.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = self.socket_path = None

    def __exit__(self, *exc):
        self.close()


def zygote_environment(kernel_env):
    """The zygote's environment: a kernel's, less what only a running kernel reads."""
    from .zygote_server import RUN_TIME_ONLY

    return {k: v for k, v in kernel_env.items() if k not in RUN_TIME_ONLY}


def _descendants(pid):
    """The pids of the processes under ``pid``, from the lists of children /proc keeps for each
    thread (a few files, where psutil reads the state of every process of the machine); None where
    this system's /proc has no such lists."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        return None
    found, parents = [], [pid]
    while parents:
        parent = parents.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:  # ended meanwhile
            continue
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children", "rb") as children:
                    pids = [int(child) for child in children.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(pids)
            parents.extend(pids)
    return found


def _placeholder_pid(sandbox_pid, deadline):
    """The pid of the placeholder in the sandbox that bubblewrap process ``sandbox_pid`` starts,
    once it runs (its sandbox then is complete)."""
    import psutil

    while time.monotonic() < deadline:
        try:
            pids = _descendants(sandbox_pid)
            if pids is None:
                pids = [child.pid for child in psutil.Process(sandbox_pid).children(recursive=True)]
            for child in pids:
                with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                    args = cmdline.read().split(b"\0")
                if PLACEHOLDER_MARK.encode() in args and Path(os.fsdecode(args[0])).name.startswith("python"):
                    return child
        except (psutil.Error, OSError):
            pass
        if psutil.pid_exists(sandbox_pid) and psutil.Process(sandbox_pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.002)
    raise ZygoteUnavailable("the sandbox's placeholder did not start")


def _starting(path):
    """Whether the zygote of socket ``path`` still lives (and so will serve once it has imported)."""
    try:
        lock = os.open(os.path.join(os.path.dirname(path), LOCK), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False  # nobody holds it: the zygote has ended
    except BlockingIOError:
        return True
    finally:
        os.close(lock)


def _connect(path, deadline):
    """A connection to the zygote at ``path``, waiting while it imports.

    Only a missing socket is waited for: the zygote makes it once it listens. Whether it is
    missing is told by the connection's own error, never by looking again: the zygote may make it
    in between, and the socket found then would turn a zygote just ready into one that failed."""
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError as error:
            sock.close()
            if not isinstance(error, FileNotFoundError) or time.monotonic() > deadline or not _starting(path):
                raise ZygoteUnavailable(f"the zygote does not answer ({error})") from None
            time.sleep(0.02)


# Files into which the zygote writes the peak memory of each kernel it forked for
# this process, once the kernel has ended (see kernels_peak_kib).
_usage_files = []


def fork_kernel(socket_path, sandbox_pid, request, timeout=120, output=(1, 2), cgroups=()):
    """Ask the zygote at ``socket_path`` for a kernel in the sandbox of bubblewrap process
    ``sandbox_pid``, its standard output and error the file descriptors ``output``, in the control
    group whose ``cgroup.procs`` files the descriptors ``cgroups`` are (``cgroups.py``; the caller
    closes them); returns the kernel's pid, or raises :class:`ZygoteUnavailable`."""
    deadline = time.monotonic() + timeout
    placeholder = _placeholder_pid(sandbox_pid, deadline)
    usage, usage_path = tempfile.mkstemp(prefix="kernel-usage-", suffix=".json", dir=scratch.run_folder())
    fds, names = [usage], []
    try:
        for name in NAMESPACES:
            theirs = f"/proc/{placeholder}/ns/{name}"
            try:
                if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                    continue
                fds.append(os.open(theirs, os.O_RDONLY))
            except FileNotFoundError:  # a namespace this kernel does not have
                continue
            names.append(name)
        if "mnt" not in names or "pid" not in names:
            raise ZygoteUnavailable("the sandbox has no mount or pid namespace of its own")
        with _connect(socket_path, deadline) as sock:
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            message = json.dumps({**request, "namespaces": names, "cgroups": len(cgroups)}).encode()
            socket.send_fds(sock, [message], [*output, *fds, *cgroups])
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    except (OSError, ValueError) as error:
        reply = json.dumps({"error": f"the zygote could not be asked ({error})"}).encode()
    finally:
        for fd in fds:
            os.close(fd)
    try:
        answer = json.loads(reply.decode())
    except ValueError:
        answer = {"error": f"the zygote's answer is not JSON: {reply[:200]!r}"}
    if "pid" not in answer:
        os.unlink(usage_path)
        raise ZygoteUnavailable(answer.get("refused") or answer.get("error") or "no kernel")
    _usage_files.append(usage_path)
    return answer["pid"]


def kernels_peak_kib(wait=2.0):
    """The largest peak memory (KiB) of the kernels the zygote forked for this process, 0 if
    none; waits up to ``wait`` seconds for the zygote to report the last ones."""
    peak = 0
    deadline = time.monotonic() + wait
    for path in _usage_files:
        text = ""
        while True:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError:
                break
            if text or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        with contextlib.suppress(ValueError, TypeError):
            peak = max(peak, int(json.loads(text)["peak_kib"]))
        with contextlib.suppress(OSError):
            os.unlink(path)
    _usage_files.clear()
    return peak
