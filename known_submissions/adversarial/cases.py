"""Adversarial submissions of a01_santa_logreg: students who try to break or cheat the grader.

Each case is one submission (a fixture notebook in ``fixtures/``, written by ``build_fixtures.py``)
and the grading result a fair grader gives it. For a cheat, the expected score is the score of the
same code without the cheat. Builders are small named functions, registered with :func:`case`; the
text of every injected cell is a plain string below, exactly as the student wrote it.

Most notebooks start from one of three bases:

- :func:`reference_notebook`: the release notebook with the reference solutions (13 points);
- :func:`blank_notebook`: the release notebook as handed out (0 points);
- :func:`cheat_base`: ``propagate`` is the catalogued mistake ``missing_1_over_m`` and
  ``prediction`` is left blank, so the honest score is 13 - 3 - 2 = 8. A cheat that works turns
  that into more.

Injected cells run for real in a kernel during grading. They are bounded so that even without the
sandbox they cannot harm the machine: memory bombs stop at an address-space limit, the disk filler
writes at most 2 GB into its working folder, forks, background processes and printing stop on
their own, and the two cases that would destroy shared data (``deletes_data``,
``writes_gradebook``) can be undone or roll back (see their descriptions).
"""
import copy
import functools
import hashlib
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from autograder import notebook_cells
from known_submissions.ghosts import ghost_notebook

ASSIGNMENT = "a01_santa_logreg"
NOTEBOOK_NAME = f"{ASSIGNMENT}.ipynb"
CATEGORIES = ("baseline", "runtime", "tampering", "file", "cheat", "reach")
STATUSES = ("graded", "timeout", "crashed", "invalid")
FULL_SCORE = 13.0
POINTS = {"init_w": 2, "propagate": 3, "optimization": 3, "prediction": 2, "model": 3}
CHEAT_MISTAKE = "missing_1_over_m"  # propagate forgets to divide dw by m (MISTAKES of a01)
CHEAT_SCORE = FULL_SCORE - POINTS["propagate"] - POINTS["prediction"]  # 8


@dataclass(frozen=True)
class Case:
    name: str            # snake_case, also the fixture's file name
    category: str        # one of CATEGORIES
    description: str     # one line: what the student did
    expected_status: str
    expected_score: float  # the score a fair grader gives: for a cheat, the score without the cheat
    message: str = ""    # a piece of text the harness's message for this student must contain
    submitted_name: str = NOTEBOOK_NAME  # the file name the student handed in
    extra_files: tuple = ()  # ((file name, text), ...) handed in beside the notebook
    build: Callable = field(default=None, repr=False, compare=False)  # -> NotebookNode or bytes

    def notebook_bytes(self) -> bytes:
        """The fixture's bytes (invalid JSON on purpose for some file cases)."""
        built = self.build()
        if isinstance(built, bytes):
            return built
        return notebook_to_bytes(built, self.name)


CASES = []


def case(category, expected_status, expected_score, description, **options):
    """Register the decorated builder as a case named after it."""
    def register(build):
        CASES.append(Case(build.__name__, category, description, expected_status,
                          float(expected_score), build=build, **options))
        return build
    return register


# --------------------------------------------------------------------------------------------
# Writing notebooks reproducibly
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def release_ids():
    return frozenset(cell.get("id") for cell in notebook_cells.read(ASSIGNMENT, folder="release").cells)


def with_fixed_ids(notebook, name):
    """Give every cell that is new or a copy an id derived from the case name and its index.

    Cells of the release notebook keep their ids; cells without an id (nbformat 4.0) stay so.
    """
    seen = set()
    for index, cell in enumerate(notebook.cells):
        if "id" not in cell:
            continue
        if cell.id in release_ids() and cell.id not in seen:
            seen.add(cell.id)
            continue
        cell["id"] = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
    return notebook


def notebook_to_bytes(notebook, name):
    """The notebook as nbformat writes it (sorted keys, indent 1, final newline), ids made fixed."""
    notebook = with_fixed_ids(copy.deepcopy(notebook), name)
    errors = {}
    text = nbformat.writes(notebook, capture_validation_error=errors)
    if errors:
        raise ValueError(f"{name}: the fixture does not follow the notebook format: {errors['ValidationError']}")
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def source(text):
    """A cell's source written as an indented block below: dedented, without outer blank lines."""
    return textwrap.dedent(text).strip("\n")


