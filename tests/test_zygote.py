"""Kernels forked from the kernel zygote (autograder/sandbox/zygote.py): sandboxed exactly as fresh ones,
ended with their sandbox, counted for memory, and never needed: without it kernels start afresh."""
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_core.utils import run_sync

from autograder.sandbox import zygote
from autograder.sandbox.zygote_server import _refusal
from autograder.settings import Sandbox
from test_sandbox import _start

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "release" / "a01_santa_logreg"

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_bwrap,
              pytest.mark.skipif(not zygote.usable(Sandbox()), reason="kernels are forked only as root with bubblewrap")]


SETTINGS = {}  # the Sandbox settings the kernels of a test start with (see the fixtures)


@pytest.fixture()
def grader_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NBGRADER_DB_URL", "sqlite:///secret.db")
    SETTINGS.clear()
    SETTINGS.update(mode="bwrap", zygote=True, released=str(RELEASED))
    folder = tmp_path / "autograded" / "student" / "a01_santa_logreg"
    folder.mkdir(parents=True)
    yield folder
    SETTINGS.clear()


def started_zygote(env, keras=False):
    return zygote.Zygote(str(RELEASED), env, Sandbox(), keras=keras)


@pytest.fixture()
def running_zygote(grader_env):
    with started_zygote(dict(os.environ)) as started:
        assert started.ready(), "the zygote did not start"
        SETTINGS["zygote_socket"] = started.socket_path
        yield started


def stop(km, kc):
    kc.stop_channels()
    run_sync(km.shutdown_kernel)(now=True)


def run(kc, code):
    """(stdout, the error's name or None) of ``code`` in the kernel."""
    lines, errors = [], []

    def hook(msg):
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            lines.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])
    kc.execute_interactive(code, timeout=120, output_hook=hook)
    return "".join(lines), (errors[0] if errors else None)


PROBE = r"""
import json, os, resource, socket, sys
preloaded = "numpy" in sys.modules
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    network = "open"
except OSError as error:
    network = type(error).__name__
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print(json.dumps({
    "preloaded": preloaded, "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "cwd": os.getcwd(), "files": sorted(os.listdir(".")), "network": network,
    "sees": {p: os.path.exists(p) for p in ("{root}/source", "{root}/.git", "{zygote}")},
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "no_new_privs": status["NoNewPrivs"].strip(),
    "limits": [resource.getrlimit(getattr(resource, "RLIMIT_" + n)) for n in ("AS", "NPROC", "FSIZE", "NOFILE")],
    "environment": dict(os.environ), "path": sys.path, "executable": sys.executable,
    "history": {"kept": get_ipython().history_manager.enabled, "inputs": len(In),
                "file": os.path.exists(os.path.expanduser("~/.ipython/profile_default/history.sqlite"))},
}))
"""


def probe(folder):
    km, kc = _start(folder, **SETTINGS)
    try:
        text, error = run(kc, PROBE.replace("{root}", str(ROOT)).replace(
            "{zygote}", SETTINGS.get("zygote_socket", "")))
        assert error is None, text
        return json.loads(text)
    finally:
        stop(km, kc)


