"""Does a worker run nbgrader the same way whether it forks it from a server that has nbgrader
imported or starts it as a command, and give kernels their share of the cores?"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.settings import Sandbox
from autograder.worker import job as worker_job
from autograder.worker import processes
from autograder.worker.failures import GraderFailed
from known_submissions.ghosts import write_class
from autograder.gradebook.records import template_gradebook
from autograder.worker.nbgrader_cli import COURSE_ROOT, nbgrader_env, put_scripts_on_path
from boundary_runs import scratch_entries

ASSIGNMENT = "a01_santa_logreg"


@pytest.fixture(scope="module")
def reference_job(tmp_path_factory, data_cache):
    put_scripts_on_path()
    work = tmp_path_factory.mktemp("worker")
    write_class(ASSIGNMENT, work / "submitted", {"ghost-reference": {}})
    template = template_gradebook(ASSIGNMENT, work)
    return worker_job.Job(ASSIGNMENT, "ghost-reference", str(work / "submitted" / "ghost-reference" / ASSIGNMENT),
                      str(COURSE_ROOT), str(template), timeout=300, memory_mb=Sandbox().memory_mb,
                          threads=1)


def test_processes_forked_from_several_threads_at_once_each_report_their_own_exit_status():
    context = processes._fork_server()
    if context is None:
        pytest.skip("this process may not have children of its own")
    statuses = [0, 3] * 100
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda status: processes.run_forked(context, os._exit, (status,), 60), statuses))
    assert got == statuses


def test_forked_and_started_nbgrader_grade_alike(reference_job, monkeypatch):
    assert processes._fork_server() is not None  # a test process may have children: the fork path
    scratch_before = scratch_entries()
    forked = worker_job.grade(reference_job)
    # The forked process ends past atexit: it removes its own run folder (its kernel's sockets).
    assert set(scratch_entries()) - set(scratch_before) == set()
    monkeypatch.setattr(processes, "_fork_server", lambda: None)
    started = worker_job.grade(reference_job)
    assert forked.status == started.status == "graded", (forked.message, started.message)
    assert sorted(forked.grades) == sorted(started.grades)
    assert sum(score for _, _, score, _, _ in forked.grades) == 13
    assert forked.peak_memory_mb > 50 and started.peak_memory_mb > 50


def test_a_forked_nbgrader_reports_its_failure_and_output(tmp_path):
    code, log, _ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path,
                                            nbgrader_env(), memory_mb=0, timeout=120)
    assert code != 0 and "no_such_assignment" in log


def test_nbgrader_started_as_a_command_reports_its_failure_and_output_too(tmp_path, monkeypatch):
    """Where a process may not fork (a daemonic Dask worker), nbgrader runs as a command, its output
    into a file as well (read from a pipe whole before, whatever the kernel wrote there)."""
    monkeypatch.setattr(processes, "_fork_server", lambda: None)
    code, log, _ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path,
                                                  nbgrader_env(), memory_mb=0, timeout=120)
    assert code != 0 and "no_such_assignment" in log


def test_only_the_end_of_an_nbgrader_process_output_is_read(tmp_path, monkeypatch):
    """The student's kernel writes into that output what its code writes to the file descriptors 1
    and 2 (up to the sandbox's file size limit, 512 MiB): only the end is read, where nbgrader's errors are."""
    monkeypatch.setattr(processes, "LOG_KEPT", 1000)
    log = tmp_path / "log"
    log.write_bytes(b"x" * 5000 + b"\nTraceback (most recent call last):\nOSError: the end\n")
    text = processes.read_log(log)
    assert text.startswith("[the first ") and text.endswith("OSError: the end\n") and len(text) < 1100
    log.write_bytes(b"short\n")
    assert processes.read_log(log) == "short\n"
    assert processes.read_log(tmp_path / "none") == ""


FLOODS_ITS_OUTPUT = """
import os
os.write(2, b"HEAD-MARK\\n")
for _ in range(20):  # 20 MiB on nbgrader's own standard error, as a long-typed iopub message makes it log
    os.write(2, b"z" * (1 << 20) + b"\\n")
os.write(2, b"TAIL-MARK\\n")
target = os.readlink("/proc/self/fd/2")  # where the output goes: a file of the grader's, or a pipe
with open("seen.txt", "w") as seen:
    seen.write(str(os.stat(target).st_size if os.path.isfile(target) else 0))
"""


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "command"])
def test_an_nbgrader_process_output_is_kept_to_its_start_and_end_as_it_is_written(tmp_path, monkeypatch, forked):
    """nbgrader logs what the student's kernel makes it log: written to a file directly, that grew
    by gigabytes for one student (the disk filled, and the others' grading failed for it)."""
    if not forked:
        monkeypatch.setattr(processes, "_fork_server", lambda: None)
    (tmp_path / "nbgrader_config.py").write_text(FLOODS_ITS_OUTPUT)
    code, log, _ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path, nbgrader_env(),
                                                  memory_mb=0, timeout=120)
    kept = processes.LOG_HEAD + processes.LOG_TAIL + 200
    assert int((tmp_path / "seen.txt").read_text()) <= kept < 1 << 20  # no file of the grader's took it all
    assert len(log) <= kept
    assert log.startswith("HEAD-MARK") and "bytes of the nbgrader process's output were not kept]" in log
    assert code != 0 and "TAIL-MARK" in log and "no_such_assignment" in log  # nbgrader's own error, at the end


def test_a_forked_nbgrader_past_its_time_limit_is_stopped(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("import time\ntime.sleep(30)\n")
    code, _, _ = processes.run_nbgrader_limited(["autograde", "anything"], tmp_path, nbgrader_env(),
                                          memory_mb=0, timeout=3)
    assert code is None


def test_kernels_get_their_share_of_the_cores(reference_job, monkeypatch):
    assert worker_job.thread_settings(0) == {}
    assert worker_job.thread_settings(2) == {name: "2" for name in worker_job.THREAD_VARIABLES}
    seen = {}

    def record(argv, folder, env, memory_mb, timeout):
        seen.update(env)
        return 1, "stopped by the test", 0.0
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", record)
    outcome = worker_job.grade(reference_job)  # threads=1
    assert outcome.status == "crashed" and "stopped by the test" in outcome.message
    assert all(seen[name] == "1" for name in worker_job.THREAD_VARIABLES)


def test_the_environment_reaches_a_forked_nbgrader(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "import os, pathlib\npathlib.Path('seen.txt').write_text(os.environ['OPENBLAS_NUM_THREADS'])\n")
    processes.run_nbgrader_limited(["autograde", "anything"], tmp_path, {**nbgrader_env(), **worker_job.thread_settings(1)},
                                memory_mb=0, timeout=120)
    assert (tmp_path / "seen.txt").read_text() == "1"


def test_the_schema_head_read_from_the_scripts_is_the_one_alembic_gives():
    import nbgrader.api

    from autograder.worker import nbgrader_cli

    put_scripts_on_path()
    asked = nbgrader.api.get_alembic_version.__wrapped__()  # nbgrader's own way: the alembic command
    assert nbgrader_cli.alembic_head() == asked


def test_scripts_that_do_not_name_one_head_plainly_are_not_guessed(tmp_path):
    from autograder.worker.nbgrader_cli import head_of_revisions

    (tmp_path / "a.py").write_text("revision = 'aaa'\ndown_revision = None\n")
    (tmp_path / "b.py").write_text("revision = 'bbb'\ndown_revision = 'aaa'\n")
    assert head_of_revisions(tmp_path) == "bbb"
    (tmp_path / "c.py").write_text("revision = 'ccc'\ndown_revision = 'aaa'\n")  # two heads
    assert head_of_revisions(tmp_path) is None
    (tmp_path / "c.py").write_text("revision = 'ccc'\ndown_revision = ('aaa', 'bbb')\n")  # a merge
    assert head_of_revisions(tmp_path) is None
    (tmp_path / "c.py").write_text("revision = make_id()\ndown_revision = 'bbb'\n")
    assert head_of_revisions(tmp_path) is None


def test_a_fork_server_without_keras_is_replaced_when_keras_is_wanted_and_kept_after(tmp_path):
    from multiprocessing import forkserver

    if forkserver._forkserver._forkserver_pid is not None:  # one an earlier test started, maybe with Keras
        forkserver._forkserver._stop()
        processes._server_preload = None
    processes.start_fork_server()
    plain = forkserver._forkserver._forkserver_pid
    assert not set(processes.KERAS_PRELOAD) & set(processes._server_preload)
    processes.start_fork_server(keras=True)
    with_keras = forkserver._forkserver._forkserver_pid
    assert with_keras != plain and set(processes.KERAS_PRELOAD) <= set(processes._server_preload)
    processes.start_fork_server()  # a later assignment without Keras keeps the server that has it
    assert forkserver._forkserver._forkserver_pid == with_keras
    code, log, _ = processes.run_nbgrader_limited(["--version"], tmp_path, nbgrader_env(), memory_mb=0, timeout=120)
    assert code == 0 and "nbgrader version" in log  # the new server forks nbgrader as the old one did


def test_each_setting_reaches_nbgrader_once():
    """The coordinator's settings may name the memory limit too (grade_class(memory_mb=...)):
    nbgrader gets it once, the job's, since traitlets refuses a setting given twice."""
    from autograder.worker.job import Job, nbgrader_settings

    job = Job("a01_santa_logreg", "s", "/x/s/a01_santa_logreg", "/course", "/t.db", timeout=60, memory_mb=3072,
              settings=("--Sandbox.memory_mb=3072", "--SurvivingExecute.cell_timeout=10"), kernel_zygote="/z")
    argv = nbgrader_settings(job)
    names = [setting.partition("=")[0] for setting in argv]
    assert sorted(names) == sorted(set(names))
    assert "--Sandbox.memory_mb=3072" in argv and "--SurvivingExecute.cell_timeout=10" in argv
    assert "--Sandbox.released=/course/release/a01_santa_logreg" in argv and "--Sandbox.zygote_socket=/z" in argv


def test_an_nbgrader_process_that_failed_on_an_os_error_is_the_graders_failure_not_a_crash(reference_job,
                                                                                         monkeypatch):
    """A socket path too long for the worker's scratch folder made every submission 'crashed'."""
    log = ("[AutogradeApp | ERROR] Traceback (most recent call last):\n"
           '      File "cell.py", line 116, in decide\n        server.bind(path)\n'
           "    OSError: AF_UNIX path too long\n"
           "[AutogradeApp | ERROR] There was an error processing assignment 'a01_santa_logreg'\n")
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: (1, log, 0.0))
    with pytest.raises(GraderFailed, match="on the grader's side .*OSError: AF_UNIX path too long"):
        worker_job.grade(reference_job)
    # The notebook's own failure, after a line the student's kernel wrote on its stderr (which
    # nbgrader's log keeps) to pass it off as the machine's: still the student's.
    student_made = ("OSError: [Errno 28] No space left on device\n"
                    + log.replace("OSError: AF_UNIX path too long", "ValueError: the notebook is not valid JSON"))
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: (1, student_made, 0.0))
    outcome = worker_job.grade(reference_job)
    assert outcome.status == "crashed" and "not valid JSON" in outcome.message
    forged_alone = "OSError: [Errno 28] No space left on device\n" + log.splitlines()[-1]  # no traceback of nbgrader's
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: (1, forged_alone, 0.0))
    assert worker_job.grade(reference_job).status == "crashed"


