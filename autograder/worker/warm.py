"""Work that every nbgrader process would repeat, done once in the workers' fork server.

The fork server (``worker.PRELOAD``) imports this module before it forks the first nbgrader
process. Each forked process inherits, already done:

- SQLAlchemy's configuration of nbgrader's gradebook classes;
- the regular expressions, lexers and CSS selectors that turning a notebook into HTML compiles
  the first time (Markdown, Pygments' IPython lexer, ANSI colours, BeautifulSoup's selectors),
  about a third of the time ``generate_feedback`` takes for one student;
- nbgrader's feedback templates, compiled (``autograder/pages/exporter.py``);
- the code cells of the course's released notebooks, coloured by Pygments as a feedback page
  colours them (``page_budget.BoundedHighlight.remember``): most of a submission's code cells
  are those very cells (an a02 page took about 190 ms to render without them, 145 ms with them);
- their markdown cells, turned into HTML as a page turns them (``html_safety.remember_markdown``):
  a page takes those whose text is the same and that carry no attachment (the a02 notebook as
  released, without outputs, renders in about 23 ms with them, 63 ms without);
- every assignment's test modules, compiled (``course_checks``: about 30 ms a submission), and
  the source of each class of the visible tests and the check helpers, which a kernel's copy of
  a stand-in is made from (``decisions/session.class_sources``: 20 ms of an a02 submission);
- the main script or module of the process that started the server, where that process was
  started as one (``processes.MAIN_SCRIPT``: a benchmark, a program or a notebook's kernel that
  grades in-process), run as multiprocessing runs it in each process it starts, as
  ``__mp_main__``; a process forked from here finds it run and does not run it again (25 ms or
  more each).

It renders a tiny notebook of its own, with the exporter and template ``generate_feedback``
uses, and keeps nothing of it but compiled code. What it keeps of the course's own files is
made from them alone: no grade, no student's data (and, like every grading process, it runs
outside the students' sandbox).
Nothing here may stop the fork server, so any failure only means a slower start.
"""
import json
import logging
import os
import tempfile

# The lexer a graded notebook names (its kernel's, ipykernel's for Python 3), under which its
# pages colour its code cells.
KERNEL_LEXER = "ipython3"


def _tiny_notebook():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    graded = {"grade": True, "solution": False, "grade_id": "x", "points": 1, "score": 0, "comment": ""}
    pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    return new_notebook(
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
        cells=[new_markdown_cell("# A *heading*\n\nText with `code`, a [link](#x), $x^2$ and a list:\n\n- one\n- two"),
               new_code_cell("import numpy as np\nprint(np.sum([1, 2]))  # a comment", execution_count=1,
                             metadata={"nbgrader": graded}, outputs=[
                   new_output("stream", name="stdout", text="3\n"),
                   new_output("display_data", data={"image/png": pixel, "text/plain": "<Figure>"}),
                   new_output("error", ename="AssertionError", evalue="x",
                              traceback=["\x1b[0;31mAssertionError\x1b[0m: x"])])])


def warm_up():
    try:
        import sqlalchemy.orm

        import nbgrader.api  # noqa: F401 - defines the gradebook's classes

        sqlalchemy.orm.configure_mappers()
        from nbgrader.converters import GenerateFeedback
        from nbgrader.coursedir import CourseDirectory

        from ..pages.exporter import FeedbackHTMLExporter

        quiet = logging.getLogger("autograder.worker.warm")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        # The template and its folders as generate_feedback configures them for its exporter.
        feedback = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir()), log=quiet)
        scores = {"notebook": "warm-up", "score": 0, "max_score": 1, "late_penalty": 0}
        FeedbackHTMLExporter(config=feedback.config, log=quiet).from_notebook_node(
            _tiny_notebook(), resources={"nbgrader": scores})
    except Exception:  # noqa: BLE001 - a warm-up that fails costs time, never a grade
        pass


def prepare_released_cells(course_root=None):
    """Colour the code cells of the course's released notebooks once, and turn their markdown
    cells into HTML once, for every page."""
    try:
        import nbformat

        from ..course import COURSE_ROOT
        from ..pages.html_safety import remember_markdown
        from ..pages.page_budget import _highlighter

        highlighter = _highlighter(KERNEL_LEXER)
        for path in sorted((course_root or COURSE_ROOT).glob("release/*/*.ipynb")):
            for cell in nbformat.read(str(path), as_version=4).cells:
                if cell.cell_type == "code":
                    highlighter.remember(cell.source)
                elif cell.cell_type == "markdown" and not cell.get("attachments"):
                    remember_markdown(cell.source)
    except Exception:  # noqa: BLE001 - as above
        pass


def compile_course_checks():
    """Compile the test modules of every assignment once, and read the classes of those whose
    stand-ins a kernel may get a copy of (kept while their text stays the same)."""
    try:
        from .. import course, course_checks
        from ..decisions.session import class_sources

        for assignment in course.assignment_ids():
            for name, path in course_checks.module_files(assignment).items():
                course_checks._code(path)
                if name in (course_checks.SHARED, course_checks.VISIBLE):
                    class_sources(str(path), course_checks.compiled_text(path))
    except Exception:  # noqa: BLE001 - as above
        pass


def run_main_script_once():
    """The main script or module of the process that started this server, run as multiprocessing
    runs it in each process it starts (``spawn.prepare``, with the same preparation data), so that
    those forked from here find it run."""
    from multiprocessing import process, spawn

    from .processes import MAIN_SCRIPT

    try:
        main = json.loads(os.environ.pop(MAIN_SCRIPT, "") or "{}")
    except ValueError:
        return
    if not main:
        return
    process.current_process()._inheriting = True  # the script may start no process of its own here
    try:
        spawn.prepare(main)
    except Exception:  # noqa: BLE001 - as above: each forked process then runs it itself
        pass
    finally:
        del process.current_process()._inheriting


run_main_script_once()
warm_up()
prepare_released_cells()
compile_course_checks()
