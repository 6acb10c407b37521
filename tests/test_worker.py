"""Does a worker run nbgrader the same way whether it forks it from a server that has nbgrader
imported or starts it as a command, and give kernels their share of the cores?"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import nbformat
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
    code, log, *_ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path,
                                            nbgrader_env(), memory_mb=0, timeout=120)
    assert code != 0 and "no_such_assignment" in log


def test_nbgrader_started_as_a_command_reports_its_failure_and_output_too(tmp_path, monkeypatch):
    """Where a process may not fork (a daemonic Dask worker), nbgrader runs as a command, its output
    into a file as well (read from a pipe whole before, whatever the kernel wrote there)."""
    monkeypatch.setattr(processes, "_fork_server", lambda: None)
    code, log, *_ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path,
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
import re
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
    code, log, *_ = processes.run_nbgrader_limited(["autograde", "no_such_assignment"], tmp_path, nbgrader_env(),
                                                  memory_mb=0, timeout=120)
    kept = processes.LOG_HEAD + processes.LOG_TAIL + 200
    assert int((tmp_path / "seen.txt").read_text()) <= kept < 1 << 20  # no file of the grader's took it all
    assert len(log) <= kept
    assert log.startswith("HEAD-MARK") and "bytes of the nbgrader process's output were not kept]" in log
    assert code != 0 and "TAIL-MARK" in log and "no_such_assignment" in log  # nbgrader's own error, at the end


def test_a_forked_nbgrader_past_its_time_limit_is_stopped(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("import time\ntime.sleep(30)\n")
    code, *_ = processes.run_nbgrader_limited(["autograde", "anything"], tmp_path, nbgrader_env(),
                                          memory_mb=0, timeout=3)
    assert code is None


def test_kernels_get_their_share_of_the_cores(reference_job, monkeypatch):
    assert worker_job.thread_settings(0) == {}
    assert worker_job.thread_settings(2) == {name: "2" for name in worker_job.THREAD_VARIABLES}
    seen = {}

    def record(argv, folder, env, memory_mb, timeout):
        seen.update(env)
        return processes.Finished(1, "stopped by the test", 0.0)
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


def test_nbgraders_metadata_checks_raise_what_stock_nbgrader_raises_with_the_schema_checked_once(monkeypatch):
    import jsonschema
    import nbgrader.nbgraderformat.common as common
    from nbformat.v4 import new_code_cell, new_notebook
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    from autograder.worker import nbgrader_main

    assert isinstance(common.jsonschema, nbgrader_main._SchemaCheckedOnce)  # as nbgrader runs in a worker
    fresh = nbgrader_main._SchemaCheckedOnce()
    monkeypatch.setattr(common, "jsonschema", fresh)
    schema = MetadataValidatorV3().schema
    cls = jsonschema.validators.validator_for(schema)
    checked, check = [], cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s, *a, **k: checked.append(1) or check(s, *a, **k)))
    good = {"grade": True, "grade_id": "test_sigmoid", "locked": True, "points": 2, "schema_version": 3,
            "solution": False, "task": False}
    bad = [{**good, "points": "two"}, {**good, "points": -1}, {**good, "grade_id": "no spaces"},
           {**good, "solution": "yes", "locked": None}, {**good, "schema_version": 4}]
    for meta in bad:
        with pytest.raises(jsonschema.ValidationError) as stock:
            jsonschema.validate(meta, schema)
        with pytest.raises(jsonschema.ValidationError) as ours:
            fresh.validate(meta, schema)
        assert (str(ours.value), list(ours.value.path)) == (str(stock.value), list(stock.value.path))
    assert len(checked) == len(bad) + 1  # stock nbgrader's check at each call, this one's at its first
    checked.clear()
    cells = [new_code_cell("x = 1", metadata={"nbgrader": dict(good, grade_id=f"cell_{i}")}) for i in range(20)]
    MetadataValidatorV3().validate_nb(new_notebook(cells=cells))  # nbgrader's own check, through the module
    MetadataValidatorV3().validate_nb(new_notebook(cells=cells))  # a second validator reads its schema again
    assert checked == []  # checked once already, above
    cells[13].metadata["nbgrader"]["points"] = "two"
    with pytest.raises(jsonschema.ValidationError, match="'two' is not of type 'number'"):
        MetadataValidatorV3().validate_nb(new_notebook(cells=cells))


def test_nbgraders_process_opens_each_gradebook_with_one_engine_and_reads_the_file_as_it_is(tmp_path, monkeypatch):
    """nbgrader makes an engine at each opening of the gradebook; its process keeps one per
    database (nbgrader_main._EnginePerDatabase), with the SQL compiled at the first opening.
    Closing still closes its connections: a file replaced meanwhile is read as it is then."""
    import subprocess
    import sys

    import nbgrader.api
    from nbgrader.api import Gradebook

    from autograder.worker import nbgrader_main

    put_scripts_on_path()  # nbgrader's alembic, which a new gradebook asks its schema's version
    stock = nbgrader.api.create_engine
    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader_main._EnginePerDatabase(stock))
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_student("ada")
        engine = gradebook.engine
    with Gradebook(url) as gradebook:
        assert gradebook.engine is engine
        assert [s.id for s in gradebook.students] == ["ada"]
        compiled = len(engine._compiled_cache)
    with Gradebook(url) as gradebook:
        assert [s.id for s in gradebook.students] == ["ada"]
        assert len(engine._compiled_cache) == compiled > 0  # nothing compiled again
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert other.engine is not engine
    (tmp_path / "gradebook.db").unlink()
    monkeypatch.setattr(nbgrader.api, "create_engine", stock)
    with Gradebook(url) as replaced:  # another gradebook in its place, by another process
        replaced.add_student("grace")
    monkeypatch.undo()
    assert nbgrader.api.create_engine is stock
    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader_main._EnginePerDatabase(stock))
    nbgrader.api.create_engine.engines[(url, (), (("echo", False), ("future", True)))] = engine
    with Gradebook(url) as gradebook:
        assert gradebook.engine is engine
        assert [s.id for s in gradebook.students] == ["grace"]
    code = ("import sys, nbgrader.api\nfrom autograder.worker import nbgrader_main\n"
            "sys.argv = ['nbgrader', '--version']\ntry:\n    nbgrader_main.run()\nexcept SystemExit:\n    pass\n"
            "print(type(nbgrader.api.create_engine).__name__)")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=nbgrader_env(),
                         cwd=COURSE_ROOT, timeout=120)
    assert ran.stdout.split()[-1:] == ["_EnginePerDatabase"], ran.stdout + ran.stderr  # in nbgrader's process


def test_nbgraders_process_writes_only_the_scratch_gradebook_it_is_told_of_without_waiting_for_the_disk(
        tmp_path, monkeypatch):
    """The worker's copy of the gradebook and the workers' template are written with SQLite's
    synchronous=OFF (nbgrader_main); every other gradebook, the course's, with SQLite's default
    (FULL, 2). The variable that names the scratch gradebook reaches nothing nbgrader starts."""
    import subprocess
    import sys

    from autograder.gradebook import records
    from autograder.worker.nbgrader_cli import SCRATCH_GRADEBOOK

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no template kept: one is made
    scratch_url, course_url = (f"sqlite:///{tmp_path / name}" for name in ("scratch.db", "course.db"))
    code = ("import os, sys, sqlalchemy\nfrom nbgrader.api import Gradebook\n"
            "from autograder.worker import nbgrader_main\n"
            "sys.argv = ['nbgrader', '--version']\ntry:\n    nbgrader_main.run()\nexcept SystemExit:\n    pass\n"
            f"for url in ({scratch_url!r}, {course_url!r}, {scratch_url!r}):\n"
            "    with Gradebook(url) as gradebook:\n"
            "        gradebook.add_student('ada') if not gradebook.students else None\n"
            "        print(gradebook.db.execute(sqlalchemy.text('PRAGMA synchronous')).scalar())\n"
            f"print(os.environ.get({SCRATCH_GRADEBOOK!r}, 'unset'))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=COURSE_ROOT, timeout=120,
                         env=nbgrader_env({SCRATCH_GRADEBOOK: scratch_url}))
    assert ran.stdout.split()[-4:] == ["0", "2", "0", "unset"], ran.stdout + ran.stderr
    put_scripts_on_path()
    told = []
    monkeypatch.setattr(records, "run_nbgrader_limited",
                        lambda argv, folder, env, **limits: told.append(env.get(SCRATCH_GRADEBOOK, "")) or
                        processes.Finished(0, "", 0.0))
    records.template_gradebook(ASSIGNMENT, tmp_path)
    records.ensure_assignment_in_gradebook(ASSIGNMENT, course_url)
    assert told == [f"sqlite:///{tmp_path / 'template-gradebook.db'}", ""]
    # the worker's nbgrader processes: the copy of the gradebook in their scratch course, which
    # they are given as their gradebook
    given = []
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda argv, folder, env, *limits: given.append(
        (env[SCRATCH_GRADEBOOK], env["NBGRADER_DB_URL"], folder)) or processes.Finished(1, "", 0.0))
    (tmp_path / "template-gradebook.db").touch()
    write_class(ASSIGNMENT, tmp_path / "submitted", {"ghost-blank": None})
    worker_job.grade(worker_job.Job(ASSIGNMENT, "ghost-blank", str(tmp_path / "submitted" / "ghost-blank" / ASSIGNMENT),
                                    str(COURSE_ROOT), str(tmp_path / "template-gradebook.db"), timeout=60,
                                    memory_mb=0, threads=1))
    [(scratch, gradebook, folder)] = given
    assert scratch == gradebook == f"sqlite:///{folder / 'gradebook.db'}"


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


def test_what_the_fork_server_imported_is_out_of_the_collectors_sight_in_its_processes():
    """Its imports (nbgrader, nbconvert, SQLAlchemy, NumPy) are frozen (``worker/frozen.py``):
    a forked process's full collections walk only what it makes itself."""
    processes.start_fork_server()
    assert processes._server_preload[-1] == "autograder.worker.frozen"
    forked = processes._fork_server().Process(
        target=exec, args=("import gc, os\nos._exit(0 if gc.get_freeze_count() > 50000 else 3)",))
    forked.start()
    forked.join(60)
    assert forked.exitcode == 0, "the forked process inherited fewer than 50,000 frozen objects"


