"""Grade a class: stock ``nbgrader autograde`` per submission, in parallel, in isolation.

The pipeline, stage by stage (one package each):

1. the gate (``gate/``) finds the submissions and refuses, with a reason, those that cannot be
   graded;
2. workers (``worker/``) grade each submission in a scratch course directory with its own
   gradebook and its own nbgrader process under time and memory limits, so one student's
   notebook that hangs, crashes or is malformed costs that student only; the student's kernel
   runs in the sandbox (``sandbox/``) and the test cells are decided outside it
   (``decisions/``). Workers are the threads of a ``concurrent.futures`` pool, each waiting for
   the nbgrader processes it forks, or the workers of a Dask cluster;
3. this process merges each outcome into the course gradebook (``gradebook/``), which the
   formgrader and ``nbgrader export`` read too, and notes it in ``OUT/finished.jsonl``, so that
   a run interrupted and started again grades only what it had not finished (``resume.py``);
   a submission whose grading failed for the grader's reasons (a worker lost, a process killed
   by the machine: ``worker/failures.py``) is graded again, a bounded number of times;
4. then writes the feedback pages (``pages/``) and ``grades.csv``.

The settings are traitlets (``autograder/settings.py``): the course's ``nbgrader_config.py``, then
``--Class.trait=value`` settings of the command line.
"""
import contextlib
import csv
import os
import statistics
import sys
import tempfile
import threading
import zlib
from concurrent.futures import FIRST_COMPLETED, CancelledError, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from . import course, scratch
from .course import COURSE_ROOT
from .pages.class_feedback import write_feedback
from .gate import files as gate
from .gate.submissions import FORMULA_STARTS, find_submissions, student_id_problem
from .gradebook.merge import record_outcome
from .gradebook.records import (course_db_url, ensure_assignment_in_gradebook, read_score, students_with_submission,
                                template_gradebook)
from .profiling import stage
from .progress import Progress
from .cluster.course_version import course_version
from .resume import FinishedResults, longest_first, submission_hash
from .sandbox import cgroups
from .sandbox.policy import bwrap_problem, sandbox_mode
from .sandbox import replay_store, shared_data
from .sandbox.zygote import Zygote
from .settings import Grading, Sandbox, course_config
from .worker.job import Job, Outcome, grade, thread_settings
from .worker.nbgrader_cli import put_scripts_on_path
from .worker.processes import start_fork_server

CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "message", "seconds")
STATUSES = ("graded", "timeout", "crashed", "invalid", "error")


@dataclass
class Result:
    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str
    message: str = ""
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    raw_message: str = None  # the outcome's message, without the note on points to grade by hand

    def __post_init__(self):
        if self.raw_message is None:  # "" is a message too: a graded notebook's, which the note may follow
            self.raw_message = self.message


def by_hand_note(message, points):
    """The message of a graded submission, with the points still to grade by hand."""
    if not points:
        return message
    note = f"{points:g} points to grade by hand in the formgrader"
    return f"{message}; {note}" if message else note


def as_text_cell(text):
    """``text`` as a CSV cell no spreadsheet runs as a formula: one that would begin with = + - @
    (or a tab, a carriage return) begins with an apostrophe, which spreadsheets read as "text"."""
    return "'" + text if text.startswith((*FORMULA_STARTS, "\t", "\r")) else text


def write_csv(results, path):
    """``grades.csv``: the numbers as numbers, the text columns as text even where a student's
    folder name or a message begins as a formula (the gate refuses such folders, but each still
    has its row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A folder name that is not UTF-8 (refused) is shown as the terminal shows it (\xe9)
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in results:
            writer.writerow([as_text_cell(gate.shown(r.student_id)), r.assignment, f"{r.score:g}", f"{r.max_score:g}",
                             r.status, as_text_cell(r.message), f"{r.seconds:.1f}"])


def make_executor(jobs, scheduler, security=None):
    """(executor, closer): ``jobs`` local workers, or the Dask cluster at ``scheduler``, reached
    with ``security`` (:func:`cluster_security`).

    A local worker is a thread of this process: it only waits for the nbgrader processes it
    forks (each in its own session, under its own limits), so threads cost nothing that
    processes would spare, and they share this process's fork server.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler, security=security)
        return client.get_executor(pure=False), client.close
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grading-worker")
    return pool, pool.shutdown