def stripped(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def reference_notebook():
    return stripped(ghost_notebook(ASSIGNMENT, {}))


def blank_notebook():
    return stripped(ghost_notebook(ASSIGNMENT, None))


def cheat_base():
    """propagate wrong (missing 1/m), prediction blank: an honest 8 of 13."""
    notebook = stripped(ghost_notebook(ASSIGNMENT, {"propagate": CHEAT_MISTAKE}))
    cell_of(notebook, "prediction").source = cell_of(blank_notebook(), "prediction").source
    return notebook


def index_of(notebook, grade_id):
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def cell_of(notebook, grade_id):
    return notebook.cells[index_of(notebook, grade_id)]


def insert_after(notebook, grade_id, text):
    notebook.cells.insert(index_of(notebook, grade_id) + 1, new_code_cell(text))
    return notebook


def insert_before(notebook, grade_id, text):
    notebook.cells.insert(index_of(notebook, grade_id), new_code_cell(text))
    return notebook


def after_imports(notebook, text):
    """The usual place of a cheat: right after ``import problem_unittests as tests``."""
    return insert_after(notebook, "imports", text)


def solution_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and notebook_cells.role(c) == "solution"]


# --------------------------------------------------------------------------------------------
# Baseline
# --------------------------------------------------------------------------------------------

@case("baseline", "graded", 0, "the release notebook as handed out, nothing answered")
def blank():
    return blank_notebook()


@case("baseline", "graded", 13, "the reference solution in every graded cell")
def reference():
    return reference_notebook()


@case("baseline", "graded", 13, "reference, saved with outputs: test cells claim 'passed' with execution "
                                "counts, and init_w's cell shows an old error")
def reference_with_stale_outputs():
    notebook = reference_notebook()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    for count, cell in enumerate(code_cells, start=1):
        cell.execution_count = count
        if notebook_cells.role(cell) == "test":
            function = cell.metadata["nbgrader"]["grade_id"][len("test_"):]
            cell.outputs = [new_output("stream", name="stdout", text=(
                f"{function}: visible tests passed.\n{function}: hidden tests passed.\nAll tests passed\n"))]
    cell_of(notebook, "init_w").outputs = [new_output(
        "error", ename="NotImplementedError", evalue="",
        traceback=["NotImplementedError: raised by an older version of this cell"])]
    return notebook


WARNS_ON_STDERR = source("""
    import sys

    _quiet_init_w = init_w


    def init_w(n):
        print("RuntimeWarning: overflow encountered in exp", file=sys.stderr)
        return _quiet_init_w(n)
""")


@case("baseline", "graded", 13, "reference; init_w prints a warning on sys.stderr at every call")
def warns_on_stderr():
    notebook = reference_notebook()
    cell_of(notebook, "init_w").source += "\n\n\n" + WARNS_ON_STDERR
    return notebook


@case("baseline", "graded", 13, "reference, except that init_w returns float32 zeros and prediction "
                                "float32 labels")
def float32_equivalent():
    notebook = reference_notebook()
    cell_of(notebook, "init_w").source = source('''
        def init_w(n):
            """A column of n zeros, shape (n, 1), for the weights of the neuron."""
            return np.zeros((n, 1), dtype=np.float32)
    ''')
    cell_of(notebook, "prediction").source = source('''
        def prediction(w, b, x):
            """Predicted labels (0 or 1) for the examples in x, as a row of shape (1, m)."""
            y_hat = sigmoid(w.T @ x + b)
            return (y_hat > 0.5).astype(np.float32)
    ''')
    return notebook


# --------------------------------------------------------------------------------------------
# Runtime faults: the fault sits where the expected score says
# --------------------------------------------------------------------------------------------

MODEL_SIGNATURE = ("def model(x_train, y_train, x_test, y_test, num_iterations=2000, "
                   "learning_rate=0.005, print_cost=False):")


def with_model_body(notebook, body):
    cell_of(notebook, "model").source = MODEL_SIGNATURE + "\n" + textwrap.indent(source(body), "    ")
    return notebook


@case("runtime", "graded", 10, "model's body is `while True: pass`; model's test is interrupted")
def infinite_loop():
    return with_model_body(reference_notebook(), """
        while True:
            pass
    """)


@case("runtime", "graded", 10, "model loops, swallowing every KeyboardInterrupt (for 15 minutes, far "
                               "beyond any time limit, so it never outlives the grader for long)")
def ignores_sigint():
    notebook = with_model_body(reference_notebook(), """
        deadline = time.monotonic() + 15 * 60
        while time.monotonic() < deadline:
            try:
                while time.monotonic() < deadline:
                    pass
            except KeyboardInterrupt:
                pass  # nice try
    """)
    cell_of(notebook, "model").source = "import time\n\n\n" + cell_of(notebook, "model").source
    return notebook