def test_a_forked_kernel_is_sandboxed_exactly_as_a_fresh_one(running_zygote, grader_env, monkeypatch):
    forked = probe(grader_env)
    assert running_zygote.stats()["kernels_forked"] == 1
    SETTINGS["zygote"] = False
    fresh = probe(grader_env)
    assert forked["preloaded"] and not fresh["preloaded"]  # the first came from the zygote, the second not
    assert forked["files"] == ["check_helpers.py", "coursekit", "custom.css", "expected_outputs.json", "problem_unittests.py"]
    assert not any(forked["sees"].values())
    assert forked["network"] in ("ConnectionRefusedError", "OSError")
    assert forked["uid"] == forked["gid"] != 0 and forked["groups"] == []
    assert set(forked["caps"].values()) == {"0000000000000000"} and forked["no_new_privs"] == "1"
    assert max(forked["processes"]) < 10  # a pid namespace of its own: the zygote is not there
    # IPython's history of inputs in memory only (kernel_manager.KERNEL_OPTIONS): no file written
    assert forked["history"] == {"kept": False, "inputs": 2, "file": False}
    for key in ("cwd", "files", "network", "sees", "caps", "no_new_privs", "limits", "path", "executable", "history"):
        assert forked[key] == fresh[key], key
    # The same environment, but for what the zygote's imports set (a fresh kernel that imported
    # the same modules would have it too).
    set_by_imports = set(forked["environment"]) - set(fresh["environment"])
    assert {k: v for k, v in forked["environment"].items() if k not in set_by_imports} == fresh["environment"]
    assert set_by_imports <= {"HDF5_PLUGIN_PATH"}, set_by_imports


def test_what_the_zygote_imported_is_out_of_the_collectors_sight_in_its_kernels(running_zygote, grader_env):
    """A kernel's full collections walk only what it makes itself, not NumPy's, matplotlib's and
    IPython's objects, which it shares with the zygote; a fresh kernel froze nothing. The
    debugger, which ipykernel imports as a kernel starts, is among what the zygote imported."""
    frozen = "import gc\nprint(gc.get_freeze_count())"
    # frozen objects are out of gc.get_objects(): the debugger's namespace is there only where
    # the kernel imported it itself
    debugger = "import gc, ipykernel.debugger as d\nprint(any(o is vars(d) for o in gc.get_objects()))"
    km, kc = _start(grader_env, **SETTINGS)
    try:
        assert int(run(kc, frozen)[0]) > 50000
        assert run(kc, debugger)[0].strip() == "False"
    finally:
        stop(km, kc)
    SETTINGS["zygote"] = False
    km, kc = _start(grader_env, **SETTINGS)
    try:
        assert int(run(kc, frozen)[0]) == 0
        assert run(kc, debugger)[0].strip() == "True"
    finally:
        stop(km, kc)


def test_a_forked_kernel_imports_nothing_as_it_starts(running_zygote, grader_env):
    """What a kernel imports as it starts (IPython's debugger and object inspector, SQLite for its
    history, NumPy's random numbers for its own seed) the zygote imported: by its first cell, the
    kernel holds no module of a file that it imported itself. A module the kernel imported has its
    namespace among the objects its collector sees; the zygote's are frozen out of that sight."""
    probe = ("import gc, sys\n"
             "seen = {id(o) for o in gc.get_objects() if type(o) is dict}\n"
             "print(sorted(name for name, module in list(sys.modules.items())\n"
             "             if getattr(module, '__file__', None) and id(vars(module)) in seen))")
    km, kc = _start(grader_env, **SETTINGS)
    try:
        text, error = run(kc, probe)
    finally:
        stop(km, kc)
    assert error is None, text
    assert text.strip() == "[]", f"modules a forked kernel imported itself as it started: {text.strip()}"


