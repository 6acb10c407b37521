"""A grading cluster on this machine, of ``dask scheduler`` and ``dask worker`` processes started
as the README's "Grading on a cluster" says, on 127.0.0.1: for the cluster's tests and benchmarks.

Each process starts from ``course`` (with it on ``PYTHONPATH`` and the course's preload). As root,
each sees the course read-only, as a shared file system would give it: a mount namespace of its
own where the course is bound read-only. With ``worker_users``, worker ``i`` runs as uid
``WORKER_UID + i`` (no groups, no privileges), with a scratch folder of its own: its ``HOME`` and
``TMPDIR``, mode 0700.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..course import COURSE_ROOT

DASK = Path(sys.executable).parent / "dask"
PRELOAD = ["--preload", "autograder.cluster.preload"]
WORKER_UID = 62000  # the first worker's, when each is a user of its own (no /etc/passwd entry needed)


def read_only(course, command):
    """``command`` run in a mount namespace of its own where ``course`` is bound read-only (root)."""
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(course), *command]


def readable_by_others(paths):
    """bwrap arguments that let a user without privileges read ``paths`` where a folder above one
    is closed to others (Python installed under /root, pytest's temporary folders): in the
    process's mount namespace, that folder is an empty one holding only such paths, read-only."""
    closed, made, bound = set(), {}, []
    for path in sorted({Path(p).resolve() for p in paths}):
        above = list(reversed(path.parents))  # from / down
        for depth, folder in enumerate(above):
            if not folder.stat().st_mode & 0o001:
                closed.add(folder)
                made.update(dict.fromkeys(above[depth + 1:]))  # bwrap would copy their closed modes
                bound.append(path)
                break
    args = [arg for folder in sorted(closed, key=lambda f: len(f.parts)) for arg in ("--tmpfs", str(folder))]
    args += [arg for folder in made for arg in ("--perms", "0755", "--dir", str(folder))]
    return args + [arg for path in bound for arg in ("--ro-bind", str(path), str(path))]


def as_user(uid, course, readable, command):
    """``command`` run as ``uid`` (no groups), where ``course`` is bound read-only and what it
    needs to read (Python, the course, the ``readable`` paths) is reachable."""
    python = (sys.prefix, sys.base_prefix, Path(sys.executable).resolve().parent.parent)
    return ["bwrap", "--dev-bind", "/", "/", *readable_by_others([*python, course, *readable]),
            "--ro-bind", str(course), str(course), "setpriv", f"--reuid={uid}", f"--regid={uid}",
            "--clear-groups", "--", *command]


class LocalCluster:
    """The scheduler and ``workers`` workers, started (``address``), and :meth:`stop`-ped.

    ``data`` is the data cache; ``shared`` are the folders users' workers read besides the course
    and the data cache (the submissions); ``harness_importable=False`` starts them without the
    course on ``PYTHONPATH`` and without the preload, as an operator who missed that step would;
    ``nanny=False`` gives ``--no-nanny``. ``self.scratch[i]`` is worker ``i``'s scratch folder.
    ``tls`` = (CA certificate, certificate, key), PEM files: the scheduler and workers require TLS
    with certificates that CA signed (``--tls-ca-file --tls-cert --tls-key``), and :meth:`client`
    connects with that certificate; ``address`` is then ``tls://...``."""

    def __init__(self, logs, data, workers=1, course=COURSE_ROOT, harness_importable=True, worker_users=False,
                 shared=(), nanny=True, tls=None):
        self.course, self.logs, self.address = Path(course), Path(logs), None  # the scheduler's, once it is up
        self.tls = tuple(str(Path(path).absolute()) for path in tls) if tls else None
        tls_options = ["--tls-ca-file", self.tls[0], "--tls-cert", self.tls[1], "--tls-key", self.tls[2]] if tls else []
        self.scratch, self._scratch_top, self.processes, self._client = [], None, [], None
        self.env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "COURSE_DATA_DIR": str(data)}
        if harness_importable:
            self.env["PYTHONPATH"] = str(course)
        preload = PRELOAD if harness_importable else []
        self.logs.mkdir(parents=True, exist_ok=True)
        sandboxed = os.geteuid() == 0
        try:
            # Port 0: the scheduler takes a free port as it binds, and says which in its log (a port
            # found free here and bound later could be taken by another process meanwhile).
            scheduler = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", *preload,
                         *tls_options, *(["--protocol", "tls"] if tls else [])]
            self._start("scheduler", read_only(course, scheduler) if sandboxed else scheduler)
            self._wait_for_scheduler()
            if worker_users:
                self._scratch_top = Path(tempfile.mkdtemp(prefix="cluster-workers-"))
                self._scratch_top.chmod(0o755)
            for index in range(workers):
                command = [str(DASK), "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                           "--name", f"grader-{index}", *preload, *([] if nanny else ["--no-nanny"]), *tls_options]
                if worker_users:
                    uid, scratch = WORKER_UID + index, self._scratch_top / f"worker-{index}"
                    scratch.mkdir(mode=0o700)
                    os.chown(scratch, uid, uid)
                    self.scratch.append(scratch)
                    env = {**self.env, "HOME": str(scratch), "TMPDIR": str(scratch), "USER": f"grader-{index}",
                           "LOGNAME": f"grader-{index}"}
                    readable = [data, *shared, *(self.tls or ())]
                    self._start(f"worker-{index}", as_user(uid, course, readable, command), env)
                else:
                    self._start(f"worker-{index}", read_only(course, command) if sandboxed else command)
            self.client().wait_for_workers(workers, timeout=120)
        except BaseException:
            self.stop()
            raise

    def _start(self, name, command, env=None):
        with open(self.logs / f"{name}.log", "w", encoding="utf-8") as log:  # the process keeps its own copy
            self.processes.append(subprocess.Popen(command, cwd=self.course, env=env or self.env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))

    def _wait_for_scheduler(self):
        """Wait until the scheduler says its address in its log, and keep it (``address``)."""
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Scheduler at:\s+((?:tcp|tls)://\S+)", self.log("scheduler"))):
            if self.processes[0].poll() is not None:
                raise RuntimeError(f"the scheduler stopped:\n{self.log('scheduler')}")
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start within 60 s")
            time.sleep(0.2)
        self.address = found.group(1)

    def client(self):
        from distributed import Client

        if self._client is None:
            self._client = Client(self.address, timeout=60, security=self.security())
        return self._client

    def security(self):
        """The ``distributed.security.Security`` of a client of this cluster: None without TLS."""
        if not self.tls:
            return None
        from distributed.security import Security

        return Security(tls_ca_file=self.tls[0], tls_client_cert=self.tls[1], tls_client_key=self.tls[2],
                        require_encryption=True)

    def log(self, name):
        return (self.logs / f"{name}.log").read_text(encoding="utf-8")

    def stop(self):
        if self._client is not None:
            self._client.close()
            self._client = None
        for process in reversed(self.processes):  # the sessions these commands started, by their id
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._scratch_top is not None:
            shutil.rmtree(self._scratch_top, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
