"""A control group per kernel: one limit on the memory of its whole sandbox, tmpfs included, and
one share of the processors for all its processes.

The address-space limit (``RLIMIT_AS``, ``Sandbox.memory_mb``) applies to each process on its
own, and the sandbox's ``/tmp`` and working folder are tmpfs, whose files are memory that no
process's limit counts. A kernel that starts a few processes, each under the limit, and fills its
tmpfs holds several times ``memory_mb`` of the machine's memory. A control group counts all of it:
every process the kernel's sandbox starts is in the group, and the pages a process of the group
writes to a tmpfs are charged to the group.

Each kernel gets a group of its own (:func:`kernel_group`), made below the grader's own group:

- memory: ``memory_mb`` for everything the sandbox holds (its processes' memory, the files of its
  ``/tmp`` and working folder, the page cache of what it reads), no swap beyond it; past it, the
  machine's OOM killer stops the largest process of the group, and only of the group;
- processes: ``Sandbox.processes`` tasks (processes and threads), bubblewrap's own included;
- processors (the ``cpu`` controller, where there is one): the kernel's processes share one
  group's weight, the same as each other kernel's. Without it the scheduler shares the cores among
  processes, so a kernel that starts hundreds of busy processes takes nearly all of them: 900
  made a classmate's a01 graded beside it take 91 s instead of 2.3 s, and a longer notebook
  would have reached its time limit and lost its points.

The group is entered before the sandbox starts (:meth:`KernelGroup.prefix`, a shell that writes its
pid into the group and runs the sandbox's command) and, for a kernel forked from the zygote,
by the kernel itself before anything of the student's runs (``zygote_server.py``: a descriptor
of each group's ``cgroup.procs`` travels with the request). It is removed when the kernel ends
(:meth:`KernelGroup.remove`, which first kills anything left in it).

Where groups are made (``Sandbox.cgroup``): ``auto`` looks for a hierarchy this process may
write to: cgroup v2 where the grader's own group delegates the memory controller to groups below
it (or can: the root group, a group without processes), else the cgroup v1 ``memory`` hierarchy
(and ``pids``, where mounted). A path names a cgroup v2 folder, delegated to the grader, whose
``cgroup.subtree_control`` enables ``memory`` (and ``pids``). ``off``, or nothing usable: no
group, the limits of ``policy.resource_limits`` alone; :func:`problem` says why, and the harness
says it once in its log.
"""
import contextlib
import functools
import itertools
import os
import signal
import time
from pathlib import Path

PREFIX = "course-kernel-"
MIB = 1024 * 1024
# Writes its own pid into each cgroup.procs given before "--", then runs what follows "--".
ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"'
_counter = itertools.count()


class Hierarchy:
    """Where this process makes kernel groups: ``version`` 1 or 2, the folder below which memory
    groups are made, and those of pids and cpu groups (the same one on v2; None where there is none)."""

    def __init__(self, version, memory, pids, cpu=None):
        self.version, self.memory = version, Path(memory)
        self.pids, self.cpu = (Path(pids) if pids else None), (Path(cpu) if cpu else None)

    def folders(self):
        """The folders below which one kernel's groups are made: memory's first, each once."""
        return list(dict.fromkeys(f for f in (self.memory, self.pids, self.cpu) if f is not None))

    def __repr__(self):
        others = [str(f) for f in self.folders()[1:]]
        return f"cgroup v{self.version} at {self.memory}" + (f" and {', '.join(others)}" if others else "") + (
            "" if self.cpu else " (no cpu controller)")