def test_a_stopped_fork_server_is_replaced_by_a_new_one_that_serves():
    """What a benchmark's rounds do (``benchmarks/grading_throughput.py``): each grading starts
    its own server, as a new command does; the one before is gone."""
    processes.start_fork_server()
    from multiprocessing import forkserver

    first = forkserver._forkserver._forkserver_pid
    assert processes.stop_fork_server()
    assert not processes.fork_server_running() and processes._server_preload is None
    assert processes.stop_fork_server()  # none running: nothing to do
    with pytest.raises(ChildProcessError):
        os.waitpid(first, os.WNOHANG)  # reaped: the old server is gone
    processes.start_fork_server()
    assert processes.fork_server_running() and forkserver._forkserver._forkserver_pid != first
    forked = processes._fork_server().Process(target=exec, args=("import os\nos._exit(7)",))
    forked.start()
    forked.join(60)
    assert forked.exitcode == 7


def test_the_fork_servers_processes_find_imported_what_nbgrader_and_the_tests_import_on_first_use(tmp_path):
    """What an nbgrader process would import on its first use of each (SQLite for the gradebook,
    the classes the course's configuration names by their path, the kernel's spec, the NumPy
    submodules the tests reach) the server imported: a forked process that uses them all imports
    nothing."""
    processes.start_fork_server()
    report = tmp_path / "imported.txt"
    forked = processes._fork_server().Process(target=exec, args=(
        "import sys\n"
        "before = set(sys.modules)\n"
        "import numpy as np, sqlalchemy\n"
        "from jupyter_client.kernelspec import KernelSpecManager\n"
        "from traitlets.utils.importstring import import_item\n"
        "engine = sqlalchemy.create_engine('sqlite://')\n"
        "engine.connect().close()\n"
        "for name in ('autograder.gate.collect.GatedCollect', 'autograder.gate.release_feedback.CheckedReleaseFeedback',\n"
        "             'autograder.pages.formgrader.PagePolicy'):\n"
        "    import_item(name)\n"
        "KernelSpecManager().get_kernel_spec('python3')\n"
        "np.unique(np.random.default_rng(0).normal(size=3))\n"
        f"open({str(report)!r}, 'w').write(' '.join(sorted(set(sys.modules) - before)))\n",))
    forked.start()
    forked.join(60)
    assert forked.exitcode == 0
    assert report.read_text() == "", f"imported by the forked process itself: {report.read_text()}"


