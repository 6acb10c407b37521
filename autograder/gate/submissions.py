"""Find the submissions of a class and refuse, with a reason, those nbgrader cannot grade."""
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..notebook_cells import notebook_path, read
from . import files as gate


@dataclass
class Submission:
    student_id: str
    folder: Path  # SUBMISSIONS/<student_id>/<assignment>
    problem: str = ""  # why it cannot be graded; empty when it can


def expected_notebooks(assignment):
    """The notebook file names students must hand in: those of source/<assignment>/."""
    return sorted(p.name for p in notebook_path(assignment).parent.glob("*.ipynb"))


# --- the gate (gate/files.py): a submitted file is read without following a link ---
def read_submitted(path, within=None):
    """The bytes of the submitted file ``path``; ``within``: the submissions folder, below which
    no folder is followed either. Raises gate.SubmissionRefused, FileNotFoundError."""
    return gate.read_submission_file(path.parent, path.name, within=within)
# --- end of the gate ---


MAX_NESTING = 100  # arrays and objects inside each other in a notebook's JSON; the format's own nest 5 to 7
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def nesting(data):
    """How deep the arrays and objects of the JSON text ``data`` (bytes) nest, found without
    parsing it: Python's parser (and nbformat's, nbconvert's, nbgrader's copies after it) recurses
    once per level, and text nested a few thousand levels deep (a few kB) stops it with a
    RecursionError. Text that is not JSON gets a figure too, parsed or refused later."""
    import numpy as np

    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    deepest = depth = 0
    for chunk in range(0, len(brackets), 1 << 20):  # numpy's running sum, a megabyte at a time
        steps = np.frombuffer(brackets, np.uint8, offset=chunk, count=min(1 << 20, len(brackets) - chunk))
        levels = depth + np.cumsum(np.where((steps == ord("[")) | (steps == ord("{")), 1, -1), dtype=np.int64)
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def nesting_problem(name, data):
    """Why the notebook ``name`` whose bytes are ``data`` nests too deep to be read, or ''."""
    depth = nesting(data)
    if depth > MAX_NESTING:
        return (f"{name} nests lists and objects {depth} levels deep (in its metadata or outputs), more than the "
                f"limit of {MAX_NESTING}: Python's JSON reader, nbformat and nbgrader cannot read it")
    return ""


# Cells of one notebook, at most. The course's notebooks have 49 to 109; each cell costs nbgrader,
# the feedback page and the formgrader's page time and memory whatever it holds: 20,000 empty
# markdown cells (a 2 MB notebook) took 12 s and 370 MB to make into a page of 5 MB, and the
# gate's 50 MB hold 24 times as many.
MAX_CELLS = 2_000


