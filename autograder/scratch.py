"""The grader's scratch space on this machine: one folder per run, removed however the run ends.

Everything a run writes outside the course (the workers' scratch courses, each kernel's folder
for its sockets) lives in the run's folder, ``<tmp>/course-autograder-<uid>/run-<pid>-<random>/``.
The run holds a lock on it (``flock`` of its ``lock`` file) for as long as it lives; a folder
whose lock nobody holds belongs to a run that ended without cleaning up (killed, SIGKILL
included), and the next run removes it before it starts (:func:`clear_stale_runs`).

The top folder is the grader's (mode 0755, owned by the grader's user). A folder of that name
that is anything else (a link, another account's: on a shared machine another account can make
it first in /tmp) is never used: the run then works in a top folder of its own with a name
nobody can guess, made 0700 and removed when the run ends, and says so.
"""
import atexit
import contextlib
import fcntl
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

TOP = f"course-autograder-{os.geteuid()}"  # each user's own: another's is never used
LOCK = "lock"
FRESH = 5  # seconds: a run folder younger than this is never taken for a dead run's
SOCKET_PATH_MAX = 107  # bytes in a Unix socket's address (sockaddr_un.sun_path, less its NUL)
SHORT_BASE = "/tmp"  # for kernel sockets where the temporary folder's path is too long for them
_mine = {}  # (pid, top folder) -> the run folder of this process there (a forked child makes its own)
_instead = {}  # base folder -> (the pid that made it, a top folder of this run's own), where TOP is not ours
INSTEAD_VARIABLE = "COURSE_SCRATCH_TOP"  # that folder, for the processes the run starts
_guard = threading.Lock()


def _ours(path):
    """Whether ``path`` is a real folder of this user that others cannot write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def top_folder(base=None):
    """``<base or tmp>/course-autograder-<uid>``, made if missing, where it is a real folder of
    ours; else a top folder of this run's own in ``base`` (see the module's docstring)."""
    base = Path(base or tempfile.gettempdir())
    top = base / TOP
    with contextlib.suppress(FileExistsError):
        os.mkdir(top, 0o755)
    if _ours(top):
        return top
    given = os.environ.get(INSTEAD_VARIABLE, "")  # the run's processes use the folder it made
    if given and Path(given).parent == base and Path(given).name.startswith(f"{TOP}-") and _ours(given):
        return Path(given)
    with _guard:
        if str(base) not in _instead:  # a forked child uses its parent's
            instead = Path(tempfile.mkdtemp(prefix=f"{TOP}-", dir=base))
            _instead[str(base)] = (os.getpid(), instead)
            os.environ[INSTEAD_VARIABLE] = str(instead)
            atexit.register(_remove_own_top, str(base))
            print(f"warning: {top} is not a folder of this user that others cannot write (another account's?): "
                  f"this run works in {instead} instead", file=sys.stderr)
        return _instead[str(base)][1]


def _remove_own_top(base):
    made_by, folder = _instead.get(base, (None, None))
    if made_by == os.getpid():
        shutil.rmtree(folder, ignore_errors=True)


def run_folder(base=None):
    """This process's run folder (made, and locked, on first use)."""
    top = top_folder(base)
    with _guard:
        folder = _mine.get((os.getpid(), top))
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=top))
            handle = os.open(folder / LOCK, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(handle, fcntl.LOCK_EX)  # held until this process ends
            if not any(pid == os.getpid() for pid, _ in _mine):
                atexit.register(remove_run_folder)  # at a normal end; after a kill, the next run does it
            _mine[(os.getpid(), top)] = folder
        return folder


def remove_run_folder():
    """Remove this process's run folder now (it goes by itself at the next run otherwise)."""
    with _guard:
        folders = [_mine.pop(key) for key in list(_mine) if key[0] == os.getpid()]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def clear_stale_runs(base=None):
    """Remove the run folders that no living run holds; returns how many were removed."""
    removed = 0
    top = top_folder(base)
    for folder in top.iterdir():
        if not folder.name.startswith("run-") or folder in _mine.values() or _age(folder) < FRESH:
            continue  # ours, or so new that its run may not have locked it yet
        try:
            handle = os.open(folder / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # no lock file: a run that broke while it was made
            handle = None
        try:
            if handle is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a living run holds it
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        finally:
            if handle is not None:
                os.close(handle)
    return removed


def _age(path):
    try:
        return time.time() - os.lstat(path).st_mtime
    except OSError:
        return 0.0


class SocketFolder:
    """A folder for a kernel's sockets, which the sandbox binds at the same path.

    It is the grader's, in the run folder. While the kernel starts it is open to all with the
    sticky bit (the kernel, a user of its own, makes its sockets there; nobody may remove or
    rename another's entries); once the kernel is up, :meth:`lock` makes it the grader's alone
    (0755), before any code of the student runs: from then on the kernel can add, replace or
    fill nothing there. Modes are set through a descriptor of the folder, never by path.
    """

    # The longest name of a socket made in the folder: the test cells' agent's (decisions/cell.py,
    # AGENT_SOCKET); the kernel's own are shorter (kernel-N).
    SUFFIX = len("/agent-0123456789ab.sock")

    def __init__(self, base=None):
        parent = run_folder(base)
        if len(os.fsencode(parent)) + len("/k-xxxxxxxx") + self.SUFFIX > SOCKET_PATH_MAX:
            parent = run_folder(SHORT_BASE)  # a deep temporary folder: the sockets' paths must stay short
        self.path = tempfile.mkdtemp(prefix="k-", dir=parent)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        os.fchmod(self.fd, 0o1777)

    def lock(self):
        if self.fd is not None:
            os.fchmod(self.fd, 0o755)

    def remove(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        shutil.rmtree(self.path, ignore_errors=True)
