"""The memory of a kernel's processes, measured from outside the kernel (autograder/decisions/kernel_memory.py)."""
import os
import subprocess
import sys
import time

import psutil
import pytest

from autograder.decisions import kernel_memory
from autograder.decisions.kernel_memory import KernelMemory
from autograder.sandbox import policy as sandbox

MiB = 2 ** 20
# Waits for a line on stdin, then fills MIB MiB, holds them 50 ms, frees them and says "done".
FILLS = """
import sys, time
import numpy as np
MIB = int(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
block = np.ones(MIB * 2 ** 20 // 8)
time.sleep(0.05)
del block
print("done", flush=True)
time.sleep(60)
"""


def start(command):
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def growth_while_it_fills(memory, process):
    with memory.watch() as watch:
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "done"
    return watch.growth


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_an_array_the_process_fills_for_50_ms_is_seen_and_an_idle_process_grows_nothing(processes):
    process = start([sys.executable, "-c", FILLS, "300"])
    processes.append(process)
    memory = KernelMemory(process.pid)
    assert 295 * MiB <= growth_while_it_fills(memory, process) < 330 * MiB
    with memory.watch() as watch:
        time.sleep(0.2)
    assert watch.growth < 8 * MiB


def test_the_high_water_mark_sees_what_no_sample_saw(processes, monkeypatch):
    # as on a machine so busy that the sampler never runs while the array lives
    monkeypatch.setattr(kernel_memory, "INTERVAL", 60)
    process = start([sys.executable, "-c", FILLS, "300"])
    processes.append(process)
    memory = KernelMemory(process.pid)
    assert 295 * MiB <= growth_while_it_fills(memory, process) < 330 * MiB
    assert set(memory.marked) == {process.pid}
    # the mark is reset when a watch begins: the 300 MiB the process held before are not growth,
    # and the mark found before the reset is kept, for the kernel's peak (Linux's counts from
    # the reset on)
    monkeypatch.setattr(kernel_memory, "_highest_reset", 0)
    with memory.watch() as watch:
        pass
    assert watch.growth < 8 * MiB
    assert kernel_memory.highest_mark_reset() >= 295 * MiB


def test_a_process_whose_mark_cannot_be_reset_is_left_to_the_samples(processes, monkeypatch):
    monkeypatch.setattr(kernel_memory, "INTERVAL", 60)
    monkeypatch.setattr(kernel_memory, "_reset_high_water_mark", lambda pid: None)
    process = start([sys.executable, "-c", FILLS, "300"])
    processes.append(process)
    memory = KernelMemory(process.pid)
    assert growth_while_it_fills(memory, process) < 8 * MiB
    assert memory.marked == {}


def test_the_processes_the_kernel_started_count_too(processes):
    # the watched process only waits; its child, started before the watch, fills the memory
    parent = start([sys.executable, "-c", "import subprocess, sys\n"
                    f"child = subprocess.Popen([sys.executable, '-c', {FILLS!r}, '200'])\n"
                    "child.wait()"])
    processes.append(parent)
    memory = KernelMemory(parent.pid)
    assert 195 * MiB <= growth_while_it_fills(memory, parent) < 230 * MiB


# Holds 300 MiB; on a line on stdin, forks a child that fills MIB MiB (0: nothing) for 1 s: a
# process started during the watch is seen only by the samples (it has no mark reset before),
# which come late on a busy machine.
FORKS = """
import os, sys, time
import numpy as np
MIB = int(sys.argv[1])
held = np.ones(300 * 2 ** 20 // 8)
print("ready", flush=True)
sys.stdin.readline()
child = os.fork()
if child == 0:
    block = np.ones(MIB * 2 ** 20 // 8) if MIB else None
    time.sleep(1)
    os._exit(0)
os.waitpid(child, 0)
print("done", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("fills", [0, 200])
def test_a_child_forked_during_the_call_counts_by_the_pages_of_its_own(processes, fills):
    # the 300 MiB it shares with its parent are the parent's, counted once, before the call
    process = start([sys.executable, "-c", FORKS, str(fills)])
    processes.append(process)
    growth = growth_while_it_fills(KernelMemory(process.pid), process)
    assert fills * MiB <= growth < (fills + 16) * MiB


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_a_process_of_the_sandbox_that_is_no_child_of_its_first_process_counts(processes):
    # as the zygote's kernels are: made in the sandbox's pid namespace from outside it (nsenter)
    if os.geteuid() != 0:
        pytest.skip("only root may join another process's pid namespace")
    if sandbox.sandbox_mode("bwrap") != "bwrap":
        pytest.skip(f"bubblewrap cannot run here: {sandbox.bwrap_problem()}")
    bwrap = subprocess.Popen(["bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--die-with-parent",
                              sys.executable, "-c", "import time; time.sleep(60)"])
    processes.append(bwrap)
    memory = KernelMemory(bwrap.pid)
    deadline = time.monotonic() + 10
    while memory.namespace is None and time.monotonic() < deadline:
        memory.rescan()
        time.sleep(0.05)
    inner = next(pid for pid in memory.pids if pid != bwrap.pid)
    joined = start(["nsenter", "--target", str(inner), "--pid", "--", sys.executable, "-c", FILLS, "200"])
    processes.append(joined)
    assert bwrap.pid not in {parent.pid for parent in psutil.Process(joined.pid).parents()}
    assert 195 * MiB <= growth_while_it_fills(memory, joined) < 230 * MiB


def test_a_calls_own_memory_is_its_growth_less_what_the_crossing_of_its_messages_costs():
    watch = kernel_memory.Watch(100 * MiB)
    watch.seen(900 * MiB)
    watch.seen(400 * MiB)
    assert watch.growth == 800 * MiB
    crossed = 10 * MiB
    assert watch.held_by_call(crossed) == (800 * MiB - kernel_memory.CROSSING_PER_CHARACTER * crossed
                                           - kernel_memory.CROSSING_SLACK)
    assert watch.held_by_call(10 ** 9) == 0


def test_a_kernel_manager_without_a_process_gives_nothing_to_watch():
    assert kernel_memory.of_kernel_manager(object()) is None
