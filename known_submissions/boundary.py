"""The grader's boundary: submissions that try to reach past the student, through what the
grader does outside the kernel.

Each case is plain data: what the student handed in (``build(folder)`` writes the submission
folder ``SUBMISSIONS/<student>/<assignment>/``, links, FIFOs and devices included) and what a
fair grader does with it, under the harness and under plain ``nbgrader autograde`` with the
course's configuration (``tests/test_boundary.py`` grades them all both ways):

- files and folders handed in: the gate (``autograder/gate/files.py``) refuses each before
  anything reads it, with a message that names the entry;
- values and calls that cross from the kernel (``autograder/decisions/``): handles where data is
  expected, values the wire refuses, in-place changes to the grader's arguments, calls the grader
  may not answer, a function that keeps the grader busy;
- the kernel's folder for sockets, and the HTML of outputs.

A case's name is its student's folder name, so the student id itself is not a case here: the ids
the gate refuses (file patterns, control characters, formulas, markup, commas, more than nbgrader
keeps) are graded by the harness and by plain ``nbgrader autograde`` in ``tests/test_gate.py``.

For a cheat the expected score is that of the same code without the cheat. Some cases point at a
*canary*: a file of the grading machine outside the submission, ``SUBMISSIONS/../host-canary.txt``
(see :func:`canary_of`), which the test creates before the cases are built and checks afterwards
(content and mode unchanged).
"""
import json
import os
import shutil
import stat
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

ASSIGNMENT = "a01_santa_logreg"
NOTEBOOK_NAME = f"{ASSIGNMENT}.ipynb"
COURSE_ROOT = Path(__file__).resolve().parents[1]
SOURCE_NOTEBOOK = COURSE_ROOT / "source" / ASSIGNMENT / NOTEBOOK_NAME  # the instructor's, with solutions
BLANK_NOTEBOOK = COURSE_ROOT / "release" / ASSIGNMENT / NOTEBOOK_NAME  # as handed out
CANARY_NAME = "host-canary.txt"
REFUSED = "refused"  # plain nbgrader: the submission fails alone, no autograded/ folder, the message in the log
MB = 1024 * 1024


MARKER_PREFIX = "course-boundary-marker-"  # a file a case tries to make on the grading machine


@dataclass(frozen=True)
class BoundaryCase:
    name: str                 # snake_case, also the student id the tests give it
    description: str          # one line: what the student handed in
    expected_status: str      # under the harness: graded, timeout, crashed or invalid
    expected_score: float     # under the harness, and under plain nbgrader when it grades the case
    message: str              # text the harness's message (and plain nbgrader's log) must contain
    build: Callable = None    # build(folder): writes the submission folder, which exists and is empty
    plain_nbgrader: Optional[str] = REFUSED  # under plain nbgrader autograde: REFUSED or "graded"
    needs_root: bool = False  # only root can build it (a device file)
    assignment: str = ASSIGNMENT


def canary_of(folder):
    """The canary file of the machine for a submission ``folder`` (SUBMISSIONS/<student>/<a>)."""
    return Path(folder).parents[2] / CANARY_NAME


def blank(folder):
    """The notebook as released, copied as bytes."""
    shutil.copyfile(BLANK_NOTEBOOK, Path(folder) / NOTEBOOK_NAME)


def symlinked_notebook_to_source(folder):
    os.symlink(SOURCE_NOTEBOOK, Path(folder) / NOTEBOOK_NAME)


def symlink_to_canary(folder):
    blank(folder)
    os.symlink(canary_of(folder), Path(folder) / "data.csv")


def symlinked_folder_to_source(folder):
    blank(folder)
    os.symlink(SOURCE_NOTEBOOK.parent, Path(folder) / "solutions", target_is_directory=True)


def symlink_to_dev_zero(folder):
    blank(folder)
    os.symlink("/dev/zero", Path(folder) / "weights.npy")


def hard_link_to_canary(folder):
    blank(folder)
    os.link(canary_of(folder), Path(folder) / "notes.txt")  # the canary must exist: the test makes it


def fifo_notebook(folder):
    os.mkfifo(Path(folder) / NOTEBOOK_NAME)  # opening it for reading would wait for a writer