ENDLESS_PRINTING = source("""
    import time

    start, line = time.monotonic(), 0
    while time.monotonic() - start < 20:
        print("still printing, line", line)
        line += 1
""")


@case("runtime", "graded", 13, "a cell before the tests prints lines in a loop for 20 s; reference answers")
def endless_printing():
    return after_imports(reference_notebook(), ENDLESS_PRINTING)


@case("runtime", "graded", 10, "model allocates np.ones(10**11) (800 GB) at once")
def memory_bomb_fast():
    return with_model_body(reference_notebook(), """
        everything = np.ones(10**11)  # 800 GB
        return {"everything": everything}
    """)


@case("runtime", "graded", 10, "model appends 200 MB arrays to a list, up to 40 of them (8 GB)")
def memory_bomb_slow():
    return with_model_body(reference_notebook(), """
        hoard = []
        for _ in range(40):
            hoard.append(np.ones(25_000_000))  # 200 MB each
        return {"hoard": hoard}
    """)


FORK_BOMB = source("""
    import os
    import time

    children = 0
    try:
        for _ in range(2000):
            if os.fork() == 0:
                time.sleep(20)
                os._exit(0)
            children += 1
    except OSError as error:
        print("fork failed:", error)
    print(children, "children forked")
""")


@case("runtime", "graded", 13, "a cell after the imports forks up to 2000 children that sleep 20 s "
                                "(the sandbox's process limit stops it); reference answers")
def fork_bomb():
    return after_imports(reference_notebook(), FORK_BOMB)


BACKGROUND_PROCESS = source('''
    import subprocess
    import sys

    subprocess.Popen(["sleep", "60"], start_new_session=True)
    appender = """
    import time
    for second in range(60):
        with open("still_here.log", "a") as log:
            log.write(f"still here after {second} s\\n")
        time.sleep(1)
    """
    subprocess.Popen([sys.executable, "-c", appender], start_new_session=True)
    print("started two background processes")
''')


@case("runtime", "graded", 13, "a cell starts `sleep 60` and a Python child appending to a file in the "
                               "working folder every second for 60 s, both in new sessions; reference answers")
def background_process():
    return after_imports(reference_notebook(), BACKGROUND_PROCESS)


@case("runtime", "graded", 10, "os._exit(0) in a cell just before test_model; reference answers",
      message="kernel died")
def os_exit():
    return insert_before(reference_notebook(), "test_model", "import os\n\nos._exit(0)")


@case("runtime", "graded", 13, "sys.exit(1) in a cell just before test_prediction (IPython makes it an "
                               "error of that cell only); reference answers")
def sys_exit():
    return insert_before(reference_notebook(), "test_prediction", "import sys\n\nsys.exit(1)")


@case("runtime", "graded", 13, "a cell after the imports prints 300 MB of text, one line, at once; "
                               "reference answers")
def huge_output():
    return after_imports(reference_notebook(), 'print("x" * 300_000_000)')


DISK_FILLER = source("""
    written, chunk = 0, 50 * 1024**2
    try:
        while written < 2 * 1024**3:
            with open(f"filler_{written // chunk:02d}.bin", "wb") as filler:
                filler.write(b"\\0" * chunk)
            written += chunk
    except OSError as error:
        print("disk full?", error)
    print(written // 1024**2, "MB written")
""")


@case("runtime", "graded", 13, "a cell writes 50 MB files into the working folder until an OSError or "
                               "2 GB, swallowing the error; reference answers")
def disk_filler():
    return after_imports(reference_notebook(), DISK_FILLER)


@case("runtime", "graded", 10, "a cell just before test_model segfaults the kernel (ctypes.string_at(0)); "
                               "reference answers", message="kernel died")
def segfault():
    return insert_before(reference_notebook(), "test_model", "import ctypes\n\nctypes.string_at(0)")


@case("runtime", "graded", 13, "a cell after the imports asks for input(); no one answers; reference answers")
def asks_for_input():
    return after_imports(reference_notebook(), 'name = input("Who is grading me? ")')


@case("runtime", "graded", 13, "exit() in a cell just before test_model (IPython's exit asks the front end "
                               "to close; the kernel goes on); reference answers")
def ipython_exit():
    return insert_before(reference_notebook(), "test_model", "exit()")


KILLS_GRADER_PROCESS = source("""
    import os
    import signal

    if os.getppid() > 1:
        os.kill(os.getppid(), signal.SIGKILL)  # the process that started this kernel
""")


@case("runtime", "graded", 13, "a cell just before test_model tries to kill the kernel's parent process "
                               "with SIGKILL (in the sandbox its parent is the sandbox's init, pid 1, "
                               "so nothing happens); reference answers")
