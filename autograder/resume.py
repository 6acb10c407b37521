"""Resume a class run: what an interrupted run finished is kept, and only the rest is graded.

Each result is appended to ``OUT/finished.jsonl`` as soon as it is merged into the course
gradebook, with the sha256 of the submission it was graded from (every file the grader copies).
A run with the same ``OUT`` reads it first: a submission keeps its result when it still hashes the same, the course
(its tests, source, release and the harness) is the one that graded it and, for a graded one, the gradebook still holds its submission (its score is then read from the gradebook,
so the gradebook and ``grades.csv`` agree). Every other submission is graded: a new or changed
notebook or other file, a result the gradebook lost, an ``error`` row (the grader failed, so there is no
result to keep). ``--force`` grades everyone; students named with ``--student`` are always
graded. At the end of a run of the whole class the file holds exactly the run's rows, like
``grades.csv``.

The file also says how long each submission took. A run that grades them again (``--force``,
tests changed) starts the longest first (:func:`longest_first`): a long one started last would
keep one worker busy alone at the end while the others wait.
"""
import hashlib
import json
import os
import statistics
from pathlib import Path

from .gate import files as gate

FINISHED = "finished.jsonl"
KEPT = ("graded", "timeout", "crashed")  # results worth keeping; invalid is decided again at no cost


def submission_hash(folder, within):
    """sha256 (hex) of the submission ``folder`` as the worker's gate copies it: every file's
    path and bytes, read through the gate (those the copy skips left out). Not the notebooks
    alone: ``nbgrader submit`` writes a new ``timestamp.txt`` (late penalties) and
    ``submission_secret.txt`` (the name ``release_feedback`` gives the student's page, which
    ``fetch_feedback`` looks for) each time, the same notebook handed in again included."""
    digest = hashlib.sha256()
    for parent, folders, files in os.walk(folder):  # the gate has refused links: nothing to follow
        folders[:] = sorted(f for f in folders if not gate.skipped(f, gate.NOT_COPIED))
        for name in sorted(f for f in files if not gate.skipped(f, gate.NOT_COPIED)):
            relative = os.path.relpath(os.path.join(parent, name), folder)
            digest.update(os.fsencode(relative) + b"\0")
            digest.update(hashlib.sha256(gate.read_submission_file(parent, name, within=within)).digest())
    return digest.hexdigest()


class FinishedResults:
    """The results of ``OUT/finished.jsonl``: {student id: the last line written for them}."""

    def __init__(self, out):
        self.path = Path(out) / FINISHED
        self.entries = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by the kill that interrupted the run
                if isinstance(entry, dict) and isinstance(entry.get("student_id"), str):
                    self.entries[entry["student_id"]] = entry

    def kept(self, student_id, digest, in_gradebook, version):
        """The entry of ``student_id`` when it is still current for a submission hashing ``digest``,
        graded by the course as it is now (``version``: cluster/course_version.py) (``in_gradebook``:
        whether the gradebook holds their submission), else None."""
        entry = self.entries.get(student_id)
        if not entry or entry.get("submission_sha256") != digest or entry.get("status") not in KEPT:
            return None
        if entry.get("course_version") != version:
            return None  # the tests, the notebook or the harness changed since: grade again
        if entry["status"] == "graded" and not in_gradebook:
            return None
        return entry

    def add(self, entry):
        """Append ``entry`` (a dict with ``student_id``), on disk before this returns."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[entry["student_id"]] = entry

    def keep_only(self, student_ids):
        """Rewrite the file with the entries of ``student_ids`` only (the run's rows)."""
        partial = self.path.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as handle:
            for student_id in sorted(student_ids):
                if student_id in self.entries:
                    handle.write(json.dumps(self.entries[student_id]) + "\n")
        os.replace(partial, self.path)


def longest_first(submissions, finished):
    """``submissions`` (each with a ``student_id``) ordered longest first by the seconds
    ``finished`` (a :class:`FinishedResults`) last noted for them; a submission with no time
    noted counts as the median of the others. Ties, and a class with no time noted at all,
    keep the order given."""
    seconds = {}
    for submission in submissions:
        value = (finished.entries.get(submission.student_id) or {}).get("seconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            seconds[submission.student_id] = float(value)
    if not seconds:
        return list(submissions)
    typical = statistics.median(seconds.values())
    return sorted(submissions, key=lambda s: -seconds.get(s.student_id, typical))