DISK_FULL = ("[AutogradeApp | ERROR] Traceback (most recent call last):\n"
             '      File "sqlalchemy/engine/base.py", line 1967, in _exec_single_context\n'
             "        self.dialect.do_execute(\n"
             "    sqlite3.OperationalError: database or disk is full\n"
             "    \n    The above exception was the direct cause of the following exception:\n    \n"
             "[AutogradeApp | ERROR] Traceback (most recent call last):\n"
             '      File "nbgrader/converters/base.py", line 389, in convert_notebooks\n'
             "        self.init_assignment(gd['assignment_id'], gd['student_id'])\n"
             "    sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database or disk is full\n"
             "    [SQL: INSERT INTO submitted_notebook (id, name) VALUES (?, ?)]\n"
             "    (Background on this error at: https://sqlalche.me/e/20/e3q8)\n"
             "[AutogradeApp | ERROR] There was an error accessing the nbgrader database. This may occur if you "
             "recently upgraded nbgrader.\n")


def test_a_full_disk_under_the_graders_gradebook_is_the_graders_failure(reference_job, monkeypatch):
    """A full disk made nbgrader's gradebook fail for every student graded meanwhile, each then
    'crashed' with 0 points."""
    from autograder.worker.failures import grader_side_error

    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: (1, DISK_FULL, 0.0))
    with pytest.raises(GraderFailed, match="on the grader's side .*sqlalchemy.exc.OperationalError: .*disk is full"):
        worker_job.grade(reference_job)
    alone = "[AutogradeApp | ERROR] Traceback (most recent call last):\n    sqlite3.OperationalError: database or disk is full\n"
    assert grader_side_error(alone) == "sqlite3.OperationalError: database or disk is full"
    # The student's kernel writes the same lines on its stderr (which nbgrader's log keeps), before
    # or after nbgrader's own traceback of the notebook's own failure: still the student's.
    notebook_failed = ("[AutogradeApp | ERROR] Traceback (most recent call last):\n"
                       '      File "nbformat/reader.py", line 14, in parse_json\n'
                       "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON\n")
    for student_made in (DISK_FULL + notebook_failed, notebook_failed + "sqlite3.OperationalError: database or disk is full\n"
                         + "OSError: [Errno 28] No space left on device\n"):
        assert grader_side_error(student_made) == "", student_made
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: (1, DISK_FULL + notebook_failed, 0.0))
    outcome = worker_job.grade(reference_job)
    assert outcome.status == "crashed" and "NotJSONError" in outcome.message