def test_a_forked_kernel_has_the_agent_from_its_start_and_gets_it_again_where_the_notebook_removed_it(
        running_zygote, grader_env):
    """The zygote holds the grader's agent (zygote_server._install_agent): a forked kernel's first
    test cell only starts it, and its code is the zygote's, out of the collector's sight. A kernel
    whose notebook removed it gets it installed, as a kernel started afresh does at its first
    test cell."""
    from autograder.decisions import cell as trusted
    from test_trusted import STUDENT, executes_sent

    def decided(km, kc):
        with executes_sent(kc) as sent:
            outputs = trusted.run_test_cell(kc, "tests.test_init_w(init_w)", 60, "a01_santa_logreg",
                                            folder=km._ipc_folder, preinstalled=km.agent_preinstalled)
        assert [o.output_type for o in outputs] == ["stream"] and "init_w: visible tests passed." in outputs[0].text
        return [len(code) > 1000 for code in sent]  # True: the agent's text went with the cell

    frozen = ("import gc, sys\nagent = vars(sys.modules['__course_agent__'])\n"
              "print(any(o is agent for o in gc.get_objects()))")
    km, kc = _start(grader_env, **SETTINGS)
    try:
        kc.execute_interactive(STUDENT, timeout=60)
        assert km.agent_preinstalled
        assert run(kc, frozen)[0].strip() == "False"  # the zygote's
        assert decided(km, kc) == [False]
        assert decided(km, kc) == [False]
        kc.execute_interactive("import sys\ndel sys.modules['__course_agent__']", timeout=60)
        assert decided(km, kc) == [False, True]  # started, found missing, installed
        assert run(kc, frozen)[0].strip() == "True"  # the kernel's own now
    finally:
        stop(km, kc)
    SETTINGS["zygote"] = False
    km, kc = _start(grader_env, **SETTINGS)
    try:
        kc.execute_interactive(STUDENT, timeout=60)
        assert not km.agent_preinstalled
        assert decided(km, kc) == [True]
        assert decided(km, kc) == [False]
    finally:
        stop(km, kc)


def test_a_forked_kernel_draws_its_own_random_numbers(running_zygote, grader_env):
    draws = []
    for _ in range(2):
        km, kc = _start(grader_env, **SETTINGS)
        try:
            text, _ = run(kc, "import random, numpy\nprint(random.random(), numpy.random.rand())")
            draws.append(text)
        finally:
            stop(km, kc)
    assert draws[0] != draws[1]


# What NumPy's setting of huge-page advice was (it is set again to False, the kernel being dropped)
HUGE_PAGE_ADVICE = "import numpy\nprint(numpy._core.multiarray._set_madvise_hugepage(False))"


@pytest.mark.parametrize("given, advised", [(None, "False"), ("1", "True")])
def test_numpy_asks_for_no_huge_pages_unless_the_grader_says_so(grader_env, monkeypatch, given, advised):
    """``policy.KERNEL_DEFAULTS``: NumPy in a forked and in a fresh kernel alike does not advise
    huge pages for its large arrays; ``NUMPY_MADVISE_HUGEPAGE=1`` in the grader's environment
    gives the advice back to both (the zygote imported NumPy with it)."""
    if given is None:
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    else:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", given)
    with started_zygote(dict(os.environ)) as started:
        assert started.ready(), "the zygote did not start"
        for forked in (True, False):
            km, kc = _start(grader_env, **dict(SETTINGS, zygote_socket=started.socket_path, zygote=forked))
            try:
                assert run(kc, HUGE_PAGE_ADVICE) == (f"{advised}\n", None), "forked" if forked else "fresh"
            finally:
                stop(km, kc)
        assert started.stats()["kernels_forked"] == 1


def test_when_the_kernel_dies_its_sandbox_and_processes_end_and_its_memory_is_counted(running_zygote, grader_env):
    km, kc = _start(grader_env, **SETTINGS)
    try:
        run(kc, "import numpy, subprocess\nheld = numpy.ones(300 * 2**20 // 8)\n"
                "subprocess.Popen(['sleep', '4321.5'], start_new_session=True)")
        assert any(p.info["cmdline"] == ["sleep", "4321.5"] for p in psutil.process_iter(["cmdline"]))
        kc.execute("import os; os._exit(3)")
        deadline = time.monotonic() + 20
        while run_sync(km.is_alive)() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not run_sync(km.is_alive)(), "the sandbox outlived its kernel"
        time.sleep(0.2)
        assert not any(p.info["cmdline"] == ["sleep", "4321.5"] for p in psutil.process_iter(["cmdline"]))
    finally:
        stop(km, kc)
    assert zygote.kernels_peak_kib() > 300 * 1024


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "fresh"])
def test_the_grader_keeps_only_the_start_and_end_of_what_a_kernel_writes_to_its_descriptors(
        running_zygote, grader_env, capfd, forked):
    """ipykernel echoes what the code writes to the file descriptors 1 and 2 to the kernel's own:
    they went into the grading process's output file, which grew by all of it (up to the kernel's
    file size limit, 512 MiB, per submission being graded)."""
    SETTINGS["zygote"] = forked
    km, kc = _start(grader_env, **SETTINGS)
    try:
        run(kc, "import os\nos.write(1, b'<first>' + b'z' * 3_000_000 + b'<last>')")
    finally:
        stop(km, kc)
    assert running_zygote.stats()["kernels_forked"] == (1 if forked else 0)
    err = capfd.readouterr().err
    assert "<first>" in err and "<last>" in err and "bytes of the kernel's output were not kept" in err
    assert len(err) < 200_000