class GraderRefuses(RuntimeError):
    """The grader would not grade fairly in this environment."""


def refuse_optimized_python():
    """Grading needs ``assert`` and ``__debug__``: refuse to run with them stripped (``python -O``
    or ``PYTHONOPTIMIZE``), in this process or in the nbgrader processes it starts."""
    if sys.flags.optimize or os.environ.get("PYTHONOPTIMIZE"):
        raise GraderRefuses("refusing to grade under python -O / PYTHONOPTIMIZE: it strips the assertions "
                            "tests rely on. Unset PYTHONOPTIMIZE and run without -O.")


def cluster_security(grading, scheduler):
    """The ``distributed.security.Security`` with which the coordinator reaches the Dask scheduler
    at ``scheduler``: TLS with the client certificate of ``grading``'s ``tls_*`` settings, which
    a ``tls://`` scheduler requires (GraderRefuses without them); None for a ``tcp://`` one, with
    a warning. Anyone who can reach a cluster's scheduler or workers can run code on them, as the
    workers' user (Dask's ``Client.run``): without TLS, any local account on a machine that
    reaches them, a student's on the class's hub included."""
    if not scheduler:
        return None
    tls = scheduler.startswith("tls://")
    given = {name: getattr(grading, name) for name in ("tls_ca_file", "tls_cert", "tls_key") if getattr(grading, name)}
    if not tls:
        if given:
            raise GraderRefuses(f"Grading.{', Grading.'.join(given)} given, but the scheduler {scheduler} is not "
                                "tls://: give its address as tls://HOST:PORT")
        print(f"warning: the Dask scheduler {scheduler} is reached without TLS: any account that can reach the "
              "scheduler or a worker (on any machine of their network) can run code on the workers, as their "
              "user, read the hidden checks and change grades. Start them with --tls-ca-file, --tls-cert and "
              "--tls-key and set Grading.tls_ca_file, Grading.tls_cert and Grading.tls_key (README \"Grading on "
              "a cluster\")", file=sys.stderr)
        return None
    missing = [name for name in ("tls_ca_file", "tls_cert") if name not in given]
    if missing:
        raise GraderRefuses(f"the scheduler {scheduler} is tls://: set Grading.{' and Grading.'.join(missing)} "
                            "(and Grading.tls_key, unless the key is in the certificate's file): the certificate "
                            "authority of the cluster and the coordinator's certificate it signed, e.g. "
                            "--Grading.tls_ca_file=ca.pem --Grading.tls_cert=coordinator.pem "
                            "--Grading.tls_key=coordinator-key.pem")
    for name, path in given.items():
        if not os.path.isfile(path):
            raise GraderRefuses(f"Grading.{name}: no file {path}")
    from distributed.security import Security

    return Security(tls_ca_file=given["tls_ca_file"], tls_client_cert=given["tls_cert"],
                    tls_client_key=given.get("tls_key"), require_encryption=True)


def warn_without_sandbox(sandbox):
    """Say, once per class, when student code will run without the sandbox."""
    mode = sandbox_mode(sandbox.mode)
    if sandbox.mode == "bwrap" and mode != "bwrap":
        print(f"warning: student code runs WITHOUT the sandbox (limits only): {bwrap_problem()}",
              file=sys.stderr)
    elif mode == "off":
        print("warning: Sandbox.mode = off: student code runs without sandbox or limits", file=sys.stderr)
    if mode != "off" and cgroups.problem(sandbox.cgroup):
        print(f"warning: kernels get no control group ({cgroups.problem(sandbox.cgroup)}): Sandbox.memory_mb "
              "limits each process's address space only, and the files of the sandbox's tmpfs are not counted",
              file=sys.stderr)