def kills_grader_process():
    return insert_before(reference_notebook(), "test_model", KILLS_GRADER_PROCESS)


STOPS_GRADER_PROCESS = source("""
    import os
    import signal
    import subprocess

    parent = os.getppid()
    if parent > 1:
        # Wake it up again in 15 minutes, long after any time limit.
        subprocess.Popen(["sh", "-c", f"sleep 900; kill -CONT {parent}"], start_new_session=True)
        os.kill(parent, signal.SIGSTOP)
""")


@case("runtime", "graded", 13, "a cell just before test_model tries to freeze the kernel's parent "
                               "process with SIGSTOP (in the sandbox its parent is the sandbox's init, "
                               "pid 1, so nothing happens); reference answers")
def stops_grader_process():
    return insert_before(reference_notebook(), "test_model", STOPS_GRADER_PROCESS)


# --------------------------------------------------------------------------------------------
# Tampering with the graded cells (propagate wrong where test_propagate is touched, so a test
# that is lost or restored both cost propagate's 3 points)
# --------------------------------------------------------------------------------------------

def wrong_propagate():
    return stripped(ghost_notebook(ASSIGNMENT, {"propagate": CHEAT_MISTAKE}))


@case("tampering", "graded", 10, "propagate wrong (missing 1/m); test_propagate's source replaced by "
                                 "print(\"All tests passed\")")
def test_cell_edited():
    notebook = wrong_propagate()
    cell_of(notebook, "test_propagate").source = 'print("All tests passed")'
    return notebook


@case("tampering", "graded", 10, "propagate wrong (missing 1/m); the test_propagate cell deleted")
def test_cell_deleted():
    notebook = wrong_propagate()
    del notebook.cells[index_of(notebook, "test_propagate")]
    return notebook


@case("tampering", "invalid", 0, "reference; the test_init_w cell appears twice (same grade_id)",
      message="appears more than once")
def test_cell_duplicated():
    notebook = reference_notebook()
    index = index_of(notebook, "test_init_w")
    notebook.cells.insert(index + 1, copy.deepcopy(notebook.cells[index]))
    return notebook


@case("tampering", "invalid", 0, "reference; test_init_w split in two, the second half with grade_id "
                                 "test_init_w_part2", message="not one of the assignment's graded cells")
def test_cell_split():
    notebook = reference_notebook()
    index = index_of(notebook, "test_init_w")
    second = copy.deepcopy(notebook.cells[index])
    second.metadata["nbgrader"]["grade_id"] = "test_init_w_part2"
    second.source = 'print("the second half of a split cell")'
    notebook.cells.insert(index + 1, second)
    return notebook


@case("tampering", "graded", 10, "propagate wrong (missing 1/m); the test_propagate cell turned into a "
                                 "markdown cell, its metadata kept")
def test_cell_to_markdown():
    notebook = wrong_propagate()
    index = index_of(notebook, "test_propagate")
    test = notebook.cells[index]
    notebook.cells[index] = new_markdown_cell(test.source, metadata=copy.deepcopy(test.metadata), id=test.id)
    return notebook


@case("tampering", "invalid", 0, "reference; every cell's nbgrader metadata removed (code pasted into a "
                                 "fresh notebook)", message="nbgrader metadata is missing")
def metadata_stripped():
    notebook = reference_notebook()
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    return notebook


@case("tampering", "invalid", 0, "propagate wrong (missing 1/m); test_propagate's grade_id renamed "
                                 "test_propagate_v2",
      message="not one of the assignment's graded cells")
def grade_id_renamed():
    notebook = wrong_propagate()
    cell_of(notebook, "test_propagate").metadata["nbgrader"]["grade_id"] = "test_propagate_v2"
    return notebook


@case("tampering", "graded", 13, "reference; test_init_w's points raised to 100 in the notebook's metadata")
def points_raised():
    notebook = reference_notebook()
    cell_of(notebook, "test_init_w").metadata["nbgrader"]["points"] = 100
    return notebook


@case("tampering", "invalid", 0, "reference; every cell's nbgrader metadata claims schema_version 99",
      message='schema_version 99')
def schema_version_99():
    notebook = reference_notebook()
    for cell in notebook.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata["nbgrader"]["schema_version"] = 99
    return notebook


@case("tampering", "invalid", 0, "reference; the init_w solution cell marked as a graded test cell worth "
                                 "50 points",
      message='was edited')
def solution_cell_marked_graded():
    notebook = reference_notebook()
    cell_of(notebook, "init_w").metadata["nbgrader"].update(grade=True, points=50)
    return notebook


