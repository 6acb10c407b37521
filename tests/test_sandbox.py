"""The student's kernel in the sandbox (autograder/sandbox/): what it can and cannot reach."""
import os
import shutil
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync
from traitlets.config import Config

from autograder.sandbox import policy as sandbox
from autograder.sandbox.kernel_manager import SandboxedKernelManager

ROOT = Path(__file__).resolve().parent.parent
PROBE = r"""
import os, socket
print("uid", os.getuid())
print("files", sorted(os.listdir(".")))
for path in ("{root}/source", "{root}/gradebook.db", "{root}/.git"):
    print("sees", path, os.path.exists(path))
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("network open")
except OSError as error:
    print("network", type(error).__name__)
print("env", sorted(k for k in os.environ if k.startswith(("NBGRADER", "COURSE_SANDBOX", "SSH", "DB"))))
"""


@pytest.fixture()
def sandboxed_kernel(monkeypatch, tmp_path):
    """A kernel started as nbgrader autograde starts one: in autograded/<student>/<assignment>/."""
    if sandbox.sandbox_mode("bwrap") != "bwrap":
        pytest.skip(f"bubblewrap cannot run here: {sandbox.bwrap_problem()}")
    monkeypatch.setenv("NBGRADER_DB_URL", "sqlite:///secret.db")
    folder = tmp_path / "autograded" / "student" / "a01_santa_logreg"
    folder.mkdir(parents=True)
    (folder / "numpy.py").write_text("raise SystemExit('handed in beside the notebook')\n")
    km, kc = _start(folder)
    yield kc
    kc.stop_channels()
    run_sync(km.shutdown_kernel)(now=True)


def _start(folder, **settings):
    """Start a kernel as SurvivingExecute does, with these ``Sandbox`` settings: once it is up,
    its socket folder is locked."""
    km = SandboxedKernelManager(kernel_name="python3", config=Config({"Sandbox": settings}))
    run_sync(km.start_kernel)(cwd=str(folder))
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    km.lock_socket_folder()
    _started[kc] = km
    return km, kc


_started = {}  # client -> its kernel manager


SOCKETS_PROBE = r"""
import os
folder = {folder!r}
print("sockets", sorted(os.listdir(folder)))
for name, make in (("file", lambda p: open(p, "w").close()), ("link", lambda p: os.symlink("/etc/shadow", p)),
                   ("folder", os.mkdir)):
    try:
        make(os.path.join(folder, "planted-" + name))
        print("planted", name)
    except OSError as error:
        print("refused", name, type(error).__name__)
for entry in os.listdir(folder):
    try:
        os.rename(os.path.join(folder, entry), os.path.join(folder, entry + "-moved"))
        print("moved", entry)
    except OSError:
        pass
"""


def test_once_up_the_kernel_can_add_replace_or_fill_nothing_in_its_socket_folder(sandboxed_kernel):
    km = _started[sandboxed_kernel]
    folder = km._ipc_folder
    text = printed(sandboxed_kernel, SOCKETS_PROBE.format(folder=folder))
    assert "sockets ['kernel-1'" in text  # the kernel made its sockets there while it started
    assert "planted" not in text and "moved" not in text, text
    if os.geteuid() == 0:
        info = os.lstat(folder)
        assert info.st_uid == 0 and oct(info.st_mode & 0o7777) == "0o755"
        assert Path(folder).parent.parent.name == f"course-autograder-{os.geteuid()}"  # in the run's own scratch


def printed(kc, code):
    lines = []
    kc.execute_interactive(code, timeout=60, output_hook=lambda m: lines.append(m["content"].get("text", ""))
                           if m["msg_type"] == "stream" else None)
    return "".join(lines)


def test_the_kernel_sees_only_the_released_files_no_network_and_no_grader_secrets(sandboxed_kernel):
    text = printed(sandboxed_kernel, PROBE.format(root=ROOT))
    assert ("files ['check_helpers.py', 'coursekit', 'custom.css', 'expected_outputs.json', "
            "'problem_unittests.py']") in text
    assert f"sees {ROOT}/source False" in text and f"sees {ROOT}/gradebook.db False" in text
    assert f"sees {ROOT}/.git False" in text
    assert "network ConnectionRefusedError" in text or "network OSError" in text
    assert "env []" in text
    if os.geteuid() == 0:
        assert "uid 0" not in text