def settings_given(settings=(), timeout=None, cell_timeout=None, memory_mb=None, max_cell_output=None, jobs=None):
    """The ``--Class.trait=value`` settings for a class run: ``settings`` (the command line's),
    then those given by keyword, which win."""
    given = list(settings)
    for name, value in (("Grading.timeout", timeout), ("Execute.timeout", cell_timeout),
                        ("Sandbox.memory_mb", memory_mb), ("SurvivingExecute.max_cell_output", max_cell_output),
                        ("Grading.jobs", jobs)):
        if value is not None:
            given.append(f"--{name}={value}")
    return given


def grade_class(assignment, submissions_dir, out, jobs=None, scheduler=None, timeout=None,
                cell_timeout=None, memory_mb=None, students=None, show_progress=True,
                max_cell_output=None, stats=None, settings=(), force=False):
    """Grade every student folder of ``submissions_dir`` (or only ``students``).

    A run with the same ``out`` as an earlier one, interrupted or not, keeps the earlier results
    that are still current and grades the rest (``resume.py``); ``force`` grades everyone.
    A submission whose grading fails for the grader's reasons is graded again, up to
    ``Grading.tries`` times; then its row is ``error``.

    The settings are the course's (its ``nbgrader_config.py``), then ``settings``
    (``--Class.trait=value``, as given on the command line), then the keyword arguments given.
    Writes ``out/grades.csv`` and ``out/feedback/<student>/<assignment>/``; returns the results,
    sorted by student id. A dict ``stats`` receives ``kernels_forked`` (how many kernels were
    forked from the kernel zygote, ``sandbox/zygote.py``) and ``zygote_peak_mb``, and for an
    assignment with Keras or figures ``keras_replay`` and ``keras_recorded`` (``sandbox/replay_store.py``).
    """
    given = settings_given(settings, timeout, cell_timeout, memory_mb, max_cell_output, jobs)
    config = course_config(COURSE_ROOT, given)
    sandbox, grading = Sandbox(config=config), Grading(config=config)
    refuse_optimized_python()
    security = cluster_security(grading, scheduler)
    warn_without_sandbox(sandbox)
    scratch.clear_stale_runs()  # what runs killed before their end left behind
    # The fork server imports nbgrader (and Keras, where the tests receive models), and the
    # kernel zygote what kernels import, while this process reads the submissions.
    keras = course.load(assignment).keras
    start_fork_server(keras=keras)
    # What the kernels of the class share, made once: only kernels in bubblewrap see it, read-only
    # (sandbox/kernel_manager.shared_folders), and a cluster's workers make their own.
    shared = not scheduler and sandbox_mode(sandbox.mode) == "bwrap"
    # The data every kernel of the class loads, decoded once (--Sandbox.decoded_data= given on the
    # command line names another folder, or none).
    if shared and not any(s.startswith("--Sandbox.decoded_data=") for s in given):
        decoded = shared_data.prepare(assignment, os.environ.get("COURSE_DATA_DIR"))
        if decoded:
            given = (*given, f"--Sandbox.decoded_data={decoded}")
    jobs = grading.jobs or os.cpu_count() or 1
    # Kernels on this machine share its cores; a cluster's workers keep their defaults.
    threads = 0 if scheduler else max(1, (os.cpu_count() or 1) // jobs)
    job = dict(timeout=grading.timeout, memory_mb=sandbox.memory_mb, threads=threads,
               settings=tuple(s for s in given if not s.startswith("--Grading.")),
               profile=str(Path(grading.profile).absolute()) if grading.profile else "")
    # A cluster's workers fork their kernels from zygotes of their own (cluster/remote_job.py).
    zygote_sandbox = Sandbox(config=config, zygote=False) if scheduler else sandbox
    with Zygote(str(COURSE_ROOT / "release" / assignment), {**os.environ, **thread_settings(threads)},
                zygote_sandbox, keras=keras) as zygote:
        results = _grade_class(assignment, submissions_dir, out, jobs, scheduler, students, show_progress,
                               dict(job, kernel_zygote=zygote.socket_path or ""), max(1, grading.tries), force,
                               security, stats, keras_replay=shared)
        if stats is not None:
            stats.update(zygote.stats())
        return results


def _submitter(executor, scheduler, assignment, template):
    """A function that submits a Job to ``executor`` and returns its future: ``grade`` itself for
    local workers; on a cluster, ``grade_on_worker`` with what a worker cannot read for itself."""
    if not scheduler:
        return lambda job: executor.submit(grade, job)
    from .cluster.remote_job import grade_on_worker

    template_db, version = zlib.compress(Path(template).read_bytes()), course_version(assignment)
    return lambda job: executor.submit(grade_on_worker, job, template_db, version)


def grader_failure(error):
    """What to say of an exception a worker's future raised (the grader's failure, never the student's)."""
    text = str(error).strip().split("\n")[0]
    if "deserialization of the task graph" in text:
        text += (" (the scheduler or a worker cannot import the harness: start them with PYTHONPATH set to the "
                 "course folder and --preload autograder.cluster.preload; see the README)")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def grade_with_retries(submit, jobs, tries, finish):
    """Grade each (submission, Job) of ``jobs`` with ``submit``, calling ``finish(submission, outcome)``
    once per submission as it ends. A future that raises (a worker lost, a grading process killed,
    a worker that cannot run the harness: never the student's doing) is submitted again, up to
    ``tries`` times in all; then its outcome is ``error``, with the last reason."""
    tried = {}

    def start(submission, job):
        tried[submission.student_id] = tried.get(submission.student_id, 0) + 1
        return submit(job)

    pending = {start(submission, job): (submission, job) for submission, job in jobs}
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            submission, job = pending.pop(future)
            try:
                outcome = future.result()
            except (Exception, CancelledError) as error:
                if tried[submission.student_id] < tries:
                    pending[start(submission, job)] = (submission, job)
                    continue
                outcome = Outcome(submission.student_id, "error",
                                  (f"the grader failed, not the submission ({tried[submission.student_id]} tries): "
                                   f"{grader_failure(error)}")[:500])
            finish(submission, outcome)


def _grade_class(assignment, submissions_dir, out, jobs, scheduler, students, show_progress, job, tries, force,
                 security=None, stats=None, keras_replay=False):
    from nbgrader.api import Gradebook

    put_scripts_on_path()
    db_url = course_db_url()
    submissions = [s for s in find_submissions(assignment, submissions_dir)
                   if students is None or s.student_id in students]
    gradable = [s for s in submissions if not s.problem]
    progress = Progress(len(submissions), enabled=show_progress)
    finished = FinishedResults(out)
    digests = {s.student_id: _submission_hash(s, submissions_dir) for s in gradable}
    version = course_version(assignment)
    results = []

    def done(result, digest=""):
        finished.add(dict(student_id=result.student_id, status=result.status, message=result.raw_message,
                          seconds=result.seconds, submission_sha256=digest, course_version=version))
        results.append(result)
        progress.done(result)

    def finish(submission, outcome):
        if outcome.status == "error":  # no result: the gradebook keeps what it held
            max_score = read_score(assignment, outcome.student_id, db_url, book)[1]
            result = Result(outcome.student_id, assignment, 0.0, max_score, "error", outcome.message, outcome.seconds)
        else:
            with stage(job["profile"], "gradebook merge", outcome.student_id):
                record_outcome(db_url, COURSE_ROOT, assignment, outcome, book)
            result = _result(assignment, outcome.student_id, outcome.status, outcome.message, outcome.seconds,
                             book, outcome.peak_memory_mb)
        done(result, digests.get(outcome.student_id, ""))

    with contextlib.ExitStack() as run:
        folder = run.enter_context(tempfile.TemporaryDirectory(prefix="grading-", dir=scratch.run_folder()))
        # The course gradebook must know the assignment before the first outcome is recorded; the
        # workers' template gradebook, before the first submission is graded: both at once (a
        # course gradebook not made yet is a copy of the template).
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="grading-setup") as setup:
            template = setup.submit(template_gradebook, assignment, folder) if gradable else None
            course_ready = setup.submit(ensure_assignment_in_gradebook, assignment, db_url, template and template.result)
            course_ready.result()
            template = template and template.result()
        book = run.enter_context(Gradebook(db_url))  # one for all the merges of the run (gradebook/merge.py)
        for submission in submissions:
            if submission.problem and student_id_problem(submission.student_id):
                # a folder to rename stays out of the gradebook: its name would stay there after
                # the renaming, and reach nbgrader's formgrader and export as it is
                done(Result(submission.student_id, assignment, 0.0, book.find_assignment(assignment).max_score,
                            "invalid", submission.problem))
            elif submission.problem:
                finish(submission, Outcome(submission.student_id, "invalid", submission.problem))
        to_grade = gradable
        if not force and students is None:  # resume: keep the results still current
            in_gradebook = students_with_submission(assignment, db_url, book)
            to_grade = []
            for submission in gradable:
                entry = finished.kept(submission.student_id, digests[submission.student_id],
                                      submission.student_id in in_gradebook, version)
                if entry is None:
                    to_grade.append(submission)
                else:
                    done(_result(assignment, submission.student_id, entry["status"], entry["message"],
                                 entry["seconds"], book), digests[submission.student_id])
        if to_grade:
            to_grade = longest_first(to_grade, finished)  # by the times of the last run, where known
            executor, close = make_executor(jobs, scheduler, security)
            try:
                submit = _submitter(executor, scheduler, assignment, template)
                # The reference's Keras calls and figures, recorded once (sandbox/replay_store.py).
                with _reference_recording(assignment, job, template, folder, submit, stats, keras_replay) as job:
                    grade_with_retries(submit, [(s, Job(assignment, s.student_id, str(s.folder.absolute()),
                                                        str(COURSE_ROOT), str(template), **job)) for s in to_grade],
                                       tries, finish)
            finally:
                close()
        # A run of some students only: grades.csv keeps the rows of the others that earlier runs
        # into this folder graded, with their scores as the gradebook holds them now.
        regraded = {r.student_id for r in results}
        others = [] if students is None else [_kept_row(assignment, entry, book) for student, entry
                                              in finished.entries.items() if student not in regraded]
    progress.close()
    results.sort(key=lambda r: r.student_id)
    with stage(job["profile"], "the class's feedback pages"):
        write_feedback(assignment, results, out, timeout=job["timeout"])
    write_csv(sorted(results + others, key=lambda r: r.student_id), Path(out) / "grades.csv")
    if students is None:  # a run of some students only leaves the others' results as they were
        finished.keep_only(r.student_id for r in results)
    return results