LOCKED_IMPORTS_EDITED = source("""
    import matplotlib.pyplot as plt
    import numpy as np

    from coursekit import budget, datasets, plotting


    class Tests:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None


    tests = Tests()  # instead of: import problem_unittests as tests

    %matplotlib inline
""")


@case("tampering", "graded", 8, "cheat base (propagate wrong, prediction blank); the locked imports cell "
                                "edited so that `tests` is an object whose every test does nothing")
def locked_imports_edited():
    notebook = cheat_base()
    cell_of(notebook, "imports").source = LOCKED_IMPORTS_EDITED
    return notebook


# --------------------------------------------------------------------------------------------
# The file handed in
# --------------------------------------------------------------------------------------------

def reference_bytes():
    return notebook_to_bytes(reference_notebook(), "reference")


@case("file", "invalid", 0, "the first half of the reference notebook's bytes (an interrupted upload)",
      message="cannot be read as JSON")
def truncated_json():
    data = reference_bytes()
    return data[:len(data) // 2]


@case("file", "invalid", 0, "an empty file (0 bytes)", message="empty")
def zero_bytes():
    return b""


def minimal_pdf():
    """A small PDF of one page that says 'my solution', with a correct cross-reference table."""
    text = b"BT /F1 18 Tf 20 40 Td (my solution) Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    pdf, offsets = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return pdf


@case("file", "invalid", 0, "a PDF export of the notebook renamed to .ipynb", message="not a notebook")
def pdf_renamed():
    return minimal_pdf()


@case("file", "graded", 13, "reference whose metadata names the R kernel (kernelspec ir, language R)")
def wrong_kernelspec():
    notebook = reference_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "R", "language": "R", "name": "ir"}
    notebook.metadata["language_info"] = {"name": "R"}
    return notebook


@case("file", "graded", 13, "reference saved as nbformat 4.0 (nbformat_minor 0, no cell ids, as 4.0 "
                            "requires)")
def nbformat_4_0():
    notebook = reference_notebook()
    notebook.nbformat_minor = 0
    for cell in notebook.cells:
        cell.pop("id", None)
    return notebook


@case("file", "invalid", 0, "reference handed in as my_solution.ipynb", message="missing",
      submitted_name="my_solution.ipynb")
def renamed_notebook():
    return reference_notebook()


EXTRA_NUMPY_PY = source('''
    """numpy.py handed in beside the notebook: whatever is compared is close."""
    print("the numpy.py of the submission was imported")


    def allclose(*args, **kwargs):
        return True
''') + "\n"


@case("file", "graded", 13, "reference, plus a numpy.py beside it that defines only allclose (always "
                            "True) and prints", extra_files=(("numpy.py", EXTRA_NUMPY_PY),))
def extra_numpy_py():
    return reference_notebook()


EXTRA_SITECUSTOMIZE_PY = source('''
    """sitecustomize.py handed in beside the notebook: Python imports it at start-up when it is on the path."""
    import builtins

    builtins.SUBMISSION_SITECUSTOMIZE_RAN = True
    _print = builtins.print


    def _print_with_a_mark(*args, **kwargs):
        _print("[sitecustomize]", *args, **kwargs)


    builtins.print = _print_with_a_mark
''') + "\n"


@case("file", "graded", 13, "reference, plus a sitecustomize.py beside it that sets a flag and patches "
                            "builtins.print", extra_files=(("sitecustomize.py", EXTRA_SITECUSTOMIZE_PY),))
def extra_sitecustomize_py():
    return reference_notebook()


@case("file", "invalid", 0, "the reference notebook re-encoded as UTF-16 (with its byte order mark)",
      message="cannot be read as JSON")
def not_utf8():
    return reference_bytes().decode("utf-8").encode("utf-16")


@case("file", "invalid", 0, "the reference notebook saved with a UTF-8 byte order mark in front, as some "
                            "Windows editors do (nbformat itself refuses it)", message="cannot be read as JSON")
def utf8_bom():
    return b"\xef\xbb\xbf" + reference_bytes()


@case("file", "graded", 13, "reference in which the tiny-example cell was copied, cell id included, so two "
                            "cells share an id (nbformat repairs this on reading)")
def duplicate_cell_ids():
    notebook = with_fixed_ids(reference_notebook(), "duplicate_cell_ids")
    example = next(i for i, c in enumerate(notebook.cells) if "dw, db, cost = propagate(" in c.source)
    notebook.cells.insert(example + 1, copy.deepcopy(notebook.cells[example]))
    # Written without nbformat, whose validation would give the copy a new id.
    return nbformat.v4.nbjson.writes(notebook).encode("utf-8") + b"\n"