def test_the_fork_servers_processes_inherit_the_released_cells_rendered_and_the_tests_compiled():
    """Done once in the server (``worker/warm.py``), not once in every feedback page and every
    autograde."""
    from autograder import course, course_checks

    processes.start_fork_server()
    files = [str(path) for a in course.assignment_ids() for path in course_checks.module_files(a).values()]
    visible = [str(course_checks.module_files(a)[course_checks.VISIBLE]) for a in ("a01_santa_logreg", "a02_cat_dnn")]
    forked = processes._fork_server().Process(target=exec, args=(
        "import os\nfrom pathlib import Path\nfrom autograder.pages.page_budget import _highlighter\n"
        "from autograder.pages.html_safety import _KNOWN_HTML\n"

        "from autograder.course_checks import _compiled\n"
        "from autograder.decisions import session\n"
        f"compiled = set(map(Path, {files!r})) <= set(_compiled)\n"
        "held = set(session._sources)\n"
        "session.ast = None  # reading a class's source again would fail here\n"
        f"bowl = session.class_sources({visible[0]!r}, _compiled[Path({visible[0]!r})][0].decode())\n"
        f"read = set({visible!r}) <= held and bowl['QuadraticBowl'].startswith('class QuadraticBowl:')\n"
        "os._exit(3 if len(_highlighter('ipython3').known) < 100 else 5 if len(_KNOWN_HTML) < 100 else\n"
        "         4 if not compiled else 6 if not read else 0)",))
    forked.start()
    forked.join(60)
    assert forked.exitcode != 3, "the forked process inherited fewer than 100 coloured cells"
    assert forked.exitcode != 5, "the forked process inherited fewer than 100 markdown cells rendered"
    assert forked.exitcode != 4, "the forked process inherited the test modules not compiled"
    assert forked.exitcode == 0, "the forked process inherited the visible tests' classes not read"