@contextlib.contextmanager
def _reference_recording(assignment, job, template, folder, submit, stats=None, enabled=True):
    """While the block grades the class: ``job`` with the folder of the reference's recorded Keras
    calls and figures (``sandbox/replay_store.py``). Where this machine has none yet, the
    reference is graded once to make it, submitted with ``submit`` before the class: the first
    worker records while the others grade, their kernels running every call and drawing every
    figure themselves. The folder appears whole, at once, when the recording is kept: each kernel
    started after that replays it, and each started before runs everything (the same results,
    in more time). Leaving the block waits for the recording. ``job`` as it is where ``enabled``
    is false, the assignment has neither Keras nor figures, or ``--Sandbox.keras_replay=`` was
    given. ``stats`` receives ``keras_replay`` (the folder, or "") and ``keras_recorded``
    (whether this run recorded it)."""
    if (not enabled or any(s.startswith("--Sandbox.keras_replay=") for s in job["settings"])
            or not replay_store.records(assignment)):
        yield job
        return
    held = contextlib.ExitStack()
    try:
        recording = held.enter_context(replay_store.start(assignment, job["threads"], folder))
    except Exception as error:  # noqa: BLE001 - the kernels run every call then
        replay_store.warn(assignment, error)
        yield job
        return
    replayed = {**job, "settings": (*job["settings"], f"--Sandbox.keras_replay={recording.final}")}
    if recording.found:
        held.close()
        if stats is not None:
            stats.update(keras_replay=recording.found, keras_recorded=False)
        yield replayed
        return
    held.enter_context(stage(job["profile"], "the reference's Keras calls and figures recorded"))
    student, ended = replay_store.RECORDING_ID, threading.Event()

    def keep(future):
        store = ""
        try:
            store = recording.keep(future.result())
        except (Exception, CancelledError) as error:  # noqa: BLE001 - the kernels run every call then
            replay_store.warn(assignment, error)
        finally:
            try:
                held.close()  # the profile's stage ends; other classes waiting for the recording go on
            finally:
                if stats is not None:
                    stats.update(keras_replay=store, keras_recorded=True)
                ended.set()  # (the class waits for this)

    try:
        future = submit(Job(assignment, student, str(recording.submissions / student / assignment), str(COURSE_ROOT),
                            str(template), **{**job, "settings": (*job["settings"], *recording.settings),
                                              "profile": ""}))
    except BaseException:
        held.close()
        raise
    future.add_done_callback(keep)
    try:
        yield replayed
    finally:
        future.cancel()  # where grading stopped before the recording began
        ended.wait()