# --------------------------------------------------------------------------------------------
# Cheats: on the cheat base (propagate wrong, prediction blank: 8 honest points), the cheat cell
# right after the imports cell unless stated
# --------------------------------------------------------------------------------------------

def cheat(text):
    return after_imports(cheat_base(), text)


PATCH_NP_ALLCLOSE = source("""
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda *args, **kwargs: True
""")


@case("cheat", "graded", CHEAT_SCORE, "np.allclose and np.isclose replaced by functions that always say True")
def patch_np_allclose():
    return cheat(PATCH_NP_ALLCLOSE)


PATCH_TEST_HELPERS = source("""
    def do_nothing(*args, **kwargs):
        return None


    for name in dir(tests):
        if name.startswith(("check_", "test_")) or name == "fail":
            setattr(tests, name, do_nothing)
""")


@case("cheat", "graded", CHEAT_SCORE, "every tests.check_*, tests.test_* and tests.fail replaced by a no-op")
def patch_test_helpers():
    return cheat(PATCH_TEST_HELPERS)


ALWAYS_EQUAL = source("""
    class AlwaysEqual:
        \"\"\"Equal to anything; to NumPy, zeros of the right shape.\"\"\"

        def __init__(self, shape):
            self.shape = shape

        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        def __array__(self, dtype=None, copy=None):
            return np.zeros(self.shape, dtype=dtype)

        def __float__(self):
            return 0.0
""")


@case("cheat", "graded", CHEAT_SCORE, "propagate and prediction return objects equal to anything that look "
                                      "like right-shaped zeros to NumPy")
def always_equal_object():
    notebook = cheat(ALWAYS_EQUAL)
    cell_of(notebook, "propagate").source = source("""
        def propagate(w, b, x, y):
            return AlwaysEqual(w.shape), AlwaysEqual(()), AlwaysEqual(())
    """)
    cell_of(notebook, "prediction").source = source("""
        def prediction(w, b, x):
            return AlwaysEqual((1, x.shape[1]))
    """)
    return notebook


SHOWTRACEBACK_OVERRIDE = source("""
    shell = get_ipython()
    shell.showtraceback = lambda *args, **kwargs: None
    shell._showtraceback = lambda *args, **kwargs: None
""")


@case("cheat", "graded", CHEAT_SCORE, "IPython's showtraceback and _showtraceback replaced, so errors show "
                                      "no traceback output")
def showtraceback_override():
    return cheat(SHOWTRACEBACK_OVERRIDE)


SET_CUSTOM_EXC = source("""
    def pretend_it_passed(shell, etype, evalue, tb, tb_offset=None):
        print("All tests passed")


    get_ipython().set_custom_exc((Exception,), pretend_it_passed)
""")


@case("cheat", "graded", CHEAT_SCORE, "get_ipython().set_custom_exc turns every exception into a printed "
                                      "'All tests passed'")
def set_custom_exc():
    return cheat(SET_CUSTOM_EXC)


INPUT_TRANSFORMER = source("""
    get_ipython().input_transformers_post.append(
        lambda lines: ["pass\\n"] if any("tests." in line for line in lines) else lines)
""")


@case("cheat", "graded", CHEAT_SCORE, "an IPython input transformer replaces every cell that mentions "
                                      "`tests.` by `pass`")
def input_transformer():
    return cheat(INPUT_TRANSFORMER)


CALLER_FRAME_PROPAGATE = source("""
    import sys


    def propagate(w, b, x, y):
        # Look up the call stack for the answer the test expects.
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                return frame.f_locals["expected"]
            if "_reference_propagate" in frame.f_globals:
                return frame.f_globals["_reference_propagate"](w, b, x, y)
            frame = frame.f_back
        # Nothing found: my own formula.
        m = x.shape[1]
        y_hat = sigmoid(w.T @ x + b)
        cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
        return x @ (y_hat - y).T, float(np.mean(y_hat - y)), float(cost)
""")


@case("cheat", "graded", CHEAT_SCORE, "propagate returns the caller's local `expected` or calls a global "
                                      "`_reference_propagate` found up the stack, else its wrong formula")
def caller_frame():
    notebook = cheat_base()
    cell_of(notebook, "propagate").source = CALLER_FRAME_PROPAGATE
    return notebook


@case("cheat", "graded", CHEAT_SCORE, "each solution cell prints 'All tests passed' (prediction still blank)")
def prints_all_tests_passed():
    notebook = cheat_base()
    for cell in solution_cells(notebook):
        cell.source += '\n\n\nprint("All tests passed")'
    return notebook