def cells_count_problem(name, raw):
    """Why the notebook ``name``, read as ``raw`` (JSON), has too many cells, or ''."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        return (f"{name} has {len(cells):,} cells, more than the {MAX_CELLS:,} a notebook may have; hand in the "
                f"notebook as released, with your answers")
    return ""


def notebooks_size_problems(folder, within=None):
    """``nesting_problem`` and ``cells_count_problem`` of every notebook of the submission
    ``folder``, which the gate has let through (regular files and folders only): what stops
    nbgrader reading a notebook, or makes it read it for minutes."""
    problems = []
    for parent, _, names in os.walk(folder):
        for name in sorted(n for n in names if n.endswith(".ipynb")):
            relative = os.path.relpath(os.path.join(parent, name), folder)
            try:
                data = gate.read_submission_file(parent, name, within=within)
            except (OSError, gate.SubmissionRefused) as error:
                problems.append(f"{gate.shown(relative)} could not be read ({error})")
                continue
            problem = nesting_problem(gate.shown(relative), data)
            if not problem:
                try:
                    problem = cells_count_problem(gate.shown(relative), json.loads(data))
                except (UnicodeDecodeError, ValueError):  # not JSON: nbgrader says so itself
                    pass
            if problem:
                problems.append(problem)
    return problems


def notebook_problem(path, within=None):
    """Why ``path`` is not a gradable notebook, or '' when it is."""
    try:
        data = read_submitted(path, within)
    except FileNotFoundError:
        return f"{path.name} is missing"
    except gate.SubmissionRefused as refusal:
        return str(refusal)
    if not data:
        return f"{path.name} is empty (0 bytes)"
    problem = nesting_problem(path.name, data)
    if problem:
        return problem
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:  # ValueError: JSONDecodeError, a number of over 4300 digits
        return f"{path.name} is not a notebook: it cannot be read as JSON ({error.__class__.__name__})"
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        return f"{path.name} is not a version 4 Jupyter notebook"
    if problem := cells_count_problem(path.name, raw):
        return problem
    try:  # JSON may escape half of a UTF-16 pair ("\ud800"): read, but no UTF-8 file can hold it
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return f"{path.name} holds text that is not valid Unicode (an unpaired surrogate such as \\ud800)"
    try:
        notebook = nbformat.from_dict(raw)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return f"{path.name} does not follow the notebook format: {str(error).splitlines()[0]}"
    return ""


def timestamp_problem(folder, within=None):
    """Why nbgrader cannot read the ``timestamp.txt`` of the submission ``folder``, or '' (one
    that is absent or empty is read as no time). nbgrader stops grading the student with an
    error of its own (``'CourseDirectory' object has no attribute 'fail'``) at one it cannot read."""
    try:
        data = read_submitted(Path(folder) / "timestamp.txt", within)
    except FileNotFoundError:
        return ""
    except gate.SubmissionRefused as refusal:
        return str(refusal)
    from nbgrader.utils import parse_utc

    text = data.decode("utf-8", errors="replace").strip()
    try:
        if text:
            parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return f"timestamp.txt does not hold a time nbgrader can read ('{gate.shown(text[:40])}')"
    return ""


def graded_ids(notebook):
    """grade_id of every cell that carries nbgrader metadata, in order (repeats kept)."""
    return [cell.metadata["nbgrader"].get("grade_id") for cell in notebook.cells
            if isinstance(cell.metadata.get("nbgrader"), dict)
            and (cell.metadata["nbgrader"].get("grade") or cell.metadata["nbgrader"].get("solution"))]


SCHEMA_VERSION = 3  # of the nbgrader cell metadata this course's nbgrader writes
# The types nbgrader's metadata schema gives the keys it reads (bool is an int: true is 1 point).
METADATA_TYPES = {"grade_id": str, "grade": bool, "solution": bool, "locked": bool, "task": bool,
                  "points": (int, float), "schema_version": int, "cell_type": str}


def roles(notebook):
    """grade_id -> (grade, solution) flags of every cell with nbgrader metadata."""
    found = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            found[meta["grade_id"]] = (bool(meta.get("grade")), bool(meta.get("solution")))
    return found


def metadata_problem(path, source, submitted):
    """Why the nbgrader metadata of a submitted notebook was edited in a way nbgrader cannot
    grade (a newer schema, a cell's role changed), or ''."""
    for cell in submitted.cells:
        meta = cell.metadata.get("nbgrader")
        if "nbgrader" in cell.metadata and not isinstance(meta, dict):
            return f"{path.name}: a cell's nbgrader metadata is not an object (was the metadata edited?)"
        wrong = [key for key, kinds in METADATA_TYPES.items()
                 if isinstance(meta, dict) and key in meta and not isinstance(meta[key], kinds)]
        if wrong:
            return (f"{path.name}: a cell's nbgrader metadata has {', '.join(wrong)} of the wrong type "
                    f"(was the metadata edited?)")
        if isinstance(meta, dict) and not isinstance(meta.get("schema_version", SCHEMA_VERSION), int):
            return f"{path.name}: a cell's nbgrader metadata has schema_version {meta.get('schema_version')!r}"
        if isinstance(meta, dict) and meta.get("schema_version", SCHEMA_VERSION) > SCHEMA_VERSION:
            return (f"{path.name}: a cell's nbgrader metadata has schema_version {meta['schema_version']}, "
                    f"newer than this course's {SCHEMA_VERSION} (was the metadata edited?)")
    expected = roles(source)
    edited = sorted(i for i, flags in roles(submitted).items() if i in expected and flags != expected[i])
    if edited:
        return (f"{path.name}: the nbgrader metadata of the cell {', '.join(map(repr, edited))} was edited "
                f"(a graded test or answer cell changed its role); hand in the cells as released")
    return ""


def cells_problem(path, source, within=None):
    """Why the graded cells of a submitted notebook do not match those of the assignment's
    ``source`` notebook, or ''."""
    expected = set(graded_ids(source))
    try:
        notebook = nbformat.reads(read_submitted(path, within).decode("utf-8"), as_version=4)
    except (OSError, gate.SubmissionRefused) as error:  # changed since notebook_problem read it
        return f"{path.name}: {error}"
    submitted = graded_ids(notebook)
    problem = metadata_problem(path, source, notebook)
    if problem:
        return problem
    repeated = sorted({i for i in submitted if submitted.count(i) > 1})
    if repeated:
        return (f"{path.name}: the cell {', '.join(map(repr, repeated))} appears more than once "
                f"(copied or duplicated?); keep one copy of each graded cell")
    unknown = [i for i in submitted if i not in expected]
    if unknown:
        return (f"{path.name}: the cell {', '.join(map(repr, unknown))} is not one of the "
                f"assignment's graded cells (was a cell split, or its metadata edited?)")
    if expected and not set(submitted) & expected:
        return (f"{path.name}: none of the assignment's graded cells were found: the notebook's "
                f"nbgrader metadata is missing (was the code copied into a new notebook?)")
    return ""


FORMULA_STARTS = ("=", "+", "-", "@")  # what makes a spreadsheet read a CSV cell as a formula
# Characters that HTML, scripts, CSV or URLs read as syntax: nbgrader's formgrader writes a student
# id into its pages, their scripts and their links as it is, and `nbgrader export` into its CSV
# without quotes.
SYNTAX_IN_IDS = "<>&\"'`\\,#%"
ID_LENGTH = 128  # characters: nbgrader's gradebook keeps a student id in a column of this size
# Characters that show nothing (Unicode's "format" characters: a zero-width space, a word joiner,
# a soft hyphen ...) but the joiners that some scripts' names need.
JOINERS = ("\u200c", "\u200d")


def looks_like_another(student_id):
    """Whether ``student_id`` would look like another id where it is shown: spaces at an end, or
    a character that shows nothing ("bob" and "bob\u200b" side by side in the formgrader)."""
    return student_id != student_id.strip() or any(
        unicodedata.category(c) == "Cf" and c not in JOINERS for c in student_id)


def student_id_problem(student_id):
    """Why the student whose folder is called ``student_id`` is not graded (until the folder is
    renamed), or '': :func:`student_id_reason`, and what to do."""
    reason = student_id_reason(student_id)
    return f"{reason}: rename the folder '{gate.shown(student_id)}' of the submissions" if reason else ""


def student_id_reason(student_id):
    """Why no student is graded under ``student_id``, or ''.

    nbgrader finds a student's notebooks with the id inside a file pattern, and then reads the id
    back from the path with a regular expression: an id with * ? [ or ] matches other students'
    folders or not its own, one with a line break does not read back. An id that begins as a
    spreadsheet formula does (``=HYPERLINK(...)``, from a name a student chose on a learning
    platform whose download named the folders) would be one in every CSV of grades an instructor
    opens: the harness's ``grades.csv``, ``nbgrader export``. nbgrader's formgrader writes the id
    into its pages and scripts unescaped (``<img onerror=...>`` would run in the instructor's
    session) and ``nbgrader export`` into its CSV unquoted (a comma shifts the row's columns, and
    can forge another student's row): an id with any of :data:`SYNTAX_IN_IDS` is not graded
    either, nor one longer than nbgrader's gradebook keeps, nor one that would look like another
    (:func:`looks_like_another`).
    """
    problem = ""
    if any(c in student_id for c in "*?[]"):
        problem = "nbgrader cannot grade a student whose id holds * ? [ or ], which it reads as a file pattern"
    elif gate.character_problem(student_id):
        problem = ("nbgrader cannot grade a student whose id is not valid UTF-8 or holds a control character "
                   "(a newline, a tab ...)")
    elif student_id.startswith(FORMULA_STARTS):
        problem = ("a student id that begins with = + - or @ is not graded: a spreadsheet opening a CSV of grades "
                   "(grades.csv, nbgrader export) would run it as a formula")
    elif any(c in student_id for c in SYNTAX_IN_IDS):
        problem = ("a student id that holds " + " ".join(SYNTAX_IN_IDS) + " is not graded: nbgrader's formgrader "
                   "shows ids in its pages, scripts and links as they are, and nbgrader export writes them into a "
                   "CSV without quotes")
    elif len(student_id) > ID_LENGTH:
        problem = f"nbgrader's gradebook keeps student ids of at most {ID_LENGTH} characters"
    elif looks_like_another(student_id):
        problem = ("a student id that begins or ends with a space, or holds a character that shows nothing (a "
                   "zero-width space ...), is not graded: it would look like another student's")
    return problem


def find_submissions(assignment, submissions_dir):
    """Every student folder of ``submissions_dir``, sorted by id, with what is wrong with it."""
    found = []
    source = read(assignment)  # the instructor's: a failure here is the grader's, not a student's
    for student in sorted(p for p in Path(submissions_dir).iterdir() if p.is_dir()):
        folder = student / assignment
        submission = Submission(student.name, folder)
        if why := student_id_problem(student.name):
            submission.problem = why
        elif not folder.is_dir() and not folder.is_symlink():
            submission.problem = f"no folder {assignment}/ in the submission"
        # --- the gate (gate/files.py): only regular files and folders, nothing followed ---
        elif refused := gate.check_submission(folder, within=submissions_dir):
            submission.problem = gate.refusal_message(refused)
        # --- end of the gate ---
        else:
            try:
                submission.problem = content_problem(folder, assignment, source, submissions_dir)
            except Exception as error:  # noqa: BLE001 - one student's files never stop the class
                submission.problem = (f"the grader could not check this submission ({type(error).__name__}: "
                                      f"{gate.shown(str(error))[:200]}); hand in the notebook as released, "
                                      f"with your answers")
        found.append(submission)
    return found


def content_problem(folder, assignment, source, submissions_dir):
    """Why the notebooks (or timestamp.txt) of the submission ``folder``, which the gate let
    through, cannot be graded, or ''; ``source``: the assignment's source notebook."""
    problems = [notebook_problem(folder / name, submissions_dir)
                or cells_problem(folder / name, source, submissions_dir)
                for name in expected_notebooks(assignment)]
    problems = [p for p in problems if p]
    if not problems:
        problems = [p for p in [timestamp_problem(folder, submissions_dir)] if p]
    if problems:
        others = sorted(p.name for p in folder.glob("*.ipynb") if p.name not in expected_notebooks(assignment))
        if others:
            problems.append(f"found {', '.join(others)} instead (was it renamed?)")
    return "; ".join(problems)
