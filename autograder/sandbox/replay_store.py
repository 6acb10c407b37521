"""The Keras training and the figures that the kernels of a class share, recorded once
(``coursekit/replay.py``, ``coursekit/figures.py``).

A graded run of a Keras notebook fits, evaluates and predicts with networks that, for most
students, are the reference's own, from the same starting weights on the same data. Before such
a class is graded, the coordinator grades the reference solution once, as a submission of its
own (never merged into the gradebook), with ``Sandbox.keras_record`` naming a folder its kernel may
write: each Keras call it makes, and each figure a helper of ``coursekit.plotting`` draws, is kept
there under the key of everything its result depends on.
The coordinator checks every entry and moves them into the grader's cache folder, named by
everything a recording depends on (the course's files, the thread count, the packages, the
processor); each kernel of this class and of the later ones then sees that folder read-only
(``Sandbox.keras_replay``), and a call whose key is there is replayed instead of run: the same
variables, random states, result and printed lines, in a fraction of the time; a figure whose key
is there is shown as recorded, the same output, instead of drawn. Any other call, a student's own
network or data, runs as usual, and any other figure is drawn.

Entries are named by content, so a folder made for other files or another machine can only miss,
never mislead; each is encrypted with a secret made from everything its call depends on, so a
kernel learns nothing from the folder (the reference's layers, its weights) that it could not
compute itself. A kernel checks each entry it uses (``coursekit/replay.py``); the coordinator
keeps only regular files of the expected names. A cluster's workers run on other processors: each
machine's workers record for themselves, the same way (``cluster/remote_job.py``). A student's
machine never sets the variable, and runs every call.
"""
import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .. import course, notebook_cells
from ..cluster.course_version import course_version
from ..gate.files import _READ_FILE, kind_problem
from .policy import cache_root

FOLDER = "keras-replay"
KEPT = 4  # recordings kept per assignment (one per thread count and course version in use)
RECORDING_ID = "reference-recording"  # the id the reference is graded under, in a scratch course
ENTRY = re.compile(r"[0-9a-f]{40}\.(record|arrays|figure)")
LARGEST = 2 * 1024 ** 3  # bytes of entries kept of one recording, at most