def _submission_hash(submission, submissions_dir):
    """The submission's hash, or "" when the gate refuses it now (the worker's gate then says why)."""
    try:
        return submission_hash(submission.folder, submissions_dir)
    except (OSError, gate.SubmissionRefused):
        return ""


def _kept_row(assignment, entry, gradebook):
    """The row of a student an earlier run graded (``entry``, its line of ``finished.jsonl``)."""
    student_id = entry["student_id"]
    status = entry.get("status") if entry.get("status") in STATUSES else "error"
    message = entry.get("message") if isinstance(entry.get("message"), str) else ""
    seconds = entry.get("seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0
    if student_id_problem(student_id):  # never in the gradebook (see _grade_class)
        return Result(student_id, assignment, 0.0, gradebook.find_assignment(assignment).max_score,
                      status, message, seconds)
    return _result(assignment, student_id, status, message, seconds, gradebook)


def _result(assignment, student_id, status, message, seconds, gradebook, peak_memory_mb=0.0):
    """The row of a student whose outcome is in the (open) gradebook: a graded one's score is the gradebook's."""
    score, max_score, by_hand = read_score(assignment, student_id, None, gradebook)
    graded = status == "graded"
    return Result(student_id, assignment, score if graded else 0.0, max_score, status,
                  by_hand_note(message, by_hand if graded else 0), seconds, peak_memory_mb, raw_message=message)


def summary(results):
    """Counts by status, mean score and the slowest submissions, as text."""
    if not results:
        return "no submissions"
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in STATUSES
                       if any(r.status == s for r in results))
    scores = [r.score for r in results]
    slowest = sorted(results, key=lambda r: r.seconds, reverse=True)[:3]
    return "\n".join([
        f"{len(results)} submissions: {counts}",
        f"mean score {statistics.mean(scores):.2f} / {results[0].max_score:g}",
        "slowest: " + ", ".join(f"{gate.shown(r.student_id)} {r.seconds:.1f} s" for r in slowest),
    ])


def format_table(results):
    """The grades as an aligned text table, for a terminal: a student's folder name or a message
    with control characters (a refused folder named with terminal escapes) shows them escaped."""
    rows = [("student", "score", "status", "message")]
    rows += [(gate.shown(r.student_id), f"{r.score:g} / {r.max_score:g}", r.status, gate.shown(r.message[:60]))
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
                     for a, b, c, d in rows)
