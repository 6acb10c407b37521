"""What the first cell of every course notebook calls: style sheet and readable test failures."""
from pathlib import Path

HIDDEN_TESTS_MARKER = "BEGIN HIDDEN TESTS"
CSS_NAMES = ("custom.css", "admin/custom.css")


def find_css(start=None):
    """The course style sheet nearest to ``start`` (default: the working folder), or None.

    Looks in the folder itself and then in each parent, first for ``custom.css`` (the copy that
    ships with an assignment) and then for ``admin/custom.css`` (the course repository's own).
    """
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents):
        for name in CSS_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _load_css(path):
    from IPython.display import HTML, display

    display(HTML("<style>\n" + path.read_text(encoding="utf-8") + "\n</style>"))


def _short_tracebacks_for_hidden_tests(ipython):
    """While grading, a failing hidden test shows its message, not the test's source lines.

    Hidden test regions only exist in the graded copy of a notebook. IPython prints the
    source around the failing line; for those cells we switch to its one-line format.
    """
    default_mode = ipython.InteractiveTB.mode

    def before_cell(info):
        source = getattr(info, "raw_cell", "") or ""
        ipython.InteractiveTB.set_mode("Minimal" if HIDDEN_TESTS_MARKER in source else default_mode)

    for callback in list(ipython.events.callbacks["pre_run_cell"]):
        if getattr(callback, "__name__", "") == before_cell.__name__:
            ipython.events.unregister("pre_run_cell", callback)
    ipython.events.register("pre_run_cell", before_cell)


MISSING_NAME_HINT = ("This name is not defined. If a cell above defines it, that cell has not run or stopped "
                     "with an error: fix the first error in the notebook, then run it again from the top.")


def _explain_missing_names(ipython):
    """A ``NameError`` is followed by what usually causes it in a notebook: a cell above it that
    stopped with an error (or never ran), so that every later cell reading its results fails too.

    The error itself is shown and reported as before (the cell still fails); the hint is printed
    after it. ``UnboundLocalError``, a mistake inside a function, gets no hint.
    """
    def explained(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        if not issubclass(etype, UnboundLocalError):
            print(MISSING_NAME_HINT)

    ipython.set_custom_exc((NameError,), explained)


def setup_notebook():
    """Prepare a notebook: apply the course style sheet if one is found, never fail without it."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python, e.g. a test importing a notebook's code
        return
    ipython = get_ipython()
    if ipython is None:
        return
    css = find_css()
    if css is not None:
        try:
            _load_css(css)
        except (OSError, UnicodeDecodeError):
            pass  # the style sheet is cosmetic: a broken one must not stop the notebook
    _short_tracebacks_for_hidden_tests(ipython)
    _explain_missing_names(ipython)
    from .budget import grading_mode

    if grading_mode():
        print(f"Grading mode ({grading_mode()}): smaller data and fewer iterations.")
