"""Keras calls recorded once from the reference and replayed in graded kernels
(``coursekit/replay.py``, ``autograder/sandbox/replay_store.py``).

A replayed call must leave exactly what running it would have left (weights, optimizer, random
states, result, history), any call that differs in anything must run, a corrupt entry must be
ignored, and the recorded folder must tell a kernel nothing it could not compute itself. The
scenarios run in processes of their own (``keras_replay_scenario.py``), one thread each, as a
graded kernel runs.
"""
import ast
import collections
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder import course
from autograder.sandbox import policy as sandbox_policy, replay_store, shared_data
from autograder.worker.job import Outcome
from tests.recorded_classes import grade_afresh

SCENARIO = Path(__file__).with_name("keras_replay_scenario.py")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
ALL_VARIANTS = ("base", "callbacks", "other data", "own layer", "own activation", "other seed", "other names")


def run_scenario(variants, **variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_REPLAY")}
    env.update(ONE_THREAD, TF_CPP_MIN_LOG_LEVEL="3", **variables)
    done = subprocess.run([sys.executable, str(SCENARIO), *variants], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            results[result["variant"]] = result
    return results, done.stdout


def without_calls(result):
    return {k: v for k, v in result.items() if k not in ("calls", "variant")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = tmp_path_factory.mktemp("replay") / "recorded"
    plain, _ = run_scenario(ALL_VARIANTS)
    recorded, recorded_output = run_scenario(["base"], COURSE_REPLAY_RECORD_DIR=str(store))
    replayed, replayed_output = run_scenario(ALL_VARIANTS, COURSE_REPLAY_DIR=str(store))
    corrupt = tmp_path_factory.mktemp("replay") / "corrupt"
    corrupt.mkdir()
    for entry in store.iterdir():
        data = bytearray(entry.read_bytes())
        if entry.suffix == ".arrays":
            data[len(data) // 2] ^= 0xFF
        (corrupt / entry.name).write_bytes(bytes(data))
    from_corrupt, _ = run_scenario(["base"], COURSE_REPLAY_DIR=str(corrupt))
    return dict(store=store, plain=plain, recorded=recorded, recorded_output=recorded_output,
                replayed=replayed, replayed_output=replayed_output, from_corrupt=from_corrupt)


def test_without_a_folder_nothing_is_wrapped(runs):
    assert all(r["calls"] == {"replayed": 0, "ran": 0, "recorded": 0} for r in runs["plain"].values())


def test_a_replayed_call_leaves_what_running_it_would_have_left(runs):
    assert runs["recorded"]["base"]["calls"] == {"replayed": 0, "ran": 4, "recorded": 4}
    assert without_calls(runs["recorded"]["base"]) == without_calls(runs["plain"]["base"])
    base = runs["replayed"]["base"]
    assert base["calls"] == {"replayed": 4, "ran": 0, "recorded": 0}
    # weights after each step, history, evaluation, predictions, every random generator, a later fit
    assert without_calls(base) == without_calls(runs["plain"]["base"])
    assert base["model_history"] is True


def test_the_same_network_under_other_layer_names_replays(runs):
    result = runs["replayed"]["other names"]
    assert result["calls"] == {"replayed": 4, "ran": 0, "recorded": 0}
    assert without_calls(result) == without_calls(runs["plain"]["base"]) == without_calls(runs["plain"]["other names"])


def test_a_replayed_fit_prints_its_epochs_again(runs):
    def epochs(output):  # the epoch lines, without the seconds they took
        return [line.split(" - ", 1)[0] + " - " + line.split("/step - ", 1)[1]
                for line in output.splitlines() if "/step - " in line]

    assert epochs(runs["recorded_output"]) and epochs(runs["replayed_output"])[:2] == epochs(runs["recorded_output"])
    assert "Epoch 2/2" in runs["replayed_output"]


@pytest.mark.parametrize("variant", ["other data", "own layer", "other seed"])
def test_a_call_that_differs_in_anything_runs(runs, variant):
    result = runs["replayed"][variant]
    assert result["calls"]["replayed"] == 0 and result["calls"]["ran"] == 4
    assert without_calls(result) == without_calls(runs["plain"][variant])
    assert without_calls(result) != without_calls(runs["plain"]["base"])


def test_a_network_with_code_of_the_students_own_runs(runs):
    """A softmax of the student's own computes what Keras's does, but the key cannot see its code."""
    result = runs["replayed"]["own activation"]
    assert result["calls"]["replayed"] == 0 and result["calls"]["ran"] == 4
    assert without_calls(result) == without_calls(runs["plain"]["own activation"])


def test_a_call_the_key_cannot_describe_runs_and_the_calls_after_it_replay(runs):
    result = runs["replayed"]["callbacks"]
    assert result["calls"] == {"replayed": 3, "ran": 1, "recorded": 0}  # the fit with callbacks ran
    assert without_calls(result) == without_calls(runs["plain"]["base"])


def test_a_corrupt_entry_is_not_used(runs):
    result = runs["from_corrupt"]["base"]
    # every entry's arrays were damaged: each call ran, as many as the recording held
    assert result["calls"]["replayed"] == 0
    assert result["calls"]["ran"] == runs["recorded"]["base"]["calls"]["recorded"] > 0
    assert without_calls(result) == without_calls(runs["plain"]["base"])


def test_the_recorded_folder_tells_nothing_without_the_call(runs):
    entries = sorted(runs["store"].iterdir())
    assert len(entries) == 8 and all(replay_store.ENTRY.fullmatch(e.name) for e in entries)
    for entry in entries:
        data = entry.read_bytes()
        assert b"conv2d" not in data and b"dense" not in data and b"history" not in data, entry.name
        assert not data.startswith((b"{", b"PK")), entry.name  # neither JSON nor a zip of arrays in clear


# --------------------------------------------------------------------------------------------
# The coordinator's side (no kernel)
# --------------------------------------------------------------------------------------------

def test_prepare_records_nothing_for_an_assignment_without_keras_or_figures(tmp_path, monkeypatch):
    def never(*_):
        raise AssertionError("the reference was graded")

    manifest = course.load("a01_santa_logreg")
    assert not manifest.keras and manifest.figures and replay_store.records("a01_santa_logreg")
    monkeypatch.setattr(replay_store.course, "load", lambda _: dataclasses.replace(manifest, figures=False))
    assert not replay_store.records("a01_santa_logreg")
    assert replay_store.prepare("a01_santa_logreg", 1, never, tmp_path) == ""


def fake_reference(entries, status="graded"):
    """A stand-in for grading the reference: writes ``entries`` ({name: bytes}) where the setting says."""
    def grade_reference(submissions, settings):
        (setting,) = settings
        folder = Path(setting.split("=", 1)[1])
        notebook = submissions / replay_store.RECORDING_ID / "a03_cnn_mnist_cifar" / "a03_cnn_mnist_cifar.ipynb"
        assert notebook.is_file()
        for name, data in entries.items():
            (folder / name).write_bytes(data)
        grade_reference.calls += 1
        return Outcome(replay_store.RECORDING_ID, status)

    grade_reference.calls = 0
    return grade_reference


def test_prepare_records_once_and_keeps_only_regular_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    good = "a" * 40
    entries = {f"{good}.arrays": b"1" * 10, f"{good}.record": b"2" * 10,
               f"{'b' * 40}.record": b"no arrays", "notes.txt": b"not an entry"}
    grade_reference = fake_reference(entries)
    folder = replay_store.prepare("a03_cnn_mnist_cifar", 1, grade_reference, tmp_path / "scratch1")
    assert Path(folder) == replay_store.store_folder("a03_cnn_mnist_cifar", 1) and grade_reference.calls == 1
    assert sorted(p.name for p in Path(folder).iterdir()) == [f"{good}.arrays", f"{good}.record"]
    assert {oct(p.stat().st_mode & 0o777) for p in Path(folder).iterdir()} == {"0o644"}
    # found the next time, for the same threads; another thread count is another recording
    assert replay_store.prepare("a03_cnn_mnist_cifar", 1, grade_reference, tmp_path / "scratch2") == folder
    assert grade_reference.calls == 1
    assert replay_store.store_folder("a03_cnn_mnist_cifar", 2) != Path(folder)


def test_classes_and_workers_that_want_one_recording_at_once_make_it_once(tmp_path, monkeypatch):
    """Two at once (threads here; processes take the same lock file): the second waits for the
    first's recording and uses it."""
    import threading
    import time

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    slow = fake_reference({f"{'a' * 40}.arrays": b"1", f"{'a' * 40}.record": b"2"})

    def grade_reference(folder, settings):
        time.sleep(0.5)  # long enough for the other to come while this one records
        return slow(folder, settings)

    found = []
    racing = [threading.Thread(target=lambda n=n: found.append(replay_store.prepare(
        "a03_cnn_mnist_cifar", 1, grade_reference, tmp_path / f"scratch{n}"))) for n in range(2)]
    for thread in racing:
        thread.start()
    for thread in racing:
        thread.join()
    assert slow.calls == 1 and len(set(found)) == 1 and Path(found[0]).is_dir()


def test_links_and_special_files_are_not_taken_as_entries(tmp_path):
    recorded, target = tmp_path / "recorded", tmp_path / "target"
    recorded.mkdir()
    target.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("the grader's file")
    for name in ("c", "d", "e"):
        (recorded / f"{name * 40}.record").write_bytes(b"record")
    (recorded / f"{'c' * 40}.arrays").symlink_to(outside)
    os.link(outside, recorded / f"{'d' * 40}.arrays")
    os.mkfifo(recorded / f"{'e' * 40}.arrays")
    assert replay_store._copy_entries(recorded, target) == 0
    assert list(target.iterdir()) == []


def test_a_reference_that_fails_leaves_no_recording(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    grade_reference = fake_reference({f"{'a' * 40}.arrays": b"1", f"{'a' * 40}.record": b"2"}, status="timeout")
    assert replay_store.prepare("a03_cnn_mnist_cifar", 1, grade_reference, tmp_path / "scratch") == ""
    assert "were not recorded" in capsys.readouterr().err
    assert not replay_store.store_folder("a03_cnn_mnist_cifar", 1).exists()


def test_only_the_most_recently_used_recordings_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = []
    for threads in range(1, replay_store.KEPT + 3):
        grade_reference = fake_reference({f"{'a' * 40}.arrays": b"1", f"{'a' * 40}.record": b"2"})
        made.append(Path(replay_store.prepare("a03_cnn_mnist_cifar", threads, grade_reference,
                                              tmp_path / f"scratch{threads}")))
        os.utime(made[-1], (threads, threads))  # in the order they were made
    assert [m.is_dir() for m in made] == [False, False] + [True] * replay_store.KEPT


@pytest.mark.parametrize("mode", ["bwrap", "rlimits", "off"])
def test_only_kernels_in_bubblewrap_get_the_recording(mode, tmp_path, monkeypatch):
    """A kernel outside bubblewrap runs as the grader's user and could write the recording that
    later classes replay: grade_class asks for the replay only where its kernels are in
    bubblewrap (the class itself, its zygote and its data stood in for: only the decision)."""
    from autograder import grading

    asked = {}

    class NoZygote:
        socket_path = ""

        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def stats(self):
            return {}

    def grade_class_body(*args, **kwargs):
        asked.update(kwargs)
        return []

    monkeypatch.setattr(grading, "_grade_class", grade_class_body)
    monkeypatch.setattr(grading, "Zygote", NoZygote)
    monkeypatch.setattr(grading, "start_fork_server", lambda keras=False: None)
    monkeypatch.setattr(grading.shared_data, "prepare", lambda *args: "")
    grading.grade_class("a03_cnn_mnist_cifar", tmp_path / "submitted", tmp_path / "out", show_progress=False,
                        settings=(f"--Sandbox.mode={mode}",))
    in_bubblewrap = mode == "bwrap" and not sandbox_policy.bwrap_problem()
    assert asked["keras_replay"] is in_bubblewrap


# --------------------------------------------------------------------------------------------
# Through the harness: recorded from the reference, replayed in the class's kernels
# --------------------------------------------------------------------------------------------

COUNTER = 'from coursekit import figures, replay\nprint("Keras calls:", replay.calls)\nprint("Figures:", figures.shown)'


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_the_harness_records_the_reference_once_and_its_kernels_replay(tmp_path, course_root, data_cache):
    """One worker: the reference is recorded before the first submission, and every kernel replays
    (with more workers, the others grade meanwhile: ``test_figures.py`` checks that case)."""
    assignment = "a03_cnn_mnist_cifar"
    students = {"replay-reference": {}, "replay-net-1-same-padding": {"net_1": "same_padding"}}
    graded, recordings = grade_afresh(tmp_path, course_root, assignment, students, COUNTER, jobs=1)
    entries = collections.Counter(entry.suffix for entry in recordings[0].iterdir())
    # 3 fits, 3 evaluations and 2 predictions; 7 figures (3 histories, 4 of pictures; no confusion matrix)
    assert len(recordings) == 1 and entries == {".record": 8, ".arrays": 8, ".figure": 7}
    rows = (tmp_path / "out" / "grades.csv").read_text()
    assert "replay-reference,a03_cnn_mnist_cifar,18" in rows and "replay-net-1-same-padding,a03_cnn_mnist_cifar,15" in rows

    def calls(notebook, label="Keras calls:"):
        text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
        return ast.literal_eval(text.split(label, 1)[1].splitlines()[0].strip())  # the kernel's counts

    assert calls(graded["replay-reference"]) == {"replayed": 8, "ran": 0, "recorded": 0}
    mistake = calls(graded["replay-net-1-same-padding"])
    assert mistake["ran"] == 3 and mistake["replayed"] == 5  # net_1's fit, evaluate and predict are its own
    assert calls(graded["replay-reference"], "Figures:") == {"replayed": 7, "drawn": 0, "recorded": 0}
    # net_1's own training: its history, and the pictures its predictions got wrong, are drawn
    assert calls(graded["replay-net-1-same-padding"], "Figures:") == {"replayed": 5, "drawn": 2, "recorded": 0}
    printed = "".join(o.get("text", "") for c in graded["replay-reference"].cells if c.cell_type == "code"
                      for o in c.outputs)
    assert printed.count("/step - accuracy: ") == 3  # each replayed fit printed its epoch again


WORKER = '''
import json, sys, zlib
from pathlib import Path
import nbformat
from autograder.cluster.course_version import course_version
from autograder.cluster.remote_job import grade_on_worker
from autograder.gradebook.records import template_gradebook
from autograder.worker.job import Job
assignment, submitted, scratch, decoded = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
template = zlib.compress(template_gradebook(assignment, scratch).read_bytes())
printed = {}
for student in sorted(p.name for p in submitted.iterdir()):
    job = Job(assignment, student, str(submitted / student / assignment), "", "", timeout=600, memory_mb=4096,
              settings=(f"--Sandbox.decoded_data={decoded}",))
    outcome = grade_on_worker(job, template, course_version(assignment))
    cells = nbformat.reads(outcome.notebooks[assignment + ".ipynb"].decode("utf-8"), as_version=4).cells
    printed[student] = [outcome.status, "".join(o.get("text", "") for o in cells[-1]["outputs"])]
print("WORKER:" + json.dumps(printed))
'''


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_a_cluster_worker_records_on_its_own_machine_and_replays(tmp_path, course_root, data_cache):
    """What a Dask worker runs for each submission (``remote_job.grade_on_worker``), in a process
    of its own as a worker is: its first Keras submission has the reference graded on the worker's
    machine once, into that worker's cache folder, and that submission's kernel replays it."""
    from known_submissions.ghosts import ghost_notebook

    assignment = "a04_knn_mlp_transfer"
    for student in ("worker-first",):
        notebook = ghost_notebook(assignment, {})
        notebook.cells.append(new_code_cell(COUNTER))
        folder = tmp_path / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{assignment}.ipynb"))
    (tmp_path / "scratch").mkdir()
    decoded = shared_data.prepare(assignment, str(data_cache))  # the machine's, as other tests use it
    done = subprocess.run([sys.executable, "-c", WORKER, assignment, str(tmp_path / "submitted"), str(tmp_path / "scratch"),
                           decoded],
                          cwd=course_root, env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout.split("WORKER:", 1)[1])
    recordings = list((tmp_path / "cache" / "course-autograder" / replay_store.FOLDER).iterdir())
    kept = [r for r in recordings if not r.name.startswith(".")]
    assert len(kept) == 1, recordings
    entries = collections.Counter(entry.suffix for entry in kept[0].iterdir())
    assert entries[".record"] == entries[".arrays"] > 0 and entries[".figure"] > 0
    for student, (status, text) in printed.items():
        assert status == "graded", (student, text)
        counts = ast.literal_eval(text.split("Keras calls:", 1)[1].splitlines()[0].strip())
        assert counts == {"replayed": entries[".record"], "ran": 0, "recorded": 0}, (student, counts)
        figures = ast.literal_eval(text.split("Figures:", 1)[1].splitlines()[0].strip())
        assert figures == {"replayed": entries[".figure"], "drawn": 0, "recorded": 0}, (student, figures)
