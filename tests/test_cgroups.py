"""A control group per kernel (autograder/sandbox/cgroups.py): the memory of the kernel's whole
sandbox, its processes and its tmpfs files together, is limited to Sandbox.memory_mb; the group
goes when the kernel does; without one, the grader says so once and grades with the rlimits.

The kernels here hold under 1 GiB of the machine's memory each."""
import os
import time
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync

from autograder import grading
from autograder.sandbox import cgroups, zygote
from autograder.sandbox.policy import bwrap_problem, sandbox_mode
from autograder.settings import Sandbox
from test_sandbox import _start

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "release" / "a01_santa_logreg"
MEMORY_MB = 768  # less, and a kernel started afresh cannot start in its address space
# Three processes of 300 MiB each: each far under the address-space limit, together over the group's.
CHILDREN = """
import subprocess, sys
children = [subprocess.Popen([sys.executable, "-c", "import time; a = bytearray(300 * 2**20); time.sleep(5)"])
            for _ in range(3)]
print("exits", sorted(c.wait() for c in children))
"""
# A process that writes 900 MiB to the sandbox's /tmp (a tmpfs of 1 GiB), 1 MiB at a time, in two
# files (each under the file size limit, Sandbox.file_mb).
FILLS_TMP = """
import os, subprocess, sys
writer = subprocess.run([sys.executable, "-c", '''
for name in ("/tmp/filler-1", "/tmp/filler-2"):
    with open(name, "wb") as f:
        for _ in range(450):
            f.write(b"x" * 2**20)
            f.flush()
'''])
print("writer", writer.returncode, "size", sum(os.path.getsize(f"/tmp/{n}") for n in os.listdir("/tmp")) >> 20)
"""


def _skip_without_group():
    if sandbox_mode("bwrap") != "bwrap":
        pytest.skip(f"bubblewrap cannot run here: {bwrap_problem()}")
    if cgroups.hierarchy() is None:
        pytest.skip(f"no control group can be made here: {cgroups.problem()}")


@pytest.fixture()
def folder(monkeypatch, tmp_path):
    monkeypatch.setenv("NBGRADER_DB_URL", "sqlite:///secret.db")
    made = tmp_path / "autograded" / "student" / "a01_santa_logreg"
    made.mkdir(parents=True)
    return made


@pytest.fixture(params=["fresh", "forked"])
def settings(request, folder):
    """The Sandbox settings of a kernel started afresh by bubblewrap, or forked from the zygote."""
    _skip_without_group()
    chosen = dict(mode="bwrap", released=str(RELEASED), memory_mb=MEMORY_MB)
    if request.param == "fresh":
        yield {**chosen, "zygote": False}
        return
    if not zygote.usable(Sandbox()):
        pytest.skip("kernels are forked only as root with bubblewrap")
    with zygote.Zygote(str(RELEASED), dict(os.environ), Sandbox()) as started:
        assert started.ready(), "the zygote did not start"
        yield {**chosen, "zygote": True, "zygote_socket": started.socket_path}


