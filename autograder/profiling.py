"""Where grading time goes, stage by stage: off unless ``Grading.profile`` names a file.

Each stage timed with :func:`stage` appends one JSON line to that file: the stage, the student,
when it started (seconds since the epoch, the same clock in every process of the machine), its
wall seconds, the CPU seconds of the process that timed it, and the CPU seconds of the whole
machine meanwhile (``/proc/stat``). On a machine that grades one submission at a time and does
nothing else, the machine's CPU less the timing process's is the other processes' of that stage:
the student's kernel, or the nbgrader process a worker waits for. ``benchmarks/profile_grading.py``
grades classes this way and prints the table; ``benchmarks/grading_timeline.py`` grades one
with its workers side by side and prints when each submission ran.
"""
import contextlib
import json
import os
import time

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu():
    """CPU seconds the whole machine has spent since it started (0.0 where /proc/stat is missing)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            values = [int(v) for v in handle.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    idle = sum(values[3:5])  # idle, iowait
    return (sum(values) - idle) / _TICK


@contextlib.contextmanager
def stage(path, name, student=""):
    """Time the block as stage ``name`` into the profile file ``path`` (nothing when it is empty)."""
    if not path:
        yield
        return
    started, wall, cpu, machine = time.time(), time.monotonic(), time.process_time(), machine_cpu()
    try:
        yield
    finally:
        record = {"stage": name, "student": student, "start": started, "wall_s": time.monotonic() - wall,
                  "cpu_s": time.process_time() - cpu, "machine_cpu_s": machine_cpu() - machine, "pid": os.getpid()}
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(handle, (json.dumps(record) + "\n").encode("utf-8"))
        finally:
            os.close(handle)
