"""Work that every nbgrader process would repeat, done once in the workers' fork server.

The fork server (``worker.PRELOAD``) imports this module before it forks the first nbgrader
process. Each forked process inherits, already done:

- SQLAlchemy's configuration of nbgrader's gradebook classes;
- the regular expressions, lexers and CSS selectors that turning a notebook into HTML compiles
  the first time (Markdown, Pygments' IPython lexer, ANSI colours, BeautifulSoup's selectors),
  about a third of the time ``generate_feedback`` takes for one student.

It renders a tiny notebook of its own and keeps nothing of it: no grade, no student's data.
Nothing here may stop the fork server, so any failure only means a slower start.
"""
import logging


def _tiny_notebook():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    return new_notebook(
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
        cells=[new_markdown_cell("# A *heading*\n\nText with `code`, a [link](#x), $x^2$ and a list:\n\n- one\n- two"),
               new_code_cell("import numpy as np\nprint(np.sum([1, 2]))  # a comment", execution_count=1, outputs=[
                   new_output("stream", name="stdout", text="3\n"),
                   new_output("display_data", data={"image/png": pixel, "text/plain": "<Figure>"}),
                   new_output("error", ename="AssertionError", evalue="x",
                              traceback=["\x1b[0;31mAssertionError\x1b[0m: x"])])])


def warm_up():
    try:
        import sqlalchemy.orm

        import nbgrader.api  # noqa: F401 - defines the gradebook's classes

        sqlalchemy.orm.configure_mappers()
        from nbconvert.exporters import HTMLExporter

        quiet = logging.getLogger("autograder.warm")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        HTMLExporter(template_name="classic", log=quiet).from_notebook_node(_tiny_notebook())
    except Exception:  # noqa: BLE001 - a warm-up that fails costs time, never a grade
        pass


warm_up()