@pytest.mark.parametrize("start, run_as", [("start_fork_server", "script"), ("first_process", "script"),
                                            ("start_fork_server", "module")])
def test_a_script_that_grades_in_process_is_run_once_in_the_fork_server_not_in_each_process(tmp_path, start, run_as):
    """multiprocessing runs the main script or module of the process that started a forked
    process in that process, unless the server has: warm.py runs it there once, as __mp_main__
    (what a function of the script that a process is given needs), and the server's processes
    do not run it again. Whether the server was started on purpose or by the first process."""
    import subprocess
    import sys

    ran = tmp_path / "ran.txt"
    script = tmp_path / "grades_in_process.py"
    script.write_text(
        "import os\n"
        f"with open({str(ran)!r}, 'a') as log:\n"
        "    log.write(f'{os.getpid()} {__name__}\\n')\n\n"
        "def main():\n"
        "    from autograder.worker import processes\n"
        "    from autograder.worker.nbgrader_cli import nbgrader_env, put_scripts_on_path\n"
        "    put_scripts_on_path()\n"
        f"    if {start == 'start_fork_server'}:\n"
        "        processes.start_fork_server()\n"
        "    for _ in range(3):\n"
        f"        finished = processes.run_nbgrader_limited(['--version'], {str(tmp_path)!r}, nbgrader_env(),\n"
        "                                                  memory_mb=0, timeout=120)\n"
        "        assert finished.exitcode == 0, finished.log\n\n"
        "if __name__ == '__main__':\n"
        "    main()\n")
    command = [str(script)] if run_as == "script" else ["-m", script.stem]
    finished = subprocess.run([sys.executable, *command], cwd=COURSE_ROOT, capture_output=True, text=True, timeout=300,
                              env={**nbgrader_env(), "PYTHONPATH": os.pathsep.join([str(COURSE_ROOT), str(tmp_path)])})
    assert finished.returncode == 0, finished.stderr[-3000:]
    runs = [line.split() for line in ran.read_text().splitlines()]
    assert [name for _, name in runs] == ["__main__", "__mp_main__"], runs  # the script, then the server
    assert len({pid for pid, _ in runs}) == 2


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
    code, log, *_ = processes.run_nbgrader_limited(["--version"], tmp_path, nbgrader_env(), memory_mb=0, timeout=120)
    assert code == 0 and "nbgrader version" in log  # the new server forks nbgrader as the old one did