def test_the_course_processes_validate_notebooks_without_the_iri_grammars():
    """autograder/__init__.py keeps jsonschema's optional IRI checker out of the course's processes
    (and so out of each nbgrader process, forked from a server that imports autograder first)."""
    import subprocess
    import sys

    check = ("import sys{}\n"
             "import nbformat\n"
             "notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
             "nbformat.validate(notebook)\n"
             "notebook.cells[0]['cell_type'] = 'not a cell type'\n"
             "try:\n    nbformat.validate(notebook)\nexcept nbformat.ValidationError:\n    print('refused')\n"
             "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)\n")

    def run(first=""):
        return subprocess.run([sys.executable, "-c", check.format(first)], cwd=COURSE_ROOT, capture_output=True,
                              text=True, check=True).stdout.split()

    assert run(", autograder") == ["refused", "False"]  # still validates, without the grammars
    assert run() == ["refused", "True"]  # without autograder first, jsonschema imports them here
    assert processes.PRELOAD[0] == "autograder"


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_a_kernel_that_did_not_come_from_the_zygote_is_said_in_the_workers_log(reference_job, caplog):
    """The zygote makes grading faster, never different: where it cannot serve, the kernel starts
    afresh and the submission is graded alike. Why it could not was only in nbgrader's log, which
    the worker does not keep; a cluster's operator reads it in the worker's log now."""
    import dataclasses
    import logging

    from autograder.sandbox import zygote

    if not zygote.usable(Sandbox()):
        pytest.skip("kernels are forked only as root with bubblewrap")
    # Imports read the thread settings: a zygote started with others refuses the job's kernels.
    env = {**os.environ, **worker_job.thread_settings(1), "OPENBLAS_NUM_THREADS": "7"}
    with zygote.Zygote(str(COURSE_ROOT / "release" / ASSIGNMENT), env, Sandbox()) as refusing:
        assert refusing.ready(), "the zygote did not start"
        job = dataclasses.replace(reference_job, kernel_zygote=refusing.socket_path)
        with caplog.at_level(logging.WARNING, logger="autograder.worker.job"):
            outcome = worker_job.grade(job)
        assert refusing.stats()["kernels_forked"] == 0
    assert outcome.status == "graded" and sum(score for _, _, score, _, _ in outcome.grades) == 13
    warned = [r.getMessage() for r in caplog.records if r.name == "autograder.worker.job"]
    assert len(warned) == 1, caplog.text
    assert warned[0].startswith("ghost-reference: a kernel did not come from the zygote")
    assert "OPENBLAS_NUM_THREADS" in warned[0], warned


def test_a_kernel_that_sends_long_typed_messages_is_graded_and_nbgrader_log_stays_small(tmp_path, reference_job,
                                                                                          monkeypatch):
    """The boundary's floods_the_graders_log, through the worker: graded in full, and nbgrader's
    log says once that such messages were dropped (200 MB of it before, each type logged whole)."""
    from dataclasses import replace

    from known_submissions import boundary

    case = next(c for c in boundary.CASES if c.name == "floods_the_graders_log")
    folder = tmp_path / "submitted" / case.name / ASSIGNMENT
    folder.mkdir(parents=True)
    case.build(folder)
    logs = []

    def run(*args):
        returncode, log, peak = processes.run_nbgrader_limited(*args)
        logs.append(log)
        return returncode, log, peak
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", run)
    outcome = worker_job.grade(replace(reference_job, student_id=case.name, submission=str(folder)))
    assert (outcome.status, sum(score for _, _, score, _, _ in outcome.grades)) == ("graded", case.expected_score)
    assert len(logs[0]) < 10_000 and "z" * 100 not in logs[0], len(logs[0])
    assert logs[0].count("of a type not handled, dropped") == 1