def test_a_zygote_that_refuses_or_is_gone_means_a_fresh_kernel(grader_env, monkeypatch, caplog):
    # Imports read the environment: a zygote started with other thread settings would make
    # kernels that differ from fresh ones, so it refuses to.
    with started_zygote({**os.environ, "OPENBLAS_NUM_THREADS": "7"}) as other:
        SETTINGS["zygote_socket"] = other.socket_path
        with caplog.at_level(logging.WARNING):
            assert probe(grader_env)["preloaded"] is False
        assert other.stats()["kernels_forked"] == 0
        assert "OPENBLAS_NUM_THREADS" in caplog.text and "starting the kernel afresh" in caplog.text
    SETTINGS["zygote_socket"] = str(grader_env / "no-zygote-here")
    assert probe(grader_env)["preloaded"] is False
    with started_zygote(dict(os.environ)) as ended:
        os.killpg(ended.process.pid, signal.SIGKILL)  # it ends while it imports
        ended.process.wait()
        SETTINGS["zygote_socket"] = ended.socket_path
        started = time.monotonic()
        assert probe(grader_env)["preloaded"] is False
        assert time.monotonic() - started < 90  # not waiting for a zygote that has ended (120 s)


def test_the_processes_under_a_sandbox_are_found_as_psutil_finds_them():
    # A tree two deep, with a thread that starts a child of its own (its children are listed
    # under that thread, not under the process's first).
    tree = ("import subprocess, sys, threading, time\n"
            "leaf = [sys.executable, '-c', 'import time; time.sleep(60)']\n"
            "middle = [sys.executable, '-c', 'import subprocess, sys, time; subprocess.Popen(%r); time.sleep(60)' % (leaf,)]\n"
            "subprocess.Popen(middle)\n"
            "threading.Thread(target=lambda: subprocess.Popen(leaf)).start()\n"
            "time.sleep(60)\n")
    top = subprocess.Popen([sys.executable, "-c", tree], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(psutil.Process(top.pid).children(recursive=True)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        expected = sorted(child.pid for child in psutil.Process(top.pid).children(recursive=True))
        assert len(expected) == 3
        assert sorted(zygote._descendants(top.pid)) == expected
    finally:
        os.killpg(top.pid, signal.SIGKILL)
        top.wait()
    assert zygote._descendants(top.pid) == []  # ended: nothing under it


def test_a_socket_made_just_after_a_connection_found_none_is_connected_to(tmp_path, monkeypatch):
    # The zygote renames its listening socket into place while it is starting (its lock held).
    # A connection that came a moment before found no socket; by the time the client looks
    # again, the socket is there. That is a zygote just ready, not one that failed.
    path = str(tmp_path / "socket")
    lock = os.open(tmp_path / zygote.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held, as by a living zygote
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    listener.listen(1)
    attempts = []

    class RacedSocket(socket.socket):
        def connect(self, address):
            attempts.append(address)
            if len(attempts) == 1:  # the zygote makes its socket just after this attempt missed it
                os.rename(path + ".new", path)
                raise FileNotFoundError(2, "No such file or directory")
            return super().connect(address)

    monkeypatch.setattr(zygote.socket, "socket", RacedSocket)
    try:
        with zygote._connect(path, time.monotonic() + 10):
            pass
    finally:
        listener.close()
        os.close(lock)
    assert attempts == [path, path]


def test_a_socket_that_refuses_is_not_waited_for(tmp_path):
    path = str(tmp_path / "socket")
    lock = os.open(tmp_path / zygote.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)  # bound, never listening: a zygote that ended and left its socket
    started = time.monotonic()
    try:
        with pytest.raises(zygote.ZygoteUnavailable, match="refused"):
            zygote._connect(path, time.monotonic() + 10)
    finally:
        stale.close()
        os.close(lock)
    assert time.monotonic() - started < 5


def test_a_kernel_asked_for_while_the_zygote_imports_waits_for_it(grader_env, monkeypatch):
    with started_zygote(dict(os.environ), keras=True) as importing:
        SETTINGS["zygote_socket"] = importing.socket_path
        assert not os.path.exists(importing.socket_path)  # TensorFlow takes seconds to import
        km, kc = _start(grader_env, **SETTINGS)
        try:
            text, error = run(kc, "import sys\nprint('tensorflow' in sys.modules)")
        finally:
            stop(km, kc)
    assert (text, error) == ("True\n", None)


def test_the_zygote_refuses_what_it_cannot_serve(running_zygote):
    assert _refusal([], {}) == "a malformed request"
    request = {"env": {"A": "1", "NBGRADER_EXECUTION": "autograde"}, "uid": 1, "rlimits": {}, "cwd": "/",
               "connection_file": "x", "namespaces": []}
    assert _refusal(request, {"A": "1", "PWD": "/x"}) == ""
    assert "differs from the zygote's in A" in _refusal(request, {"A": "2"})
    for message in (b"not json", json.dumps({"env": {}}).encode()):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(running_zygote.socket_path)
            sock.sendall(message)
            sock.shutdown(socket.SHUT_WR)
            assert "refused" in json.loads(sock.recv(4096).decode())
    assert running_zygote.process.poll() is None  # still serving


OWNER = r"""
import os, signal, sys, time
import psutil
from autograder.sandbox import zygote
from autograder.settings import Sandbox
started = zygote.Zygote(sys.argv[1], dict(os.environ), Sandbox())
started.__enter__()
assert started.ready()
print(" ".join(str(p.pid) for p in psutil.Process(started.process.pid).children(recursive=True)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the harness dies without closing anything
"""


def alive(pid):
    """Whether process ``pid`` runs (a zombie, or a process that ends while it is looked at, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_zygote_ends_when_the_harness_is_killed(grader_env):
    owner = subprocess.run([sys.executable, "-c", OWNER, str(RELEASED)], capture_output=True, text=True,
                           timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert owner.returncode == -signal.SIGKILL, owner.stderr
    pids = [int(p) for p in owner.stdout.split()]
    assert pids, "the zygote did not start"
    deadline = time.monotonic() + 30
    while any(map(alive, pids)):
        assert time.monotonic() < deadline, "the zygote outlived the harness"
        time.sleep(0.05)


def test_closing_the_zygote_ends_it(grader_env, monkeypatch):
    with started_zygote(dict(os.environ)) as started:
        assert started.ready()
        SETTINGS["zygote_socket"] = started.socket_path
        assert probe(grader_env)["preloaded"]
        pids = [p.pid for p in psutil.Process(started.process.pid).children(recursive=True)]
    assert pids
    deadline = time.monotonic() + 30  # its processes in the sandbox end after the sandbox's first
    while any(map(alive, pids)):
        assert time.monotonic() < deadline, "the zygote's processes outlived its closing"
        time.sleep(0.05)