def test_each_setting_reaches_nbgrader_once():
    """The coordinator's settings may name the memory limit too (grade_class(memory_mb=...)):
    nbgrader gets it once, the job's, since traitlets refuses a setting given twice."""
    import dataclasses

    from autograder.worker.job import Job, nbgrader_settings

    job = Job("a01_santa_logreg", "s", "/x/s/a01_santa_logreg", "/course", "/t.db", timeout=60, memory_mb=3072,
              settings=("--Sandbox.memory_mb=3072", "--SurvivingExecute.cell_timeout=10"), kernel_zygote="/z")
    argv = nbgrader_settings(job)
    names = [setting.partition("=")[0] for setting in argv]
    assert sorted(names) == sorted(set(names))
    assert "--Sandbox.memory_mb=3072" in argv and "--SurvivingExecute.cell_timeout=10" in argv
    assert "--Sandbox.released=/course/release/a01_santa_logreg" in argv and "--Sandbox.zygote_socket=/z" in argv
    assert "--Exporter.optimistic_validation=True" in argv  # the gate checked the notebook's format
    job = dataclasses.replace(job, settings=("--Exporter.optimistic_validation=False",))
    argv = nbgrader_settings(job)
    assert "--Exporter.optimistic_validation=False" in argv and "--Exporter.optimistic_validation=True" not in argv


# An nbgrader_config.py for a scratch course: nbgrader's process fails as it starts on the submission,
# with RAISED, after FORGED has been written to its standard error, as a student's kernel can.
FAILS_AS_IT_GRADES = """
import os
import re
import sqlite3

import sqlalchemy.exc
from nbgrader.converters import autograde
from nbgrader.preprocessors.execute import UnresponsiveKernelError


def init_assignment(self, assignment_id, student_id):
    os.write(2, {forged!r})
    raise {raised}


autograde.Autograde.init_assignment = init_assignment
"""
FORGED_TRACEBACK = (b"[AutogradeApp | ERROR] Traceback (most recent call last):\n"
                    b'      File "nbgrader/converters/base.py", line 386, in convert_notebooks\n'
                    b"    OSError: [Errno 28] No space left on device\n"
                    b"    sqlite3.OperationalError: database or disk is full\n")
