"""The grader's scratch space (autograder/scratch.py): one folder per run, gone however it ends."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder import scratch
from conftest import ROOT

MAKE_RUN = ("import sys, time; sys.path.insert(0, {root!r}); from autograder import scratch; "
            "folder = scratch.run_folder({base!r}); (folder / 'work').write_text('x'); print(folder, flush=True); "
            "time.sleep(600)")


def start_run(base):
    process = subprocess.Popen([sys.executable, "-c", MAKE_RUN.format(root=str(ROOT), base=str(base))],
                               stdout=subprocess.PIPE, text=True)
    folder = process.stdout.readline().strip()
    return process, folder


def test_is_a_killed_runs_folder_removed_by_the_next_run_and_a_living_runs_kept(tmp_path):
    killed, killed_folder = start_run(tmp_path)
    living, living_folder = start_run(tmp_path)
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert os.path.isdir(killed_folder)
        os.utime(killed_folder, (time.time() - 3600,) * 2)
        assert scratch.clear_stale_runs(tmp_path) == 1
        assert not os.path.exists(killed_folder) and os.path.isdir(living_folder)
    finally:
        living.kill()
        living.wait()


def test_does_a_run_that_ends_normally_remove_its_folder(tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from autograder import scratch; "
            f"print(scratch.run_folder({str(tmp_path)!r}))")
    folder = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert folder and not os.path.exists(folder)


def test_is_a_scratch_top_folder_that_is_a_link_or_writable_by_others_never_used(tmp_path, capsys, monkeypatch):
    """Another account can make the top folder's name first in /tmp: the run then works in a top
    folder of its own, private, and says so; what the name led to is left as it was."""
    monkeypatch.setattr(scratch, "_instead", {})
    monkeypatch.delenv(scratch.INSTEAD_VARIABLE, raising=False)
    (tmp_path / "elsewhere").mkdir()
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / scratch.TOP).symlink_to(tmp_path / "elsewhere")
    open_to_all = tmp_path / "open"
    (open_to_all / scratch.TOP).mkdir(parents=True)
    os.chmod(open_to_all / scratch.TOP, 0o777)
    for base in (linked, open_to_all):
        top = scratch.top_folder(base)
        assert top.parent == base and top.name.startswith(f"{scratch.TOP}-") and not top.is_symlink()
        assert oct(os.stat(top).st_mode & 0o777) == "0o700" and scratch.top_folder(base) == top
        assert f"{base / scratch.TOP} is not a folder of this user" in capsys.readouterr().err
    assert os.listdir(tmp_path / "elsewhere") == [] and os.listdir(open_to_all / scratch.TOP) == []


def test_does_a_run_whose_top_folder_was_taken_leave_nothing_behind(tmp_path):
    (tmp_path / scratch.TOP).mkdir(mode=0o777)
    os.chmod(tmp_path / scratch.TOP, 0o777)
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from autograder import scratch; "
            f"print(scratch.run_folder({str(tmp_path)!r}))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "is not a folder of this user" in ran.stderr
    assert Path(ran.stdout.strip()).parent.parent == tmp_path  # its run folder was in a top folder of its own
    assert sorted(os.listdir(tmp_path)) == [scratch.TOP]  # which went at its end


def test_is_a_socket_folder_locked_through_its_descriptor_even_if_its_path_was_replaced(tmp_path):
    sockets = scratch.SocketFolder(tmp_path)
    try:
        assert oct(os.stat(sockets.path).st_mode & 0o7777) == "0o1777"
        target = tmp_path / "host-file"
        target.write_text("secret")
        os.chmod(target, 0o600)
        moved = sockets.path + "-moved"
        os.rename(sockets.path, moved)
        os.symlink(target, sockets.path)  # the path now points at a host file
        sockets.lock()
        assert oct(os.stat(target).st_mode & 0o777) == "0o600"  # the host file kept its mode
        assert oct(os.stat(moved).st_mode & 0o7777) == "0o755"  # the folder itself was locked
        os.unlink(sockets.path)
        os.rename(moved, sockets.path)
    finally:
        sockets.remove()
    assert not os.path.exists(sockets.path)



def test_does_the_agents_socket_fit_in_a_socket_folder_however_deep_the_temporary_folder():
    """A worker whose TMPDIR was a scratch folder of its own failed every submission with
    "AF_UNIX path too long": the socket folder allowed for the kernel's socket names only. Every
    length of temporary folder, around the one where the socket folder moves to /tmp, must do."""
    import shutil
    import socket
    import tempfile

    from autograder.decisions.cell import AGENT_SOCKET

    top = tempfile.mkdtemp(prefix="deep-", dir="/tmp")
    try:
        for extra in range(0, 80, 3):
            base = os.path.join(top, "d" * extra) if extra else top
            os.makedirs(base, exist_ok=True)
            sockets = scratch.SocketFolder(base)
            try:
                path = os.path.join(sockets.path, AGENT_SOCKET.format("0123456789ab"))
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                    server.bind(path)  # "AF_UNIX path too long" where the folder is too deep
            finally:
                sockets.remove()
    finally:
        shutil.rmtree(top)