def run(km, kc, code, timeout=60):
    """(stdout of ``code`` in the kernel, whether it answered: False where it died)."""
    from queue import Empty

    lines = []
    msg_id = kc.execute(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except Empty:
            if not run_sync(km.is_alive)():
                return "".join(lines), False
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            lines.append(msg["content"]["text"])
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(lines), True
    return "".join(lines), False


def stop(km, kc):
    kc.stop_channels()
    run_sync(km.shutdown_kernel)(now=True)


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
@pytest.mark.needs_cgroup
def test_processes_each_under_the_limit_that_together_exceed_it_are_stopped_and_the_group_goes(folder, settings):
    km, kc = _start(folder, **settings)
    group = km._group
    try:
        assert group is not None
        text, answered = run(km, kc, CHILDREN)
        assert km.stopped_for_memory(), text
        # the OOM killer stopped the largest process of the group: a child (the kernel goes on) or the kernel
        assert ("-9" in text) if answered else True, text
        peak = group.memory_folder() / "memory.max_usage_in_bytes"
        if peak.exists():
            assert int(peak.read_text()) <= MEMORY_MB * cgroups.MIB
    finally:
        stop(km, kc)
    assert km._group is None
    assert not any(folder.exists() for folder in group.folders), "the kernel's group outlived it"


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
@pytest.mark.needs_cgroup
def test_a_kernels_processes_share_one_group_of_the_processors(folder, settings):
    """Hundreds of busy processes started by one kernel took the cores from the kernels graded
    beside it (the scheduler shares them among processes); in one group they share one weight
    (benchmarks/cpu_fairness.py measures it)."""
    if cgroups.hierarchy().cpu is None:
        pytest.skip("no cpu controller to make groups in here")
    km, kc = _start(folder, **settings)
    try:
        text, answered = run(km, kc, "import subprocess, sys\nbusy = [subprocess.Popen([sys.executable, '-c', "
                                     "'import time; time.sleep(30)']) for _ in range(3)]\nprint('started', len(busy))")
        assert answered and "started 3" in text, text
        cpu = next(f for f in km._group.folders if f.parent == cgroups.hierarchy().cpu)
        in_cpu, in_memory = ({int(pid) for pid in (group / "cgroup.procs").read_text().split()}
                             for group in (cpu, km._group.memory_folder()))
        assert len(in_cpu) >= 4 and in_cpu == in_memory  # the kernel, its three children (and bubblewrap's)
    finally:
        stop(km, kc)
    assert not cpu.exists()


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
@pytest.mark.needs_cgroup
def test_what_the_kernel_writes_to_its_tmpfs_counts(folder):
    _skip_without_group()
    km, kc = _start(folder, mode="bwrap", zygote=False, released=str(RELEASED), memory_mb=MEMORY_MB, tmp_mb=1024)
    group = km._group
    try:
        text, answered = run(km, kc, FILLS_TMP)
        assert km.stopped_for_memory(), text
        if answered:  # the writer was stopped before it had written its 900 MiB
            words = text.split()
            assert words[1] != "0" and int(words[3]) < MEMORY_MB, text
    finally:
        stop(km, kc)
    assert not any(folder.exists() for folder in group.folders), "the kernel's group outlived it"


def test_with_cgroup_off_a_kernel_runs_with_its_rlimits_alone(folder):
    """Sandbox.cgroup = off: no group, the rlimits alone, and the kernel runs as before."""
    if sandbox_mode("bwrap") == "off":
        pytest.skip("no sandbox")
    km, kc = _start(folder, mode=sandbox_mode("bwrap"), zygote=False, released=str(RELEASED), cgroup="off")
    try:
        assert km._group is None and not km.stopped_for_memory()
        assert run(km, kc, "print(6 * 7)") == ("42\n", True)
    finally:
        stop(km, kc)


def test_without_a_group_the_grader_says_so_once(capsys):
    assert "off" in cgroups.problem("off") and cgroups.hierarchy("off") is None
    assert cgroups.kernel_group({"memory_mb": 512, "processes": 10}, "off") is None
    assert "not a cgroup v2 folder" in cgroups.problem("/nonexistent/cgroup")
    grading.warn_without_sandbox(Sandbox(mode="rlimits", cgroup="off"))
    warnings = [line for line in capsys.readouterr().err.splitlines() if "no control group" in line]
    assert len(warnings) == 1 and "address space only" in warnings[0], warnings


def test_the_zygote_refuses_a_request_whose_count_of_groups_is_not_a_small_number():
    from autograder.sandbox.zygote_server import _refusal

    request = {"env": {}, "uid": 1, "rlimits": {}, "cwd": "/", "connection_file": "x", "namespaces": []}
    assert _refusal({**request, "cgroups": 3}, {}) == ""  # memory, pids and cpu (cgroup v1)
    for wrong in ("1", None, -1, 4, True):
        assert _refusal({**request, "cgroups": wrong}, {}) == "a malformed request"


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
@pytest.mark.needs_cgroup
def test_a_kernel_stopped_by_its_group_reads_as_out_of_memory_over_the_limit(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    from autograder.decisions.execute import SurvivingExecute

    _skip_without_group()
    fills = ("for name in ('/tmp/a', '/tmp/b'):\n    with open(name, 'wb') as f:\n"
             "        for _ in range(450):\n            f.write(b'x' * 2**20)\n            f.flush()")
    notebook = new_notebook(cells=[new_code_cell(fills), new_code_cell("print('after')")],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    config = Config({"Sandbox": {"mode": "bwrap", "zygote": False, "released": str(RELEASED),
                                 "memory_mb": MEMORY_MB, "tmp_mb": 1024},
                     "SurvivingExecute": {"decide_tests_outside": False}})
    execute = SurvivingExecute(config=config, timeout=60, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    died = notebook.cells[0].outputs[-1].evalue
    assert died.startswith("the kernel died while running this cell (out of memory: ") and \
        f"held more than the memory limit of {MEMORY_MB} MiB" in died, died
    assert [o.evalue for o in notebook.cells[1].outputs] == ["not run: the kernel died in cell 0"]
