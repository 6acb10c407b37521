"""The memory a student's kernel holds, measured from the grader's process, outside the kernel.

A test that limits the memory a call holds at once (``check_helpers.peak_memory``) gets the
kernel's own measurement, taken with ``tracemalloc`` as a test run in the kernel takes it. The
student's code can tamper with ``tracemalloc`` there. So while the kernel runs a measured call,
this process also samples the resident memory of the kernel's processes (``/proc/<pid>/statm``:
the kernel, the sandbox around it and every process they started) every few milliseconds, and
keeps the highest sum over what it was when the request was sent. Samples can be late on a
busy machine, so the watch also asks Linux for each process's own highest resident memory
(``VmHWM``), which it resets when the watch begins (``/proc/<pid>/clear_refs``); the growth is
the larger of the two. The session takes the larger of the kernel's figure and this one, less
what the call's messages cost to cross (``Session.request``).

What this sees and what it does not:

- arrays a call fills are resident (written pages), so an array the kernel fills is seen however
  briefly it lives, by the kernel's high-water mark. In the sandbox, ``/proc`` is read-only
  (``sandbox/policy.py``), so the kernel cannot reset its own mark; a kernel run without the
  sandbox (``Sandbox.mode`` ``rlimits`` or ``off``) can (it may write its ``clear_refs``), and is
  then left to the samples, which see an array of hundreds of MiB that lives for a few
  milliseconds where the machine is not busy: filling it takes longer than a sample's gap;
- the high-water marks are per process: the growth they give is the largest of one process's
  own, so two processes that peak together are seen together only by the samples;
- the mark is Linux's too: the peak it reports for a process that has ended (``ru_maxrss``) counts
  from the last reset only, so the marks found before each reset are kept here
  (:func:`highest_mark_reset`) for whoever reports a kernel's peak;
- memory the kernel freed before the call but kept (the C allocator's free lists) is used again
  without growing, so a kernel that first grows its heap and then frees it can hide that much;
- a process the call starts counts by the pages it alone maps: what it shares with the kernel
  (a forked child) is counted once, in the kernel.
"""
import contextlib
import os
import threading

import psutil

PAGE = os.sysconf("SC_PAGE_SIZE")
INTERVAL = 0.005    # seconds between two samples
RESCAN_EVERY = 10   # samples between two looks for the processes the kernel started
# What a call's crossing costs the kernel beyond the call itself: it reads the request, decodes
# the arrays in it and encodes its answer, each a few copies of the messages' text (per
# character), and its interpreter and allocator do some work of their own (bytes).
CROSSING_PER_CHARACTER = 4
CROSSING_SLACK = 64 * 2 ** 20


_MARKS = threading.Lock()
_highest_reset = 0  # bytes: the highest mark found on a process of a kernel before it was reset


def highest_mark_reset():
    """The highest high-water mark (bytes) that a watch in this process found on a kernel's
    process before resetting it, 0 if none. A kernel's peak is the larger of this and what Linux
    reports at its end (``ru_maxrss``: since its last reset)."""
    return _highest_reset