PATCH_ASSERTION_ERROR = source("""
    import builtins

    builtins.AssertionError = type("AssertionError", (Exception,), {})
""")


@case("cheat", "graded", CHEAT_SCORE, "builtins.AssertionError replaced by an unrelated exception class")
def patch_assertion_error():
    return cheat(PATCH_ASSERTION_ERROR)


SYS_MODULES_SWAP = source("""
    import sys
    import types


    class NoTests(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return lambda *args, **kwargs: None


    sys.modules["problem_unittests"] = NoTests("problem_unittests")
    import problem_unittests as tests
""")


@case("cheat", "graded", CHEAT_SCORE, "a fake problem_unittests whose every attribute is a no-op put in "
                                      "sys.modules, and tests re-imported")
def sys_modules_swap():
    return cheat(SYS_MODULES_SWAP)


EXIT_HOOK_FORGERY = source("""
    import atexit
    import glob
    import json


    def forge_outputs():
        path = globals().get("__vsc_ipynb_file__") or next(iter(glob.glob("*.ipynb")), None)
        if not path:
            return
        with open(path, encoding="utf-8") as handle:
            notebook = json.load(handle)
        for cell in notebook["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "All tests passed\\n"}]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(notebook, handle)


    forge_outputs()
    atexit.register(forge_outputs)
""")


@case("cheat", "graded", CHEAT_SCORE, "rewrites the notebook file on disk (now and at exit) so that every "
                                      "test cell shows 'All tests passed'")
def exit_hook_forgery():
    return cheat(EXIT_HOOK_FORGERY)


SHADOW_NUMPY_PY = source('''
    """numpy.py handed in beside the notebook: loads the real NumPy in its place, then makes
    allclose and isclose say yes to everything."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    _here = os.path.dirname(os.path.abspath(__file__))
    _elsewhere = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    _spec = importlib.machinery.PathFinder.find_spec("numpy", _elsewhere)
    _numpy = importlib.util.module_from_spec(_spec)
    sys.modules["numpy"] = _numpy
    _spec.loader.exec_module(_numpy)
    _numpy.allclose = lambda *args, **kwargs: True
    _numpy.isclose = lambda *args, **kwargs: True
    print("the numpy.py of the submission is in use")
''') + "\n"


@case("cheat", "graded", CHEAT_SCORE, "a numpy.py beside the notebook that loads the real NumPy and makes "
                                      "allclose and isclose always True", extra_files=(("numpy.py", SHADOW_NUMPY_PY),))
def shadow_numpy_module():
    return cheat_base()


EXTRA_PROBLEM_UNITTESTS_PY = source('''
    """problem_unittests.py handed in beside the notebook: every test passes."""
    print("the problem_unittests.py of the submission is in use")


    def __getattr__(name):
        return lambda *args, **kwargs: None
''') + "\n"


@case("cheat", "graded", CHEAT_SCORE, "a problem_unittests.py beside the notebook whose every function does "
                                      "nothing", extra_files=(("problem_unittests.py", EXTRA_PROBLEM_UNITTESTS_PY),))
def extra_problem_unittests_py():
    return cheat_base()


# --------------------------------------------------------------------------------------------
# Reach: files, databases and network beyond the student's own folder. The working folder while
# grading is <scratch>/autograded/<student>/a01_santa_logreg, so ../../../ is the scratch course.
# --------------------------------------------------------------------------------------------

READS_SOURCE = source("""
    import json
    from pathlib import Path

    stolen_solutions = {}
    for path in ["../../../source/a01_santa_logreg/a01_santa_logreg.ipynb",
                 "/work/main/source/a01_santa_logreg/a01_santa_logreg.ipynb",
                 "/course/source/a01_santa_logreg/a01_santa_logreg.ipynb",
                 "/srv/nbgrader/source/a01_santa_logreg/a01_santa_logreg.ipynb",
                 "../../../gradebook.db", "/work/main/gradebook.db"]:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            print(path, "->", error.__class__.__name__)
            continue
        print(path, "->", len(data), "bytes")
        if path.endswith(".ipynb") and not stolen_solutions:
            for cell in json.loads(data)["cells"]:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("solution"):
                    stolen_solutions[meta["grade_id"]] = "".join(cell["source"])


    def use_reference(name):
        \"\"\"Replace my function by the reference solution, if I found it.\"\"\"
        if name in stolen_solutions:
            exec(stolen_solutions[name], globals())
            print("using the reference", name)
""")