RAISED = {  # what the process raises: what the worker is told
    "OSError(28, 'No space left on device')": "OSError: [Errno 28] No space left on device",
    "FileNotFoundError(2, 'gone from the scratch folder')": "FileNotFoundError: [Errno 2] gone from the scratch folder",
    ("sqlalchemy.exc.OperationalError('INSERT', {}, sqlite3.OperationalError('database or disk is full'))"):
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database or disk is full",
    "ValueError('the notebook is not valid JSON')": "",  # the notebook's own failure
    "UnresponsiveKernelError()": "",  # the kernel's: nbgrader logs no traceback of its own for it
}


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "command"])
@pytest.mark.parametrize("raised", list(RAISED))
def test_an_nbgrader_process_says_apart_from_its_output_whether_it_failed_on_the_machine(tmp_path, monkeypatch,
                                                                                         forked, raised):
    """The worker decided from the end of the process's output, where the student's kernel writes
    too: a whole traceback of a full disk written there, with no traceback of nbgrader's after it,
    made the notebook's own failure the grader's (graded three times, then 'error')."""
    if not forked:
        monkeypatch.setattr(processes, "_fork_server", lambda: None)
    (tmp_path / "nbgrader_config.py").write_text(FAILS_AS_IT_GRADES.format(forged=FORGED_TRACEBACK, raised=raised))
    folder = tmp_path / "submitted" / "s1" / "hw"
    folder.mkdir(parents=True)
    (folder / "hw.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    finished = processes.run_nbgrader_limited(["autograde", "hw", "--student=s1", "--create", "--force"], tmp_path,
                                              nbgrader_env(), memory_mb=0, timeout=120)
    assert finished.exitcode == 1 and FORGED_TRACEBACK.decode() in finished.log
    assert finished.failure.split("\n")[0] == RAISED[raised], finished.log  # (SQLAlchemy adds lines of its own)


def test_the_machines_failures_are_told_by_their_class():
    import sqlite3

    import sqlalchemy.exc

    from autograder.worker.failures import machine_failure

    assert machine_failure(ConnectionResetError(104, "reset")) == "ConnectionResetError: [Errno 104] reset"
    assert machine_failure(sqlite3.OperationalError("database is locked")) == "sqlite3.OperationalError: database is locked"
    assert machine_failure(sqlalchemy.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE"))) == ""
    assert machine_failure(RuntimeError("OSError: [Errno 28] No space left on device")) == ""
    assert len(machine_failure(OSError("x" * 10_000))) == 300


@pytest.mark.parametrize("failure", ["OSError: AF_UNIX path too long",
                                     "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database or disk is full"])
def test_an_nbgrader_process_that_failed_on_the_machine_is_the_graders_failure_not_a_crash(reference_job, monkeypatch,
                                                                                           failure):
    """A socket path too long for the worker's scratch folder made every submission 'crashed'; a
    full disk under nbgrader's gradebook failed every student graded meanwhile, each 'crashed' with 0."""
    log = f"[AutogradeApp | ERROR] Traceback (most recent call last):\n    {failure}\n"
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: processes.Finished(1, log, 0.0, failure))
    with pytest.raises(GraderFailed, match=f"on the grader's side .*{re.escape(failure)}"):
        worker_job.grade(reference_job)
    # The same lines in its output, the process saying nothing of the machine: the notebook's own failure.
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", lambda *args: processes.Finished(1, log, 0.0))
    assert worker_job.grade(reference_job).status == "crashed"


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
        finished = processes.run_nbgrader_limited(*args)
        logs.append(finished.log)
        return finished
    monkeypatch.setattr(worker_job, "run_nbgrader_limited", run)
    outcome = worker_job.grade(replace(reference_job, student_id=case.name, submission=str(folder)))
    assert (outcome.status, sum(score for _, _, score, _, _ in outcome.grades)) == ("graded", case.expected_score)
    assert len(logs[0]) < 10_000 and "z" * 100 not in logs[0], len(logs[0])
    assert logs[0].count("of a type not handled, dropped") == 1