class KernelMemory:
    """The processes of one kernel: the process ``root`` (a pid of this machine: the sandbox's
    first process, or the kernel itself where it has no sandbox), everything it started, and,
    where the sandbox has a pid namespace of its own, every process in that namespace (a kernel
    forked from the zygote is no child of the sandbox's first process, nor is a process the
    student's code detached)."""

    def __init__(self, root):
        self.root = int(root)
        self.namespace = None  # the sandbox's pid namespace, once found
        self.pids = (self.root,)
        self.older = set(self.pids)  # the processes there when the watch began
        self.marked = {}  # pid: bytes resident when its high-water mark was reset

    def rescan(self):
        found = {self.root}
        try:
            found.update(child.pid for child in psutil.Process(self.root).children(recursive=True))
        except psutil.Error:
            pass
        if self.namespace is None:
            own = _pid_namespace("self")
            self.namespace = next((ns for ns in map(_pid_namespace, found) if ns not in (None, own)), None)
        if self.namespace is not None:
            found.update(int(pid) for pid in os.listdir("/proc")
                         if pid.isdigit() and _pid_namespace(pid) == self.namespace)
        self.pids = tuple(found)

    def resident(self):
        """Bytes resident now, summed over the kernel's processes: all of a process that was
        there when the watch began, and only the pages of its own for one started since (a
        child forked from the kernel shares the kernel's pages until either writes them)."""
        total = 0
        for pid in self.pids:
            try:
                total += _resident(pid) if pid in self.older else _private(pid)
            except (OSError, ValueError, IndexError):
                pass  # a process that ended between the look and the read
        return total

    @contextlib.contextmanager
    def watch(self):
        """Sample while the block runs; yields a :class:`Watch` whose ``growth`` is, after the
        block, the most bytes resident at once beyond those resident when it began."""
        self.rescan()
        self.older = set(self.pids)
        self.marked = {pid: resident for pid in self.pids
                       if (resident := _reset_high_water_mark(pid)) is not None}
        watch = Watch(self.resident())
        done = threading.Event()

        def sample():
            count = 0
            while not done.wait(INTERVAL):
                count += 1
                if count % RESCAN_EVERY == 0:
                    self.rescan()
                watch.seen(self.resident())

        sampler = threading.Thread(target=sample, name="kernel-memory", daemon=True)
        sampler.start()
        try:
            yield watch
        finally:
            done.set()
            sampler.join()
            watch.seen(self.resident())
            watch.grew(self.highest_growth_of_one())

    def highest_growth_of_one(self):
        """The most one process whose mark was reset grew over what it held then (0 at least)."""
        growth = 0
        for pid, then in self.marked.items():
            try:
                growth = max(growth, _high_water_mark(pid) - then)
            except (OSError, ValueError):
                pass  # a process that has ended
        return growth


class Watch:
    def __init__(self, start):
        self.start = self.highest = start

    def seen(self, resident):
        self.highest = max(self.highest, resident)

    def grew(self, growth):
        self.highest = max(self.highest, self.start + growth)

    @property
    def growth(self):
        return self.highest - self.start

    def held_by_call(self, crossed):
        """The growth less what the crossing of messages of ``crossed`` characters costs: the
        most memory the call itself can have held at once, by this measurement (0 at least)."""
        return max(0, self.growth - CROSSING_PER_CHARACTER * crossed - CROSSING_SLACK)


def _resident(pid):
    with open(f"/proc/{pid}/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def _reset_high_water_mark(pid):
    """Resets the highest resident memory Linux keeps for process ``pid`` to what it holds now,
    and returns that; None where it cannot be reset (another user's process, an old kernel, a
    process that has ended): its mark then says nothing about the watch."""
    global _highest_reset
    try:
        mark = _high_water_mark(pid)
        with open(f"/proc/{pid}/clear_refs", "wb", buffering=0) as clear_refs:
            clear_refs.write(b"5")
        with _MARKS:
            _highest_reset = max(_highest_reset, mark)
        return _resident(pid)
    except (OSError, ValueError, IndexError):
        return None


def _high_water_mark(pid):
    with open(f"/proc/{pid}/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"process {pid} has no VmHWM")


def _private(pid):
    """Bytes of the resident pages that process ``pid`` alone maps."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
        for line in rollup:
            if line.startswith((b"Private_Clean:", b"Private_Dirty:")):
                total += int(line.split()[1]) * 1024
    return total


def _pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def of_kernel_manager(km):
    """The :class:`KernelMemory` of the kernel that ``km`` (a jupyter_client kernel manager)
    started, or None where its process is not known here."""
    pid = getattr(getattr(getattr(km, "provisioner", None), "process", None), "pid", None)
    return KernelMemory(pid) if isinstance(pid, int) and pid > 0 else None