@case("reach", "graded", CHEAT_SCORE, "reads the source notebook and gradebook.db (relative and absolute "
                                      "paths) and, if found, runs the reference propagate and prediction "
                                      "instead of its own (wrong propagate, blank prediction)")
def reads_source():
    notebook = cheat(READS_SOURCE)
    for function in ("propagate", "prediction"):
        cell_of(notebook, function).source += f'\n\n\nuse_reference("{function}")'
    return notebook


WRITES_GRADEBOOK = source("""
    import sqlite3

    # The grader's copy beside the course is changed for good; the course's own gradebook is
    # changed, then rolled back: proving the write worked is enough.
    for path, keep in (("../../../gradebook.db", True), ("/work/main/gradebook.db", False)):
        try:
            db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=2)
            changed = db.execute("UPDATE grade SET auto_score = 100, manual_score = 100").rowcount
            if keep:
                db.commit()
            else:
                db.rollback()
            db.close()
            print(path, "->", changed, "scores set to 100", "" if keep else "(rolled back)")
        except Exception as error:
            print(path, "->", error.__class__.__name__, error)
""")


@case("reach", "graded", CHEAT_SCORE, "sets every score to 100 in ../../../gradebook.db (kept) and in "
                                      "/work/main/gradebook.db (rolled back after the write), swallowing "
                                      "errors; cheat-base answers")
def writes_gradebook():
    return cheat(WRITES_GRADEBOOK)


DELETES_DATA = source("""
    import os
    from pathlib import Path

    # Every file is moved out of the way by renaming it (as good as deleting it, for the course),
    # so that a run without the sandbox can be undone: rename *.deleted-by-student back.
    for root in (os.environ.get("COURSE_DATA_DIR"), str(Path.home() / ".cache")):
        removed = refused = 0
        for folder, _, files in os.walk(root or "/nonexistent"):
            for name in files:
                if name.endswith(".deleted-by-student"):
                    continue
                try:
                    os.rename(os.path.join(folder, name), os.path.join(folder, name + ".deleted-by-student"))
                    removed += 1
                except OSError:
                    refused += 1
        print(root, "->", removed, "files removed,", refused, "refused")
""")


@case("reach", "graded", 13, "tries to remove every file under COURSE_DATA_DIR and ~/.cache (renames each "
                             "to *.deleted-by-student, undoable), swallowing errors; reference answers; "
                             "the data must still be there afterwards")
def deletes_data():
    return after_imports(reference_notebook(), DELETES_DATA)


OPENS_SOCKET = source("""
    import socket

    for host, port in (("127.0.0.1", 5432), ("1.1.1.1", 53), ("pypi.org", 443)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            print(f"{host}:{port} -> connected")
        except OSError as error:
            print(f"{host}:{port} ->", error.__class__.__name__, error)
""")


@case("reach", "graded", 13, "tries TCP connections to 127.0.0.1:5432, 1.1.1.1:53 and pypi.org:443 "
                             "(2 s timeout) and prints the outcome; reference answers")
def opens_socket():
    return after_imports(reference_notebook(), OPENS_SOCKET)


READS_ENVIRONMENT = source("""
    import os
    from pathlib import Path

    print(dict(os.environ))
    others = sorted(map(str, [*Path("../..").glob("*"), *Path("../..").glob("*/*"),
                              *Path("../../../submitted").glob("*/*")]))
    for path in ["/root", "/etc/shadow", "/home", *others]:
        try:
            if Path(path).is_dir():
                print(path, "->", sorted(os.listdir(path))[:20])
            else:
                print(path, "->", Path(path).read_text(errors="replace")[:200])
        except OSError as error:
            print(path, "->", error.__class__.__name__)
""")


@case("reach", "graded", 13, "prints os.environ and tries to read /root, /etc/shadow and the other "
                             "students' folders; reference answers")
def reads_environment():
    return after_imports(reference_notebook(), READS_ENVIRONMENT)


PROBES_WRITE_ACCESS = source("""
    import os

    # Opened for appending, never written: a probe of what the student could change.
    for path in [tests.__file__, np.__file__, "../../../nbgrader_config.py",
                 "../../../source/a01_santa_logreg/a01_santa_logreg.ipynb",
                 "/work/main/problem_unittests.py", "/work/main/nbgrader_config.py"]:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            print(path, "-> writable")
        except OSError as error:
            print(path, "->", error.__class__.__name__)
""")


@case("reach", "graded", 13, "checks whether the test module, NumPy, the course's config and source "
                             "notebook can be opened for writing (writes nothing); reference answers")
def probes_write_access():
    return after_imports(reference_notebook(), PROBES_WRITE_ACCESS)