def _mounts():
    """[(mount point, file system type, super options)] of this process's mounts."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            rest = fields[fields.index("-") + 1:]
            found.append((fields[4].replace("\\040", " "), rest[0], rest[2] if len(rest) > 2 else ""))
    return found


def _own_groups():
    """{controller (or "" for v2): this process's group path}."""
    groups = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                groups[name] = path
    return groups


def _probe(folder, files):
    """Whether a group can be made in ``folder`` with ``files`` ({name: value} of its limit
    files) written."""
    probe = folder / f"{PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        for name, value in files.items():
            (probe / name).write_text(value)
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _v2_at(folder):
    """A :class:`Hierarchy` below cgroup v2 folder ``folder``, enabling its memory and pids
    controllers for the groups below where they are not yet; None where memory cannot be."""
    try:
        available = (folder / "cgroup.controllers").read_text().split()
        enabled = (folder / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    wanted = [name for name in ("memory", "pids", "cpu") if name in available and name not in enabled]
    for name in wanted:
        with contextlib.suppress(OSError):
            (folder / "cgroup.subtree_control").write_text(f"+{name}\n")
    with contextlib.suppress(OSError):
        enabled = (folder / "cgroup.subtree_control").read_text().split()
    if "memory" not in enabled or not _probe(folder, {"memory.max": "max"}):
        return None
    return Hierarchy(2, folder, folder if "pids" in enabled else None, folder if "cpu" in enabled else None)


def _find(setting):
    """(:class:`Hierarchy` or None, why there is none)."""
    if setting == "off":
        return None, "Sandbox.cgroup is off"
    if setting != "auto":
        found = _v2_at(Path(setting))
        return (found, "") if found else (None, f"Sandbox.cgroup {setting}: not a cgroup v2 folder whose "
                                                "groups below this process may make with the memory controller")
    mounts = _mounts()
    own = _own_groups()
    for point, kind, _ in mounts:
        if kind == "cgroup2" and "" in own:
            found = _v2_at(Path(point + own[""]))
            if found:
                return found, ""
    v1 = {}
    for point, kind, options in mounts:
        if kind == "cgroup":
            for name in ("memory", "pids", "cpu"):
                if name in options.split(",") and name in own:
                    v1[name] = Path(point + own[name])
    if "memory" in v1 and _probe(v1["memory"], {"memory.limit_in_bytes": "-1"}):
        pids, cpu = v1.get("pids"), v1.get("cpu")
        return Hierarchy(1, v1["memory"], pids if pids and _probe(pids, {"pids.max": "max"}) else None,
                         cpu if cpu and _probe(cpu, {"cpu.shares": "1024"}) else None), ""
    why = "no cgroup hierarchy with a memory controller this process may make groups in"
    if os.geteuid() != 0:
        why += " (the grader is not root: delegate a cgroup v2 folder to it and name it in Sandbox.cgroup)"
    return None, why


@functools.lru_cache(maxsize=None)
def _found(setting):
    found = _find(setting)
    if found[0] is not None:
        _remove_stale(found[0])
    return found


def hierarchy(setting="auto"):
    """The :class:`Hierarchy` kernel groups are made in with ``Sandbox.cgroup`` = ``setting``, or
    None (found once per process)."""
    return _found(setting)[0]


def problem(setting="auto"):
    """Why kernels get no control group here, or '' when they do."""
    return _found(setting)[1]


def describe(setting="auto"):
    """One line on the control group a kernel gets here."""
    found = hierarchy(setting)
    if found is None:
        return f"no control group per kernel ({problem(setting)}): memory limited per process only, tmpfs not counted"
    return (f"a control group per kernel ({found!r}): memory of its processes and tmpfs together, processes"
            + (", one share of the processors" if found.cpu else ""))


def _remove_stale(found):
    """Remove the empty groups left by a grader process that has ended (killed before it removed them)."""
    for folder in found.folders():
        with contextlib.suppress(OSError):
            for group in folder.glob(f"{PREFIX}*"):
                owner = group.name[len(PREFIX):].split("-", 1)[0]
                if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                    with contextlib.suppress(OSError):
                        group.rmdir()


class KernelGroup:
    """The control group of one kernel (its folders: one on v2, memory and pids on v1)."""

    def __init__(self, found, folders):
        self.hierarchy, self.folders = found, folders

    def procs_files(self):
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def prefix(self):
        """The command prefix that runs a command in the group."""
        return ["/bin/sh", "-c", ENTER, "sh", *self.procs_files(), "--"]

    def open_procs(self):
        """Descriptors of the group's ``cgroup.procs`` files, for a process that enters itself
        (writing "0") where it cannot see them (``zygote_server.py``); the caller closes them."""
        return [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in self.procs_files()]

    def memory_folder(self):
        return self.folders[0]

    def oom_kills(self):
        """How many processes of the group the OOM killer stopped for its memory limit."""
        folder = self.memory_folder()
        name = "memory.events" if self.hierarchy.version == 2 else "memory.oom_control"
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self):
        found = set()
        for path in self.procs_files():
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in Path(path).read_text().split())
        return found

    def remove(self, timeout=5.0):
        """Remove the group, killing what is left in it first; True when it is gone."""
        deadline = time.monotonic() + timeout
        killed = False
        while True:
            for folder in self.folders:
                with contextlib.suppress(FileNotFoundError):
                    try:
                        folder.rmdir()
                    except OSError:
                        pass
            if not any(folder.exists() for folder in self.folders):
                return True
            if time.monotonic() > deadline:
                return False
            if not killed:  # what the kernel left: its sandbox has ended, so it ends too
                kill = self.memory_folder() / "cgroup.kill"
                try:
                    kill.write_text("1\n")
                except OSError:
                    for pid in self.pids():
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.01)


def kernel_group(limits, setting="auto"):
    """A new :class:`KernelGroup` with the limits ``limits`` (``Sandbox.limits()``): memory
    ``memory_mb`` (none where 0), ``processes`` tasks; None where there is no hierarchy or it
    could not be made (the kernel then has its resource limits only)."""
    found = hierarchy(setting)
    if found is None:
        return None
    name = f"{PREFIX}{os.getpid()}-{next(_counter)}-{os.urandom(3).hex()}"
    folders = [folder / name for folder in found.folders()]
    group = KernelGroup(found, [])
    try:
        for folder in folders:
            folder.mkdir()
            group.folders.append(folder)
        memory = folders[0]
        if limits.get("memory_mb"):
            size = str(limits["memory_mb"] * MIB)
            if found.version == 2:
                (memory / "memory.max").write_text(size)
                with contextlib.suppress(OSError):  # no swap beyond the limit (absent without swap)
                    (memory / "memory.swap.max").write_text("0")
            else:
                (memory / "memory.limit_in_bytes").write_text(size)
                with contextlib.suppress(OSError):  # memory and swap together (absent without swap accounting)
                    (memory / "memory.memsw.limit_in_bytes").write_text(size)
        if found.pids is not None:
            (found.pids / name / "pids.max").write_text(str(limits["processes"]))
    except OSError:
        group.remove(timeout=1)
        return None
    return group