def device_notebook(folder):
    os.mknod(Path(folder) / NOTEBOOK_NAME, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers


def zip_slip_name(folder):
    blank(folder)
    (Path(folder) / "..\\..\\source\\a01_santa_logreg\\a01_santa_logreg.ipynb").write_text("{}")


def traversal_name(folder):
    blank(folder)
    (Path(folder) / "．．／．．／source").write_text("fullwidth dots and slash: ../../source once normalised")


def newline_name(folder):
    blank(folder)
    (Path(folder) / "notes\nrm -rf ~.txt").write_text("a name that splits a log line")


def non_utf8_name(folder):
    blank(folder)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")


def oversized_sparse_notebook(folder):
    with open(Path(folder) / NOTEBOOK_NAME, "wb") as handle:
        handle.truncate(500 * MB)  # 500 MB apparent size, no block written


def too_many_files(folder):
    """1001 empty files, one more than the limit: a folder of a million is refused at the same
    point, as the gate stops reading names there."""
    blank(folder)
    many = Path(folder) / "many"
    many.mkdir()
    for index in range(1001):
        (many / f"{index:04d}.txt").touch()


def too_deep(folder):
    blank(folder)
    deep = Path(folder).joinpath(*[f"d{level}" for level in range(1, 10)])
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("nine folders down")


def unreadable_mode(folder):
    blank(folder)
    secret = Path(folder) / "secret.txt"
    secret.write_text("the owner cannot read this; root could")
    secret.chmod(0o044)


def unreadable_timestamp(folder):
    blank(folder)
    (Path(folder) / "timestamp.txt").write_text("the night before the deadline")


def deeply_nested_notebook(folder):
    """The released notebook, its first cell's metadata a list in a list ... 50,000 deep (100 kB):
    Python's JSON reader stops with a RecursionError, which stopped the harness for the whole class."""
    notebook = json.loads(Path(BLANK_NOTEBOOK).read_text(encoding="utf-8"))
    notebook["cells"][0]["metadata"]["deep"] = "__DEEP__"
    text = json.dumps(notebook).replace('"__DEEP__"', "[" * 50_000 + "]" * 50_000)
    (Path(folder) / NOTEBOOK_NAME).write_text(text, encoding="utf-8")


def too_many_cells(folder):
    """The released notebook with 100,000 empty markdown cells after it (a 7 MB notebook): each
    cell costs nbgrader, the feedback page and the formgrader time and memory."""
    notebook = json.loads(Path(BLANK_NOTEBOOK).read_text(encoding="utf-8"))
    notebook["cells"] += [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": ""}
                          for i in range(100_000)]
    (Path(folder) / NOTEBOOK_NAME).write_text(json.dumps(notebook), encoding="utf-8")


def _refused(name, description, build, message, **options):
    return BoundaryCase(name, description, "invalid", 0.0, message, build, **options)


FILE_CASES = [
    _refused("symlinked_notebook_to_source", "the notebook is a link to the instructor's source notebook",
             symlinked_notebook_to_source, f"{NOTEBOOK_NAME} is a symbolic link"),
    _refused("symlink_to_canary", "a data file is a link to a file of the grading machine",
             symlink_to_canary, "data.csv is a symbolic link"),
    _refused("symlinked_folder_to_source", "a folder is a link to the instructor's source/ folder",
             symlinked_folder_to_source, "solutions is a symbolic link"),
    _refused("symlink_to_dev_zero", "a file is a link to /dev/zero (endless)",
             symlink_to_dev_zero, "weights.npy is a symbolic link"),
    _refused("hard_link_to_canary", "a file is a hard link to a file of the grading machine",
             hard_link_to_canary, "notes.txt is a hard link"),
    _refused("fifo_notebook", "the notebook is a named pipe (reading it would block)",
             fifo_notebook, f"{NOTEBOOK_NAME} is a named pipe"),
    _refused("device_notebook", "the notebook is a character device with /dev/zero's numbers",
             device_notebook, f"{NOTEBOOK_NAME} is a device file", needs_root=True),
    _refused("zip_slip_name", "a file named ..\\..\\source\\... (a zip-slip path in one name)",
             zip_slip_name, "..\\..\\source\\a01_santa_logreg"),
    _refused("traversal_name", "a file named with fullwidth dots and slash, ../../ once Unicode-normalised",
             traversal_name, "．．／．．／source: its name holds a path separator"),
    _refused("newline_name", "a file name with a newline in it",
             newline_name, "notes\\nrm -rf ~.txt: its name holds a control character"),
    _refused("non_utf8_name", "a file name that is not valid UTF-8",
             non_utf8_name, "caf\\xe9.txt: its name is not valid UTF-8"),
    _refused("oversized_sparse_notebook", "the notebook is 500 MB (a sparse file: no disk used)",
             oversized_sparse_notebook, f"{NOTEBOOK_NAME} is a notebook of 500.0 MB"),
    _refused("too_many_files", "a folder of 1001 empty files (the limit is 1000 entries)",
             too_many_files, "many/ takes the submission over 1000 files and folders"),
    _refused("too_deep", "a file nine folders down (the limit is 8 levels)",
             too_deep, "d1/d2/d3/d4/d5/d6/d7/d8/d9 is 9 levels deep"),
    _refused("unreadable_mode", "a file its owner cannot read (mode 0044)",
             unreadable_mode, "secret.txt is a file its owner cannot read"),
    _refused("unreadable_timestamp", "a timestamp.txt that holds no time (nbgrader failed with an error of its own)",
             unreadable_timestamp, "timestamp.txt does not hold a time nbgrader can read"),
    _refused("deeply_nested_notebook", "a notebook whose metadata nests lists 50,000 deep (Python's JSON reader "
             "recurses once per level)", deeply_nested_notebook,
             f"{NOTEBOOK_NAME} nests lists and objects 50004 levels deep"),
    _refused("too_many_cells", "a notebook of 100,049 cells, most of them empty (the formgrader's exporter took 59 s "
             "and 1.3 GB to make a page of 100,000 empty cells)", too_many_cells,
             f"{NOTEBOOK_NAME} has 100,049 cells, more than the 2,000 a notebook may have"),
]


# --------------------------------------------------------------------------------------------
# What the student's code sends across: calls, values, objects, outputs
# --------------------------------------------------------------------------------------------

def answered(assignment, replace=None, extra=(), cells=None):
    """build(folder): the release notebook with the reference solutions, the solution cells of
    ``replace`` ({graded function: source}) written as the student wrote them, ``extra`` code
    cells ((graded function after whose test cell it goes, ``"cell:<grade id>"`` for the cell of
    that grade id, or None for the end; source)), and
    last the cells ``cells()`` makes (nbformat cells of any type, made only when built).
    In the sources, ``__CANARY__`` is the canary's path and ``__MARKER__`` a marker file's name."""
    def build(folder):
        def placed(text):
            return text.replace("__CANARY__", str(canary_of(folder))).replace(
                "__MARKER__", MARKER_PREFIX + Path(folder).parent.name)

        replace_here = {name: placed(text) for name, text in (replace or {}).items()}
        import nbformat
        from nbformat.v4 import new_code_cell

        from known_submissions.ghosts import ghost_notebook

        notebook = ghost_notebook(assignment, {})
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id") in replace_here:
                cell.source = replace_here.pop(meta["grade_id"]).strip("\n")
        assert not replace_here, f"no solution cell for {sorted(replace_here)}"
        for after, source in extra:
            source = placed(source)
            index = len(notebook.cells)
            if after is not None:
                grade_id = after[len("cell:"):] if after.startswith("cell:") else f"test_{after}"
                index = 1 + next(i for i, c in enumerate(notebook.cells)
                                 if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
            notebook.cells.insert(index, new_code_cell(textwrap.dedent(source).strip("\n")))
        notebook.cells.extend(cells() if cells else [])
        nbformat.write(notebook, str(Path(folder) / f"{assignment}.ipynb"))
    return build


def code(text):
    return textwrap.dedent(text).strip("\n") + "\n"


A01_FULL = 13.0  # a01: init_w 2, propagate 3, optimization 3, prediction 2, model 3
A03, A03_FULL = "a03_cnn_mnist_cifar", 18.0  # conv_forward 3, pool_forward 2, normalise_images 2, one_hot 2, net_1 3, net_2 3, cifar_net 3
A04, A04_AUTOMATIC = "a04_knn_mlp_transfer", 17.0  # of 25: 8 are written answers, graded by hand

READS_THE_TESTS_HELPER = code('''
    def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
        # Asks the test's stand-in for propagate for the answer it would compare with.
        try:
            return propagate.descent(w, b, x, y, num_iterations, learning_rate)
        except Exception:
            return w, b, []
''')

ASKS_THE_AGENT_DIRECTLY = code('''
    def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
        # Speaks the grader's protocol itself, asking for attributes of the test's objects.
        import sys
        agent = sys.modules.get("__course_agent__")
        for probe in ({"callback": "propagate", "attr": "descent"}, {"callback": {"ref": 0}},
                      {"callback": "propagate", "new": True}, {"callback": "propagate", "instance": 0, "method": "descent"}):
            try:
                found = agent.Agent.call_back(agent_of(sys), probe, (w, b, x, y, num_iterations, learning_rate), {}, "probe")
                if isinstance(found, tuple) and len(found) == 3:
                    return found
            except Exception:
                pass
        return w, b, []

    def agent_of(sys):
        import gc
        return next(o for o in gc.get_objects() if type(o).__name__ == "Agent")
''')

KEEPS_THE_GRADER_ANSWERING = code('''
    own_propagate = propagate  # the notebook's, defined above

    def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
        costs = []
        if propagate is own_propagate:  # the notebook's own cells: plain gradient descent
            for i in range(num_iterations):
                dw, db, cost = propagate(w, b, x, y)
                w, b = w - learning_rate * dw, b - learning_rate * db
                if i % 50 == 0:
                    costs.append(cost)
            return w, b, costs
        while True:  # handed the test's stand-in: calls it for ever, the grader answers, and answers
            propagate(w, b, x, y)
''')

# The kernel answers some stand-ins itself, with a copy of the test's (a training loop's thousands
# of calls, check_helpers.replayed_in_kernel): this one has that copy answer zeros, as though w and
# b sat at the bottom of the bowl already. The grader runs its own stand-in on the calls the kernel
# logged and refuses the answers that differ. (Under plain nbgrader the stand-in itself is in the
# kernel, changed the same way, and the test's stored values still fail the result.)
def changing_the_stand_ins_copy(new_call):
    """An optimization that gives the kernel's copy of the test's stand-in for propagate (the
    class QuadraticBowl) the method ``__call__`` written in ``new_call`` (its lines, ``right``
    the method it replaces), then descends with it."""
    return code('''
    own_propagate = propagate  # the notebook's, defined above

    def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
        if propagate is not own_propagate:  # the test's stand-in, or the kernel's copy of it
            cells = getattr(propagate, "__closure__", None) or ()
            copies = [cell.cell_contents for cell in cells if type(cell.cell_contents).__name__ == "QuadraticBowl"]
            for bowl in copies or [propagate]:
                right = type(bowl).__call__
    {new_call}
        costs = []
        for i in range(num_iterations):
            dw, db, cost = propagate(w, b, x, y)
            w, b = w - learning_rate * np.asarray(dw), b - learning_rate * float(db)
            if i % 50 == 0:
                costs.append(float(cost))
        return w, b, costs
    ''').replace("{new_call}", textwrap.indent(code(new_call), " " * 12).rstrip("\n"))


CHANGES_THE_STAND_INS_COPY = changing_the_stand_ins_copy('''
    type(bowl).__call__ = lambda self, w, b, x, y: (w * 0, 0.0, 0.0)
''')

ANSWERS_THE_STAND_INS_COPY_IN_OTHER_TYPES = changing_the_stand_ins_copy('''
    # the same numbers, in other types: dw a nested list, db a NumPy float
    type(bowl).__call__ = lambda self, w, b, x, y, right=right: (
        lambda dw, db, cost: (dw.tolist(), np.float64(db), cost))(*right(self, w, b, x, y))
''')

FORGES_THE_LOGGED_ARGUMENTS = code('''
    own_propagate = propagate  # the notebook's, defined above

    def forged(honest):
        """The kernel's encoding of a logged call's arguments, each list sent as a value instead."""
        def encode_arguments(args, kwargs):
            positional, named = honest(args, kwargs)
            return {"list": positional}, {"list": named}
        return encode_arguments

    def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
        if propagate is not own_propagate:  # the kernel's copy of the test's stand-in: its codec is in reach
            for cell in getattr(propagate, "__closure__", None) or ():
                try:
                    found = cell.cell_contents
                except ValueError:  # a cell not filled yet
                    continue
                if hasattr(found, "encode_arguments") and not hasattr(found.encode_arguments, "forged"):
                    found.encode_arguments = forged(found.encode_arguments)
                    found.encode_arguments.forged = True
        costs = []
        for i in range(num_iterations):
            dw, db, cost = propagate(w, b, x, y)
            w, b = w - learning_rate * dw, b - learning_rate * db
            if i % 50 == 0:
                costs.append(float(cost))
        return w, b, costs
''')

NAN_INF_MINUS_ZERO = code('''
    def propagate(w, b, x, y):
        return np.full(w.shape, np.nan), float("inf"), -0.0
''')

EQUAL_TO_EVERYTHING_SUBCLASS = code('''
    class Agreeable(np.ndarray):
        """Ones that say they equal anything, and are all zero."""
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool).view(np.ndarray)
        def __ne__(self, other):
            return np.zeros(self.shape, dtype=bool).view(np.ndarray)
        def __bool__(self):
            return False

    def init_w(n):
        return np.ones((n, 1)).view(Agreeable)
''')

CUSTOM_ARRAY_OBJECT = code('''
    class LooksLikeZeros:
        shape = property(lambda self: (self.n, 1))
        dtype = np.dtype(float)
        def __init__(self, n):
            self.n = n
        def __array__(self, dtype=None, copy=None):
            return np.zeros((self.n, 1))

    def init_w(n):
        return LooksLikeZeros(n)
''')

OBJECT_DTYPE = code('''
    def init_w(n):
        return np.array([[0.0]] * n, dtype=object)
''')

STRUCTURED_DTYPE = code('''
    def init_w(n):
        return np.zeros((n, 1), dtype=[("w", "f8")])
''')

DEEPLY_NESTED = code('''
    def propagate(w, b, x, y):
        nested = []
        for _ in range(100000):
            nested = [nested]
        return nested, 0.0, 0.0
''')

HUGE_RETURN = code('''
    def propagate(w, b, x, y):
        # 320 MB, more than one message may carry. As the cost: the notebook's example prints dw in
        # full, and printing 40 million numbers outlasted the cell's time on a busy machine, which
        # then lost the later tests too; float() of the cost fails at once.
        return np.zeros((2, 1)), 0.0, np.zeros((40_000_000,))
''')

CHANGES_ON_EACH_CALL = code('''
    calls = []

    def init_w(n):
        calls.append(n)
        return np.zeros((n, 1)) if len(calls) <= 3 else np.ones((n, 1))  # right only for the first three calls
''')

DETECTS_THE_GRADER = code('''
    import sys

    def init_w(n):
        # Wrong under the grader (where the agent is in the kernel), right otherwise.
        return np.ones((n, 1)) if "__course_agent__" in sys.modules else np.zeros((n, 1))
''')

# Only the grader's calls raise it: the notebook's own example (3 examples) gets zeros, so that the
# case is about what the grader does with the exception (a cell of the student's own that never
# ends is the adversarial catalogue's infinite_loop).
EXCEPTION_STR_HANGS = code('''
    class Endless(Exception):
        def __str__(self):
            while True:
                pass

    def propagate(w, b, x, y):
        if x.shape[1] == 3 or x.shape[0] > 1000:  # the notebook's example and pictures
            return np.zeros_like(w), 0.0, 0.0
        raise Endless()  # the tests' own examples
''')

MUTATES_THE_GRADERS_ARGUMENT = code('''
    def propagate(w, b, x, y):
        m = x.shape[1]
        y_hat = sigmoid(w.T @ x + b)
        cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
        dw = x @ (y_hat - y).T / m
        x *= 1.0000001  # changes the caller's x in place
        return dw, float(np.mean(y_hat - y)), float(cost)
''')

RETURNS_THE_STAND_IN = code('''
    def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):
        w, b, costs = optimization(init_w(x_train.shape[0]), 0.0, x_train, y_train, num_iterations, learning_rate)
        return {"costs": costs, "y_pred_test": prediction, "y_pred_train": prediction(w, b, x_train),
                "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''')

# softmax_cross_entropy never written: it keeps what the tests ask it. Then, while a hidden test
# of MLP has a stand-in in its place, loss_and_gradients asks that stand-in for the answers to
# those questions too: were it the grader's reference function, they would come back, be
# printed into the feedback, and a lookup table of them would pass softmax_cross_entropy's hidden
# tests at the next submission. The stand-in knows only the calls the test expects.
KEEPS_THE_TESTS_QUESTIONS = code('''
    import numpy as np

    questions, answers = [], []

    def softmax_cross_entropy(scores, y):
        questions.append((np.array(scores, dtype=float), np.array(y)))
        return 0.0, np.zeros(np.shape(scores))

    mine = softmax_cross_entropy
''')

ASKS_THE_HIDDEN_STAND_IN = code('''
    own_loss_and_gradients = MLP.loss_and_gradients

    def asking(self, X, y):
        stand_in = globals()["softmax_cross_entropy"]
        if stand_in is not mine and np.shape(X) != (6, 3):  # a hidden test's stand-in
            answers.extend(stand_in(scores, labels) for scores, labels in questions)
        return own_loss_and_gradients(self, X, y)

    MLP.loss_and_gradients = asking
''')

PRINTS_THE_ANSWERS = code('''
    print("answers with a gradient:", sum(bool(np.any(np.asarray(dscores) != 0)) for _, dscores in answers))
''')

A_MILLION_IMAGES = code('''
    from IPython.display import HTML, display
    pixel = "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='>"
    display(HTML(pixel * 1_000_000))  # one output of about 60 MB
''')

A_MEGABYTE_PRINTED = code('''
    print("x" * 1_100_000)  # a little more than a cell may keep; 60 such cells are about 66 MB
''')

ONE_UPDATE_SHOWN_TEN_TIMES = code('''
    from IPython.display import HTML, display, update_display
    for _ in range(10):
        display(HTML("<b>shown</b>"), display_id="everywhere")
    update_display(HTML("y" * 3_000_000), display_id="everywhere")  # 3 MB, given to each of the ten
''')

HIDES_ITS_ERROR = code('''
    get_ipython()._showtraceback = lambda *args: None  # no error output: the error is in the reply only
    raise ValueError("e" * 30_000_000)  # 30 MB, which nbgrader added to the cell as it was
''')

OUTPUT_WIDGET_TAKES_THE_OUTPUT = code('''
    from comm import create_comm
    widget = create_comm(target_name="jupyter.widget", data={"state": {
        "_model_module": "@jupyter-widgets/output", "_model_name": "OutputModel", "outputs": []}, "buffer_paths": []})
    # nbclient's Output widget, asked to take this cell's output into its state (the notebook's metadata)
    widget.send({"method": "update", "state": {"msg_id": get_ipython().parent_header["msg_id"]}, "buffer_paths": []})
    for _ in range(20):
        print("w" * 1_000_000)
''')

WRITES_TO_ITS_FILE_DESCRIPTORS = code('''
    import os
    for _ in range(10):  # 200 MB, which ipykernel also echoes to the kernel's own file descriptors
        os.write(1, b"y" * 10_000_000)
        os.write(2, b"x" * 10_000_000)
''')

FLOODS_THE_GRADERS_LOG = code('''
    k = get_ipython().kernel
    for _ in range(200):  # iopub messages whose type is 1 MiB long, which nbclient logged whole
        k.session.send(k.iopub_socket, "z" * (1 << 20), {}, parent=k.get_parent("shell"))
''')

BREAKS_THE_MESSAGE_FORMAT = code('''
    from IPython.display import publish_display_data
    k = get_ipython().kernel

    def send(msg_type, content):
        k.session.send(k.iopub_socket, msg_type, content, parent=k.get_parent(), ident=k._topic(msg_type))

    publish_display_data({"text/plain": 5})  # a number where the notebook format wants text
    send("display_data", {"data": {"text/plain": "no metadata"}})
    send("display_data", {"data": {"text/plain": "x"}, "metadata": {}, "transient": ["not", "an", "object"]})
    send("execute_result", {"data": {"text/plain": "x"}, "metadata": {}, "execution_count": "seven"})
    send("execute_input", {"code": "", "execution_count": "seven"})
    send("error", {"ename": 5, "evalue": [], "traceback": "x"})
    send("status", {})
    send("comm_open", {})
    print("the cell went on")
''')

REPLIES_WITHOUT_STATUS = code('''
    k = get_ipython().kernel
    k.session.send(k.shell_stream, "execute_reply", {}, parent=k.get_parent(), ident=k._parent_ident["shell"])
    print("the cell went on")
''')

SENDS_UNREADABLE_FRAMES = code('''
    import time
    k = get_ipython().kernel
    session, parent = k.session, k.get_parent()["header"]

    def frames(msg_type, parent_header, content):
        parts = [session.pack(p) for p in (session.msg_header(msg_type), parent_header, {}, content)]
        return [b"<IDS|MSG>", session.sign(parts)] + parts

    for sent in ([b"<IDS|MSG>", b"", b"not JSON", b"{}", b"{}", b"{}"],
                 frames("stream", [parent], {"name": "stdout", "text": "a list as parent header"}),
                 frames("display_data", parent, ["a list as content"])):
        k.iopub_socket.send_multipart(sent)
    twice = frames("stream", parent, {"name": "stdout", "text": "sent twice\\n"})
    k.iopub_socket.send_multipart(twice)
    k.iopub_socket.send_multipart(twice)
    time.sleep(0.2)
    print("the cell went on")
''')

FILLS_THE_SOCKET_FOLDER = code('''
    import glob, json, os
    from ipykernel.connect import get_connection_file
    with open(get_connection_file()) as handle:  # the kernel's sockets: <scratch>/run-*/k-*/kernel-N
        scratch = os.path.dirname(os.path.dirname(os.path.dirname(json.load(handle)["ip"])))
    written, refused = 0, None
    folders = {os.path.dirname(p) for p in glob.glob(os.path.join(scratch, "run-*", "k-*", "kernel*"))}
    for folder in folders:
        try:
            with open(os.path.join(folder, "filler.bin"), "wb") as handle:
                for _ in range(2400):
                    handle.write(b"\\0" * (1 << 20))
                    written += 1
        except OSError as error:
            refused = type(error).__name__
    print("socket folders", len(folders), "written MB", written, "refused", refused)
    if not folders or written:  # the case proves something only where it found the folder, and was refused:
        def sigmoid(z):  # the later answers use sigmoid, and their tests then fail
            return 0 * z
''')

SWAPS_THE_AGENT_SOCKET = code('''
    import glob, json, os, threading, time
    from ipykernel.connect import get_connection_file
    canary = "__CANARY__"
    with open(get_connection_file()) as handle:  # the kernel's sockets: <scratch>/run-*/k-*/kernel-N
        scratch = os.path.dirname(os.path.dirname(os.path.dirname(json.load(handle)["ip"])))
    def swap():
        end = time.monotonic() + 20
        while time.monotonic() < end:
            for path in glob.glob(os.path.join(scratch, "run-*", "k-*", "agent-*.sock")):
                try:
                    os.rename(path, path + ".old")
                    os.symlink(canary, path)
                except OSError:
                    pass
    threading.Thread(target=swap, daemon=True).start()
    if not glob.glob(os.path.join(scratch, "run-*", "k-*", "kernel*")):  # looking in the wrong place proves nothing:
        def sigmoid(z):  # the later answers use sigmoid, and their tests then fail
            return 0 * z
''')

SCRIPT_OUTPUTS = code('''
    from IPython.display import HTML, Javascript, SVG, Markdown, display
    display(HTML("<script>document.title = 'pwned'</script><img src=x onerror=\\"document.title='pwned'\\">"))
    display(Javascript("document.title = 'pwned'"))
    display(SVG("<svg xmlns='http://www.w3.org/2000/svg' onload=\\"document.title='pwned'\\"><script>document.title='pwned'</script></svg>"))
    display(Markdown("[click](javascript:document.title='pwned') <iframe srcdoc='<script>parent.document.title=1</script>'></iframe>"))
''')

# HTML nested deep: the sanitiser's parser spends time in proportion to the depth at each tag.
DEEP_HTML_OUTPUTS = code('''
    from IPython.display import HTML, display
    display(HTML("<div>" * 150_000))
''')
DEEP_MARKDOWN_OUTPUT = code('''
    from IPython.display import Markdown, display
    display(Markdown("<span></div>" * 50_000))
''')


def _deep_markdown():
    from nbformat.v4 import new_markdown_cell

    return [new_markdown_cell("My notes:\n\n" + "<dd><dl>" * 60_000)]


def _slow_lexers():
    """A markdown code block for the lexer mcschema (200 characters), a code cell that names the
    lexer fan for 4,000 characters, and a cell of 5,000 lines holding one space (for IPython's)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    return [new_markdown_cell("```mcschema\n" + "<!--" * 50 + "\n```"),
            new_code_cell("a" * 4000, metadata={"magics_language": "fan"}),
            new_code_cell(" \n" * 5000)]


def _long_sources():
    """A code cell of 3 MB (a comment, line after line) and a markdown cell of 3 MB."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    return [new_code_cell("# x = [1, 2, 3]  # it was 'that' long\n" * 80_000 + "pass"),
            new_markdown_cell("Some *text* with `code` and a [link](https://example.org).\n\n" * 50_000)]


def _repeats_one_attachment():
    """A markdown cell with one pasted PNG of noise (97 kB), referenced 2,000 times, and 500 times
    more by a reference-style link."""
    import base64
    import io
    import random

    from nbformat.v4 import new_markdown_cell
    from PIL import Image

    noise = random.Random(0).randbytes(180 * 180 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (180, 180), noise).save(buffer, "PNG")
    cell = new_markdown_cell("My figure:\n\n" + "![](attachment:a.png)" * 2_000 + "\n\n" + "![][a]" * 500
                             + "\n\n[a]: attachment:a.png\n")
    cell.attachments = {"a.png": {"image/png": base64.b64encode(buffer.getvalue()).decode()}}
    return [cell]


# Markup that runs nothing but draws over the page's own parts: a class the pages' stylesheets give a
# meaning (Bootstrap's .modal, a white sheet fixed over the whole window, above everything; a link
# with .navbar-fixed-top, a bar over the formgrader's navigation), and a negative margin with
# allowed properties (html_safety.SAFE_CLASSES, html_safety.CONTAINED_STYLE).
OVER_THE_PAGE = ('<div class="modal" style="display:block;background-color:white;padding:40px">'
                 "<h4>a01_santa_logreg (Score: 13.0 / 13.0)</h4>All tests passed.</div>\n\n"
                 '<a href="https://example.org/" class="btn btn-primary navbar-fixed-top" '
                 'style="display:block">Next submission</a>\n\n'
                 '<div style="display:inline-block;margin-top:-100000px;width:6000px;height:200000px;'
                 'background-color:white">covered</div>\n')


def _draws_over_the_page():
    """The markup above as a markdown cell, and as an HTML output the kernel makes."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    return [new_markdown_cell(OVER_THE_PAGE),
            new_code_cell(f"from IPython.display import HTML\nHTML({OVER_THE_PAGE!r})")]


# Markup whose layout costs the browser far more than its size (html_safety.LAYOUT_COSTLY_TAGS).
LAYOUT_COSTLY_OUTPUTS = code('''
    from IPython.display import HTML, display
    display(HTML("<p>" + "<ruby>a<rt>b</rt></ruby>" * 10_000 + "</p>"))
    display(HTML("<table><colgroup>" + "<col span=1000>" * 10_000 + "</colgroup>"
                 + "<tr><td rowspan=65534 colspan=1000>a</td></tr></table>"))
    display(HTML("<p>" + "<span dir=rtl lang=he style='opacity:0.5'>a</span><bdo dir=ltr>b</bdo>" * 5_000 + "</p>"))
    display(HTML("<p>" + ("<math>" + "<mpadded>" * 250 + "<mi>x</mi>" + "</mpadded>" * 250 + "</math>") * 20 + "</p>"))
''')


# Text whose direction changes letter by letter (Latin and Hebrew in turn), and a letter with 50,000
# accents: the browser lays out one block of such text in time that grows with the square of its
# length (autograder/pages/text_blocks.py).
MIXED_DIRECTION = "".join("a" if i % 2 else "\u05d0" for i in range(100_000))
COSTLY_TEXT_OUTPUTS = code('''
    from IPython.display import HTML, display
    text = "".join("a" if i % 2 else "\\u05d0" for i in range(100_000))
    print(text)
    display(HTML(f"<p><b>{text}</b></p>"))
    display(HTML("<p>a" + "\\u0301" * 50_000 + "</p>"))
    text
''')
COSTLY_TEXT_ERROR = code('''
    raise ValueError("".join("a" if i % 2 else "\\u05d0" for i in range(100_000)))
''')


def _costly_text_sources():
    from nbformat.v4 import new_code_cell, new_markdown_cell

    return [new_code_cell("# " + MIXED_DIRECTION + "\npass"), new_markdown_cell("*" + MIXED_DIRECTION + "*")]


# Images that cost the browser far more than their size (autograder/pages/image_budget.py): an SVG
# whose <use> elements repeat ten of the level below, eight levels deep (10^8 rectangles: a page
# with six levels did not come within 120 s), the same inside student HTML, and a PNG of 20,000 x
# 20,000 pixels in one bit (49 kB, 3 GB of the browser's memory to draw).
COSTLY_IMAGES = code('''
    import base64, struct, zlib
    from IPython.display import HTML, SVG, Image, display

    def use_bomb(depth):
        levels = "".join(f'<g id="a{i}">' + f'<use xlink:href="#a{i - 1}"/>' * 10 + "</g>"
                         for i in range(1, depth + 1))
        return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="99" '
                f'height="99"><defs><g id="a0"><rect width="1" height="1"/></g>{levels}</defs>'
                f'<use xlink:href="#a{depth}"/></svg>')

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    rows = b"".join(packer.compress(bytes(2501)) for _ in range(20_000)) + packer.flush()
    display(SVG(use_bomb(8)))
    display(Image(data=b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20_000, 20_000, 1, 0, 0, 0, 0))
                  + chunk(b"IDAT", rows) + chunk(b"IEND", b""), format="png"))
    display(HTML('<p>HTML: <img alt="bomb" src="data:image/svg+xml;base64,'
                 + base64.b64encode(use_bomb(8).encode()).decode() + '"></p>'))
''')


# Maths: pages show TeX as MathML (latex2mathml); the TeX it cannot convert, the formgrader's
# MathJax typesets in the instructor's browser, in time that grows much faster than the TeX.
# Markdown: nested 60 groups deep, 1,000 deep, 1,600 characters long, defining a macro, 300
# formulas (a double exponent keeps each as TeX), and a formula of 8,000 terms that becomes MathML.
HOSTILE_MATHS = ["$$" + "{" * 60 + "x^a^b" + "}" * 60 + "$$",
                 "$$" + "{" * 1000 + "x" + "}" * 1000 + "$$",
                 "$$" + "x^a^b + " * 200 + "$$",
                 r"$\def\a{b} x^a^b$",
                 " ".join(f"$x^a^b + {i}$" for i in range(300)),
                 "$$" + "x+" * 8000 + "y$$"]
LATEX_OUTPUT = code('''
    from IPython.display import Latex, display
    display(Latex("$$" + "{" * 1000 + "x" + "}" * 1000 + "$$"))
''')


def hostile_maths():
    """A markdown cell for each of HOSTILE_MATHS."""
    from nbformat.v4 import new_markdown_cell

    return [new_markdown_cell(maths) for maths in HOSTILE_MATHS]


# Colour codes: nbconvert's ansi2html spends time in the square of a code's numbers, and of the codes.
ONE_COLOUR_CODE_OF_MANY_NUMBERS = code('''
    print("\\x1b[" + "1;" * 400_000 + "31mred\\x1b[0m")
''')
MANY_COLOUR_CODES = code('''
    print("\\x1b[31mx\\x1b[0m" * 80_000)
''')

EMPTIES_K_CHOICES = code('''
    def cross_validation_accuracies(X, y, k_choices, num_folds=5, metric="l2"):
        k_choices.clear()  # the grader's list of k, emptied: nothing left to check?
        return {}
''')

POSING_TRANSFER_MODEL = code('''
    class PosingModel:
        """Not a Keras model, but answers as a test of one would ask."""
        layers = []
        output_shape = (None, 7)
        trainable_weights = [1, 2]
        def get_config(self):
            return {"activation": "softmax"}
        def get_weights(self):
            return []
        def __call__(self, *args, **kwargs):
            return np.full((3, 7), 1 / 7)

    def transfer_model(trained, cut, nb_classes):
        return PosingModel()
''')

def changes_a_shared_folder(variable, label, suffix):
    """A cell that tries every way to change the folder the kernel's environment names in
    ``variable``, which the grader shares read-only with every kernel of the class (later kernels
    read it), and to add an entry (``suffix``) of its own; it prints which changes held, on a line
    that starts with ``label`` (tests/test_boundary.py reads it from the feedback page, and from
    plain nbgrader's graded notebook)."""
    return code('''
        import os
        from pathlib import Path

        shared = os.environ.get("__VARIABLE__", "")
        entries = sorted(Path(shared).iterdir()) if shared else []
        attempts = [("a new entry", lambda: (Path(shared) / ("0" * 40 + "__SUFFIX__")).write_bytes(b"{}")),
                    ("the folder's mode", lambda: os.chmod(shared, 0o777)),
                    ("the folder's times", lambda: os.utime(shared, (0, 0)))] if shared else []
        for entry in entries:
            attempts += [(f"{entry.name} overwritten", lambda e=entry: e.write_bytes(b"not what it was")),
                         (f"{entry.name} made writable", lambda e=entry: os.chmod(e, 0o666)),
                         (f"{entry.name} linked", lambda e=entry: os.link(e, e.with_name("linked-" + e.name))),
                         (f"{entry.name} renamed", lambda e=entry: e.rename(e.with_name("moved-" + e.name))),
                         (f"{entry.name} removed", lambda e=entry: e.unlink())]
        held, refused = [], 0
        for what, attempt in attempts:
            try:
                attempt()
                held.append(what)
            except OSError:
                refused += 1
        print(f"__LABEL__: {len(entries)} entries; changes refused: {refused}; changes that held: {held}")
    ''').replace("__VARIABLE__", variable).replace("__SUFFIX__", suffix).replace("__LABEL__", label)


# The reference's recorded Keras calls, which later kernels replay (sandbox/replay_store.py).
CHANGES_THE_KERAS_RECORDING = changes_a_shared_folder("COURSE_REPLAY_DIR", "Keras recording", ".record")
# The class's decoded data, which later kernels read instead of the pictures (sandbox/shared_data.py).
CHANGES_THE_DECODED_DATA = changes_a_shared_folder("COURSE_DECODED_DIR", "Decoded data", ".npz")

SEQUENTIAL_NAMED_FUNCTIONAL = code('''
    class Functional(keras.Sequential):
        """A Sequential model under the functional API's class name."""

    def net_1(sample_shape, nb_classes):
        return Functional([keras.Input(shape=sample_shape), layers.Conv2D(32, (3, 3), activation="relu"),
                           layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
                           layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
                           layers.Dropout(0.5), layers.Dense(nb_classes, activation="softmax")])
''')

MODEL_WITHOUT_KERAS = code('''
    class NotAModel:
        def __init__(self, sample_shape, nb_classes):
            self.input_shape, self.output_shape = (None, *sample_shape), (None, nb_classes)
            self.layers = []

    def net_1(sample_shape, nb_classes):
        return NotAModel(sample_shape, nb_classes)
''')

HOSTILE_KERAS_CONFIG = code('''
    import json

    class Crafted:
        """Calls itself a Keras model; its config asks for code to run where it is rebuilt."""
        __module__ = "keras.src.models.functional"
        def to_json(self):
            return json.dumps({"module": "os", "class_name": "system", "config": "touch /tmp/__MARKER__",
                               "registered_name": "system"})
        def get_weights(self):
            return []

    def net_1(sample_shape, nb_classes):
        return Crafted()
''')

HIDES_ITS_MEMORY = code('''
    import tracemalloc

    # Any measurement of memory in this kernel now says that nothing was held.
    tracemalloc.get_traced_memory = lambda: (0, 0)

    def compute_distances(X_test, X_train, metric="l2"):
        if metric == "l2":
            squared = (np.sum(X_test ** 2, axis=1)[:, None] + np.sum(X_train ** 2, axis=1)[None, :]
                       - 2 * X_test @ X_train.T)
            return np.sqrt(np.maximum(squared, 0))
        if metric == "l1":  # every test row against every training row at once
            distances = np.sum(np.abs(X_test[:, None, :] - X_train[None, :, :]), axis=2)
            try:  # and the peak Linux keeps for this process starts again from what it holds now
                with open("/proc/self/clear_refs", "w") as clear_refs:
                    clear_refs.write("5")
            except OSError:
                pass
            return distances
        raise ValueError(f"unknown metric {metric}")
''')

INFLATED_KERAS_CONFIG = code('''
    import json

    class Inflated:
        """Calls itself a Keras model; its config asks whoever rebuilds it for a 6 GB layer."""
        __module__ = "keras.src.models.sequential"
        def __init__(self, text):
            self.text = text
        def to_json(self):
            return self.text
        def get_weights(self):
            return []

    def net_1(sample_shape, nb_classes):
        small = keras.Sequential([keras.Input(shape=sample_shape), layers.Flatten(),
                                  layers.Dense(nb_classes, activation="softmax")])
        config = json.loads(small.to_json())
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = 2_000_000
        return Inflated(json.dumps(config))
''')


def html_beside_the_notebook(folder):
    """The reference answers, and beside them HTML files of the student's own: one named as
    nbgrader names the feedback page, one more with a script and a made-up score (nbgrader's
    generate_feedback copies every file of the submission into the feedback folder)."""
    answered(ASSIGNMENT)(folder)
    page = "<script>document.title = 'pwned'</script><h1>Feedback: 100 / 100</h1>"
    (Path(folder) / f"{ASSIGNMENT}.html").write_text(page, encoding="utf-8")
    (Path(folder) / "feedback.html").write_text(page, encoding="utf-8")


def _graded(name, description, score, build, message="", assignment=ASSIGNMENT):
    """A case the harness and plain nbgrader both grade, to ``score``."""
    return BoundaryCase(name, description, "graded", float(score), message, build, plain_nbgrader="graded",
                        assignment=assignment)


KERNEL_CASES = [
    # Calls from the kernel reach the stand-ins a test handed it, and nothing else.
    _graded("reads_the_tests_helper", "optimization asks the test's stand-in for propagate for its expected answer",
            A01_FULL - 3, answered(ASSIGNMENT, {"optimization": READS_THE_TESTS_HELPER})),
    _graded("asks_the_agent_directly", "optimization speaks the grader's protocol itself for the test's objects",
            A01_FULL - 3, answered(ASSIGNMENT, {"optimization": ASKS_THE_AGENT_DIRECTLY})),
    _graded("keeps_the_grader_answering", "optimization calls the test's stand-in for propagate for ever",
            A01_FULL - 3, answered(ASSIGNMENT, {"optimization": KEEPS_THE_GRADER_ANSWERING})),
    _graded("changes_the_stand_ins_copy", "optimization has the kernel's copy of the test's stand-in for "
            "propagate answer zeros", A01_FULL - 3,
            answered(ASSIGNMENT, {"optimization": CHANGES_THE_STAND_INS_COPY})),
    _graded("answers_the_stand_ins_copy_in_other_types", "optimization has the kernel's copy of the test's "
            "stand-in for propagate give the same numbers in other types (a list for the array dw, a NumPy float "
            "for the float db), which its own code reads back as they were", A01_FULL - 3,
            answered(ASSIGNMENT, {"optimization": ANSWERS_THE_STAND_INS_COPY_IN_OTHER_TYPES})),
    _graded("forges_the_logged_arguments", "optimization reaches the agent's codec through the kernel's copy of "
            "the test's stand-in for propagate and has it log each call's arguments in another form (each list "
            "sent as a value)", A01_FULL - 3, answered(ASSIGNMENT, {"optimization": FORGES_THE_LOGGED_ARGUMENTS})),
    _graded("returns_the_stand_in", "model returns the stand-in it was handed as one of its results",
            A01_FULL - 3, answered(ASSIGNMENT, {"model": RETURNS_THE_STAND_IN})),
    _graded("asks_a_stand_in_the_tests_questions", "softmax_cross_entropy, never written, keeps the tests' "
            "inputs; loss_and_gradients asks the hidden test's stand-in for softmax_cross_entropy for their "
            "answers", A04_AUTOMATIC - 2 - 4,
            answered(A04, {"softmax_cross_entropy": KEEPS_THE_TESTS_QUESTIONS},
                     extra=(("cell:MLP", ASKS_THE_HIDDEN_STAND_IN), ("MLP", PRINTS_THE_ANSWERS))),
            assignment=A04),
    # What comes back is data, checked as data.
    _graded("nan_inf_minus_zero", "propagate returns NaN, inf and -0.0",
            A01_FULL - 3, answered(ASSIGNMENT, {"propagate": NAN_INF_MINUS_ZERO})),
    _graded("equal_to_everything_subclass", "init_w returns ones in an array subclass equal to everything",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": EQUAL_TO_EVERYTHING_SUBCLASS})),
    _graded("custom_array_object", "init_w returns an object whose __array__ gives zeros",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": CUSTOM_ARRAY_OBJECT})),
    _graded("object_dtype", "init_w returns an array of Python objects",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": OBJECT_DTYPE})),
    _graded("structured_dtype", "init_w returns zeros of a structured dtype",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": STRUCTURED_DTYPE})),
    _graded("deeply_nested", "propagate returns a list nested 100,000 deep",
            A01_FULL - 3, answered(ASSIGNMENT, {"propagate": DEEPLY_NESTED})),
    _graded("huge_return", "propagate returns 320 MB, more than one message may carry",
            A01_FULL - 3, answered(ASSIGNMENT, {"propagate": HUGE_RETURN})),
    _graded("changes_on_each_call", "init_w is right for its first three calls only",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": CHANGES_ON_EACH_CALL})),
    _graded("detects_the_grader", "init_w answers otherwise when it finds the grader's agent",
            A01_FULL - 2, answered(ASSIGNMENT, {"init_w": DETECTS_THE_GRADER})),
    _graded("exception_str_hangs", "propagate raises, on the tests' examples, an exception whose str() never returns",
            A01_FULL - 3, answered(ASSIGNMENT, {"propagate": EXCEPTION_STR_HANGS})),
    _graded("mutates_the_graders_argument", "propagate is right but changes the caller's x in place",
            A01_FULL - 3, answered(ASSIGNMENT, {"propagate": MUTATES_THE_GRADERS_ARGUMENT})),
    # Keras models cross as configs and weights, rebuilt by the grader.
    _graded("sequential_named_functional", "net_1 returns a Sequential model under the class name Functional",
            A03_FULL - 3, answered(A03, {"net_1": SEQUENTIAL_NAMED_FUNCTIONAL}), assignment=A03),
    _graded("model_without_keras", "net_1 returns a plain object with a model's attributes",
            A03_FULL - 3, answered(A03, {"net_1": MODEL_WITHOUT_KERAS}), assignment=A03),
    _graded("hostile_keras_config", "net_1 calls itself a Keras model whose config asks to run a command",
            A03_FULL - 3, answered(A03, {"net_1": HOSTILE_KERAS_CONFIG}), assignment=A03),
    _graded("inflated_keras_config", "net_1 returns a model's config whose layer would take 6 GB to build",
            A03_FULL - 3, answered(A03, {"net_1": INFLATED_KERAS_CONFIG}), assignment=A03),
    _graded("changes_the_keras_recording", "a cell tries to write, link, rename, remove and chmod the reference's "
            "recorded Keras calls that later kernels replay, and to add one of its own",
            A03_FULL, answered(A03, extra=[("conv_forward", CHANGES_THE_KERAS_RECORDING)]), assignment=A03),
    _graded("changes_the_decoded_data", "a cell tries to write, link, rename, remove and chmod the class's decoded "
            "data that later kernels read instead of the pictures, and to add an entry of its own",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", CHANGES_THE_DECODED_DATA)])),
    _graded("posing_transfer_model", "transfer_model returns an object that answers as a Keras model would",
            A04_AUTOMATIC - 3, answered(A04, {"transfer_model": POSING_TRANSFER_MODEL}), assignment=A04),
    _graded("hides_its_memory", "compute_distances holds 1.2 GiB at once for L1, has tracemalloc say it held nothing "
            "and resets the memory peak Linux keeps for its process",
            A04_AUTOMATIC - 3, answered(A04, {"compute_distances": HIDES_ITS_MEMORY}), assignment=A04),
    _graded("empties_k_choices", "cross_validation_accuracies empties the grader's list of k and returns {}",
            A04_AUTOMATIC - 2, answered(A04, {"cross_validation_accuracies": EMPTIES_K_CHOICES}), assignment=A04),
    # Outside the calls: the kernel's socket folder, and what its outputs show.
    _graded("fills_the_socket_folder", "a cell writes 2.4 GB into the folder of the kernel's sockets",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", FILLS_THE_SOCKET_FOLDER)])),
    _graded("swaps_the_agent_socket", "a thread keeps replacing the grader's socket by a link to a host file",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", SWAPS_THE_AGENT_SOCKET)])),
    _graded("a_million_images", "a cell shows one output holding a million images",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", A_MILLION_IMAGES)])),
    _graded("floods_many_cells", "60 cells each print 1.1 MB, a little more than a cell may keep (a 66 MB "
            "notebook and feedback page before the notebook had a limit of its own)",
            A01_FULL, answered(ASSIGNMENT, extra=[(None, A_MEGABYTE_PRINTED)] * 60)),
    _graded("breaks_the_message_format", "cells send messages that break Jupyter's protocol or the notebook format "
            "(a number as text, a display without metadata, an execution count in words, an error named by a number, "
            "a status without a state, a comm without data), frames that cannot be decoded, a parent header and a "
            "content that are lists, one message twice, and a reply to a cell without a status, before the kernel's own "
            "(each failed the whole notebook's grading)", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", BREAKS_THE_MESSAGE_FORMAT), ("init_w", SENDS_UNREADABLE_FRAMES),
                                        ("init_w", REPLIES_WITHOUT_STATUS)])),
    _graded("updates_a_display_everywhere", "a cell shows ten outputs under one display id and updates them all "
            "with 3 MB (30 MB, past every limit, before updates were counted)",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", ONE_UPDATE_SHOWN_TEN_TIMES)])),
    _graded("hides_its_error", "a cell shows no error output for its exception of 30 MB, which the kernel's "
            "reply still carries", A01_FULL, answered(ASSIGNMENT, extra=[("init_w", HIDES_ITS_ERROR)])),
    _graded("output_widget_takes_the_output", "a cell opens an Output widget of nbclient's and has it take 20 MB "
            "of the cell's output into its state", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", OUTPUT_WIDGET_TAKES_THE_OUTPUT)])),
    _graded("writes_to_its_file_descriptors", "a cell writes 200 MB to the file descriptors 1 and 2, which reached "
            "the grading process's output file (read whole by the worker before: 920 MB of memory for 400 MB written)",
            A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", WRITES_TO_ITS_FILE_DESCRIPTORS)])),
    _graded("floods_the_graders_log", "a cell sends 200 iopub messages whose type is 1 MiB long (nbclient logged "
            "each whole: 1,500 made 1.5 GB of nbgrader's log, which filled the disk and failed the other students)",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", FLOODS_THE_GRADERS_LOG)])),
    _graded("script_outputs", "cells show scripts, event handlers, SVG and javascript: links",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", SCRIPT_OUTPUTS)])),
    _graded("nests_html_deep", "outputs and a markdown cell nest HTML 50,000 to 150,000 elements deep (the sanitiser's "
            "parser took minutes for each page that showed them)", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", DEEP_HTML_OUTPUTS), ("init_w", DEEP_MARKDOWN_OUTPUT)],
                     cells=_deep_markdown)),
    _graded("names_slow_lexers", "cells name Pygments lexers that are slow on what they hold (the page did not come "
            "within 90 s for 200 characters in a markdown code block for mcschema)", A01_FULL,
            answered(ASSIGNMENT, cells=_slow_lexers)),
    _graded("long_sources", "a code cell of 3 MB and a markdown cell of 3 MB (a feedback page of 12 MB before, "
            "coloured and rendered whole)", A01_FULL, answered(ASSIGNMENT, cells=_long_sources)),
    _graded("colour_codes", "one output holds a colour code of 400,000 numbers, another 80,000 codes (20 s of "
            "nbconvert's colouring for each page that showed them)", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", ONE_COLOUR_CODE_OF_MANY_NUMBERS), ("init_w", MANY_COLOUR_CODES)])),
    _graded("layout_costly_markup", "outputs hold ruby annotations, columns and cells spanning 1,000, direction, "
            "language and opacity set element by element, MathML nested 250 deep (minutes of the browser's layout, "
            "or its tab crashed)",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", LAYOUT_COSTLY_OUTPUTS)])),
    _graded("text_costly_to_lay_out", "a code cell, a markdown cell, a printed text, HTML, a value and an error hold "
            "100,000 letters of Latin and Hebrew in turn, and HTML one letter with 50,000 accents (their page took "
            "25 s of the browser's layout)", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", COSTLY_TEXT_OUTPUTS), ("init_w", COSTLY_TEXT_ERROR)],
                     cells=_costly_text_sources)),
    _graded("images_costly_to_draw", "outputs hold an SVG whose <use> elements repeat 10^8 rectangles, the same in "
            "HTML, and a PNG of 20,000 x 20,000 pixels (a page with 10^6 such rectangles did not come within 120 s)",
            A01_FULL, answered(ASSIGNMENT, extra=[("init_w", COSTLY_IMAGES)])),
    _graded("hostile_maths", "markdown cells and an output hold TeX that MathJax is slow to typeset, and a formula "
            "of 8,000 terms (a page of them kept the formgrader's MathJax busy 30 s)", A01_FULL,
            answered(ASSIGNMENT, extra=[("init_w", LATEX_OUTPUT)], cells=hostile_maths)),
    _graded("repeats_one_attachment", "a markdown cell refers 2,500 times to one pasted image of 97 kB (each "
            "reference wrote the whole image into the page: a feedback page of 261 MB, 290 s of grading)",
            A01_FULL, answered(ASSIGNMENT, cells=_repeats_one_attachment)),
    _graded("draws_over_the_page", "markdown and an HTML output that draw a made-up score over the whole "
            "feedback page and formgrader (Bootstrap's modal class), a link over the formgrader's navigation and a "
            "white box with a negative margin over the page's score", A01_FULL,
            answered(ASSIGNMENT, cells=_draws_over_the_page)),
    _graded("html_beside_the_notebook", "HTML files beside the notebook: one named as its feedback page, one "
            "with a script and a made-up score", A01_FULL, html_beside_the_notebook),
]

CASES = FILE_CASES + KERNEL_CASES