PROC_PROBE = r"""
import os
print("reads", open("/proc/self/status").read().startswith("Name:"))
for path in ("/proc/self/clear_refs", "/proc/self/oom_score_adj"):
    try:
        with open(path, "w") as handle:
            handle.write("5" if path.endswith("clear_refs") else "1000")
        print("wrote", path)
    except OSError as error:
        print("refused", path, type(error).__name__)
"""


def test_the_kernel_reads_proc_but_cannot_write_there(sandboxed_kernel):
    """Not even the memory peak that Linux keeps for it, which the grader reads
    (decisions/kernel_memory.py): /proc is read-only in the sandbox."""
    text = printed(sandboxed_kernel, PROC_PROBE)
    assert "reads True" in text, text
    assert "wrote" not in text and text.count("refused /proc/self/") == 2, text


def test_without_bubblewrap_the_grader_falls_back_to_limits_only(monkeypatch):
    sandbox.bwrap_problem.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    try:
        assert sandbox.sandbox_mode("bwrap") == "rlimits"
        assert "not installed" in sandbox.bwrap_problem()
    finally:
        sandbox.bwrap_problem.cache_clear()


FONTS_PROBE = r"""
import os, sys, matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
plt.figure(); plt.title("cost"); plt.gcf().canvas.draw()
folder = os.environ["MPLCONFIGDIR"]
print("folder", sorted(os.listdir(folder)), os.access(folder, os.W_OK))
try:
    open(os.path.join(folder, "fontlist-v%s.json" % font_manager.FontManager.__version__), "a").close()
    print("list writable")
except OSError:
    print("list read-only")
print("font", os.path.isfile(font_manager.findfont("DejaVu Sans")))
"""


@pytest.mark.needs_bwrap
def test_kernels_share_one_read_only_font_list_made_once(monkeypatch, tmp_path):
    if sandbox.sandbox_mode("bwrap") != "bwrap":
        pytest.skip(f"bubblewrap cannot run here: {sandbox.bwrap_problem()}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    sandbox.matplotlib_font_lists.cache_clear()
    try:
        lists = sandbox.matplotlib_font_lists()
        assert [p.name for p in lists] and all(p.name.startswith("fontlist-v") for p in lists)
        assert lists[0].parent.parent == tmp_path / "cache" / "course-autograder"
        made = [p.stat().st_mtime_ns for p in lists]
        sandbox.matplotlib_font_lists.cache_clear()
        assert sandbox.matplotlib_font_lists() == lists  # found again, not made again:
        assert [p.stat().st_mtime_ns for p in lists] == made
        folder = tmp_path / "work" / "a01_santa_logreg"
        folder.mkdir(parents=True)
        km, kc = _start(folder)
        try:
            stdout, complaints = [], []
            kc.execute_interactive(FONTS_PROBE, timeout=60, output_hook=lambda m: (
                stdout.append(m["content"]["text"]) if m["content"].get("name") == "stdout"
                else complaints.append(m["content"]) if m["msg_type"] in ("stream", "error") else None))
        finally:
            kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)
        text = "".join(stdout)
        assert complaints == [], "matplotlib complained in the kernel"
        assert f"folder {[p.name for p in lists]} True" in text  # nothing new written: the list was used
        assert "list read-only" in text and "font True" in text
    finally:
        sandbox.matplotlib_font_lists.cache_clear()


SHARED_PROBE = r"""
import os
print("told", sorted(k for k in os.environ if k in ("COURSE_DECODED_DIR", "COURSE_REPLAY_DIR", "COURSE_REPLAY_RECORD_DIR")))
"""


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_only_a_kernel_in_bubblewrap_is_told_of_the_folders_a_class_shares(mode, tmp_path):
    """The decoded data and the recorded Keras calls are bound read-only by bubblewrap; a kernel
    with limits only runs as the grader's user and could change them for the kernels after it:
    it is not told of them (and reads and runs everything itself)."""
    if mode == "bwrap" and sandbox.sandbox_mode("bwrap") != "bwrap":
        pytest.skip(f"bubblewrap cannot run here: {sandbox.bwrap_problem()}")
    shared = {}
    for setting in ("decoded_data", "keras_replay", "keras_record"):
        (tmp_path / setting).mkdir()
        shared[setting] = str(tmp_path / setting)
    folder = tmp_path / "work" / "a01_santa_logreg"
    folder.mkdir(parents=True)
    km, kc = _start(folder, mode=mode, **shared)
    try:
        text = printed(kc, SHARED_PROBE)
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
    told = ["COURSE_DECODED_DIR", "COURSE_REPLAY_DIR", "COURSE_REPLAY_RECORD_DIR"] if mode == "bwrap" else []
    assert f"told {told}" in text, text