def fingerprint(assignment, threads):
    """What a recording of ``assignment`` depends on, beyond the calls' own keys."""
    parts = [course_version(assignment), str(threads), sys.version, platform.machine(), _processor()]
    parts += [f"{name}=={_version(name)}" for name in ("keras", "tensorflow", "numpy", "matplotlib", "pillow")]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:20]


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _processor():
    """The processor's model and instruction sets: TensorFlow picks its kernels by them."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return platform.processor()
    return "\n".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))


def records(assignment):
    """Whether grading ``assignment`` records the reference first: its notebook uses Keras or
    shows figures (its manifest says which)."""
    manifest = course.load(assignment)
    return manifest.keras or manifest.figures


def store_folder(assignment, threads):
    return cache_root() / FOLDER / f"{assignment}-{fingerprint(assignment, threads)}"


def reference_submission(assignment, folder):
    """Write the reference solution as a student would hand it in, under
    ``folder/<RECORDING_ID>/<assignment>/``; returns that submissions folder."""
    notebook = notebook_cells.read(assignment, folder="release")
    references = notebook_cells.cells_by_role(notebook_cells.read(assignment), "solution")
    for cell in notebook.cells:
        if cell.cell_type == "code" and notebook_cells.role(cell) == "solution":
            cell.source = notebook_cells.without_solution_markers(references[cell.metadata["nbgrader"]["grade_id"]])
    target = Path(folder) / RECORDING_ID / assignment
    target.mkdir(parents=True)
    nbformat.write(notebook, str(target / f"{assignment}.ipynb"))
    return Path(folder)


def prepare(assignment, threads, grade_reference, scratch_folder):
    """The folder of ``assignment``'s recorded Keras calls and figures for kernels of ``threads``
    threads: found in the cache, or recorded now with ``grade_reference(submission folder,
    settings)`` (which grades the reference with the extra nbgrader settings and returns its
    Outcome); "" where the assignment has neither Keras nor figures (its manifest says so), or
    nothing could be recorded (every call then runs, every figure is drawn)."""
    if not records(assignment):
        return ""
    try:
        with start(assignment, threads, scratch_folder) as recording:
            if recording.found:
                return recording.found
            return recording.keep(grade_reference(recording.submissions, recording.settings))
    except Exception as error:  # noqa: BLE001 - the kernels run every call then
        warn(assignment, error)
        return ""


def warn(assignment, error):
    print(f"warning: the Keras calls and figures of {assignment}'s reference were not recorded "
          f"({type(error).__name__}: {error}); each kernel runs and draws its own", file=sys.stderr)


@contextlib.contextmanager
def start(assignment, threads, scratch_folder):
    """Held while the recording of ``assignment`` for kernels of ``threads`` threads is looked for
    and, where there is none, made: the other classes and cluster workers of this machine and
    user that want the same recording wait for it instead of making their own. Yields a
    :class:`Recording`."""
    final = store_folder(assignment, threads)
    final.parent.mkdir(parents=True, exist_ok=True)
    with _only_one_recording(final):
        if final.is_dir():
            os.utime(final)  # in use: kept before older recordings
            yield Recording(assignment, final, found=str(final))
        else:
            yield Recording(assignment, final, scratch=Path(scratch_folder))


class Recording:
    """The recording of ``assignment``'s reference at ``final``: ``found`` (that folder, where an
    earlier run made it), or what making it takes: grade the reference handed in under
    ``submissions`` with the extra nbgrader ``settings``, then :meth:`keep` its Outcome."""

    def __init__(self, assignment, final, found="", scratch=None):
        self.assignment, self.final, self.found = assignment, final, found
        if not found:
            self.recorded = scratch / "keras-recorded"
            self.recorded.mkdir(parents=True)
            os.chmod(self.recorded, 0o777)  # the kernel's user writes here; nothing else sees this folder
            self.submissions = reference_submission(assignment, scratch / "keras-reference")
            self.settings = (f"--Sandbox.keras_record={self.recorded}",)

    def keep(self, outcome):
        """Keep what the reference's grading (``outcome``) recorded, as ``final``, whole at once (a
        kernel sees the folder complete or not at all); returns it. Raises where nothing was kept."""
        if outcome.status != "graded":
            raise RuntimeError(f"the reference was {outcome.status}: {outcome.message[:200]}")
        making = Path(tempfile.mkdtemp(prefix=f".{self.final.name}-", dir=self.final.parent))
        try:
            if not _copy_entries(self.recorded, making):
                raise RuntimeError("the reference made no Keras call and drew no figure that could be kept")
            os.chmod(making, 0o755)
            try:
                os.rename(making, self.final)
            except OSError:  # another run recorded it first: theirs is as good
                shutil.rmtree(making, ignore_errors=True)
        except BaseException:
            shutil.rmtree(making, ignore_errors=True)
            raise
        _forget_older(self.assignment, keep=self.final)
        return str(self.final)


@contextlib.contextmanager
def _only_one_recording(final):
    """Held while ``final`` is looked for and recorded."""
    descriptor = os.open(final.parent / f".{final.name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _copy_entries(recorded, target):
    """Copy the entries of ``recorded`` (regular files of entries' names: a Keras call's record
    with its arrays, a figure) into ``target``; returns how many were copied. Their content is
    encrypted with what only an identical call or figure knows (``coursekit/replay.py``,
    ``coursekit/figures.py``): the kernel that uses one checks it."""
    copied, size = 0, 0
    for record in sorted(recorded.iterdir()):
        if not ENTRY.fullmatch(record.name) or record.suffix == ".arrays":
            continue
        # A Keras call is its arrays and its record; a figure one file.
        paths = (record.with_suffix(".arrays"), record) if record.suffix == ".record" else (record,)
        try:
            parts = {path.name: _read_regular(path) for path in paths}
        except OSError:
            continue
        size += sum(map(len, parts.values()))
        if size > LARGEST:
            break
        for name, data in parts.items():  # the arrays first: a record is never without them
            (target / name).write_bytes(data)
            os.chmod(target / name, 0o644)
        copied += 1
    return copied


def _read_regular(path):
    """The bytes of ``path``, a regular file of one name (the gate's checks: no link followed,
    no FIFO waited on, no hard link to a file elsewhere); OSError otherwise."""
    descriptor = os.open(path, _READ_FILE)
    with os.fdopen(descriptor, "rb") as handle:
        why = kind_problem(os.fstat(handle.fileno()))
        if why:
            raise OSError(f"{path.name} {why}")
        return handle.read()


def _forget_older(assignment, keep):
    """Remove all but the KEPT most recently used recordings of ``assignment``."""
    mine = sorted((f for f in keep.parent.glob(f"{assignment}-*") if f.is_dir() and not f.name.startswith(".")),
                  key=lambda f: f.stat().st_mtime, reverse=True)
    for old in [f for f in mine if f != keep][KEPT - 1:]:
        shutil.rmtree(old, ignore_errors=True)
        (old.parent / f".{old.name}.lock").unlink(missing_ok=True)
