"""nbgrader's Execute as the course runs it (autograder/decisions/execute.py), with a real kernel."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from traitlets.config import Config

from autograder.decisions.execute import SurvivingExecute, output_size

# No sandbox, and test cells run in the kernel as stock nbgrader runs them: what these tests look
# at is the preprocessor's handling of outputs and of the kernel's end.
OFF = Config({"Sandbox": {"mode": "off"}, "SurvivingExecute": {"decide_tests_outside": False}})

HUGE_LINE = "print('x' * 5_000_000)"
MANY_LINES = "for i in range(20_000):\n    print('line', i)"
ERROR_AFTER = "print('y' * 50_000)\nraise ValueError('z' * 100_000)"


@pytest.fixture
def executed(tmp_path, monkeypatch):
    cells = [new_code_cell(text) for text in (HUGE_LINE, MANY_LINES, ERROR_AFTER, "print('small')")]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    # The limit is the grader's, whatever the sandbox: here none, and tests in the kernel.
    execute = SurvivingExecute(config=OFF, max_cell_output=10_000, timeout=120, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    return notebook


def test_does_a_cell_that_prints_without_end_keep_only_its_share_with_a_note(executed):
    for cell in executed.cells[:2]:
        assert sum(map(output_size, cell.outputs)) <= 10_000 + 200
        assert "output cut" in cell.outputs[-1].text


def test_does_an_error_after_the_limit_still_count(executed):
    errors = [o for o in executed.cells[2].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError" and len(errors[0].evalue) <= 2000


def test_is_a_small_output_kept_as_it_is(executed):
    # ipykernel may send a print's text and its line end in two messages, when its I/O thread
    # flushes between them (seen on a loaded machine): the output is the same text, kept whole.
    outputs = executed.cells[3].outputs
    assert {(o.output_type, o.name) for o in outputs} == {("stream", "stdout")}
    assert "".join(o.text for o in outputs) == "small\n"


def test_does_the_course_stop_the_kernel_at_once_keeping_every_output(tmp_path, monkeypatch):
    """The course's configuration kills the kernel once the last cell is done, without asking it
    to shut down first; everything the cells printed up to their end is still in the notebook."""
    from pathlib import Path

    from jupyter_client.manager import AsyncKernelManager
    from traitlets.config.loader import PyFileConfigLoader

    asked = []

    async def asked_to_shut_down(self, restart=False):
        asked.append(restart)

    monkeypatch.setattr(AsyncKernelManager, "_async_request_shutdown", asked_to_shut_down)
    root = Path(__file__).resolve().parent.parent
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.merge(OFF)
    last = "import sys\nfor i in range(3000):\n    print(i)\nsys.stderr.write('done')"
    notebook = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell(last)],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    execute = SurvivingExecute(config=config, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    assert asked == []  # stopped without the shutdown request
    streams = {o.name: o.text for o in notebook.cells[1].outputs if o.output_type == "stream"}
    assert streams["stdout"].splitlines() == [str(i) for i in range(3000)]
    assert streams["stderr"] == "done"


STUCK_AFTER_INTERRUPT = '''
class Endless(Exception):
    def __str__(self):  # the kernel's traceback display calls it, and never gets past it
        while True:
            pass

raise Endless()
'''


def test_a_kernel_that_does_not_stop_when_interrupted_ends_the_run_without_waiting_on_each_cell(tmp_path):
    """A cell past its time is interrupted; when the kernel is still busy ``iopub_timeout`` seconds
    later, the later cells are marked not run (sent to the busy kernel, each would time out behind
    it)."""
    cells = [new_code_cell("before = 1"), new_code_cell(STUCK_AFTER_INTERRUPT)] + [
        new_code_cell(f"after_{i} = {i}") for i in range(4)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    execute = SurvivingExecute(config=OFF, timeout=3, iopub_timeout=3, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    assert notebook.cells[0].outputs == []
    stuck = notebook.cells[1].outputs[-1]
    assert stuck.ename == "TimeoutError" and "did not stop when it was interrupted" in stuck.evalue
    for cell in notebook.cells[2:]:
        assert [o.evalue for o in cell.outputs] == ["not run: the kernel did not stop when interrupted in cell 1"]


LIMITED = [
    "from IPython.display import display, HTML\nfor i in range(5):\n    display(HTML('<b>x</b>'), display_id='same')",
    "from IPython.display import update_display, HTML\nupdate_display(HTML('y' * 5_000), display_id='same')",
    "from IPython.display import clear_output\nfor i in range(50):\n    clear_output()\n    print('p' * 5_000)",
    *["print('a' * 8_000)"] * 6,
    "raise ValueError('e' * 5_000)",
    # An Output widget of nbclient's, asked to take this cell's output: 20 lines of 1 MB
    "from comm import create_comm\nw = create_comm(target_name='jupyter.widget', data={'state': {'_model_module': "
    "'@jupyter-widgets/output', '_model_name': 'OutputModel', 'outputs': []}, 'buffer_paths': []})\n"
    "w.send({'method': 'update', 'state': {'msg_id': get_ipython().parent_header['msg_id']}, 'buffer_paths': []})\n"
    "for _ in range(20):\n    print('w' * 1_000_000)",
    "from comm import create_comm\ncreate_comm(target_name='jupyter.widget', data={'state': {'_model_module': 'm', "
    "'_model_name': 'n', 'x': 'y' * 200_000}, 'buffer_paths': []})",
]


@pytest.fixture(scope="module")
def within_the_notebooks_limit(tmp_path_factory):
    notebook = new_notebook(cells=[new_code_cell(text) for text in LIMITED],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    execute = SurvivingExecute(config=OFF, max_cell_output=10_000, max_notebook_output=30_000, timeout=120,
                               allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook),
                                     {"metadata": {"path": str(tmp_path_factory.mktemp("limited"))}})
    return notebook


def test_does_the_notebook_keep_at_most_its_share_of_output_in_all(within_the_notebooks_limit):
    """Cells under their own limit, many of them: the notebook keeps its limit in all, the cells
    past it keep a note (before, a thousand cells of 1 MB each made a graded notebook, and a
    feedback page, of 1 GB)."""
    cells = within_the_notebooks_limit.cells
    assert sum(output_size(o) for cell in cells for o in cell.outputs) <= 30_000 + 6 * 200  # and a note per cell cut
    assert [o.text for o in cells[3].outputs] == ["a" * 8_000 + "\n"]  # the first cells of prints whole
    assert [o.output_type for o in cells[9].outputs] == ["stream"]  # an error outside a test cell goes too
    for cell in cells[6:11]:
        assert cell.outputs[-1].text.endswith("[output cut: the notebook's cells printed more than 30,000 characters "
                                              "in all; the rest of their output was not kept]\n")


def test_does_an_update_of_a_display_count_for_every_output_it_updates(within_the_notebooks_limit):
    """One update of 5,000 characters to five outputs of one cell is 25,000 characters in that
    cell, past its limit of 10,000: the outputs get a note instead (before, nbclient gave each
    the update, past every limit)."""
    shown = within_the_notebooks_limit.cells[0].outputs
    assert len(shown) == 5
    for output in shown:
        assert output.data["text/plain"].startswith("[output cut: an update of this display")
        assert "y" * 100 not in str(output.data)


def test_does_output_cleared_at_once_stop_counting(within_the_notebooks_limit):
    """A progress display that clears its cell 50 times keeps its last 5,000 characters, and the
    notebook's count holds only those."""
    assert [o.text for o in within_the_notebooks_limit.cells[2].outputs] == ["p" * 5_000 + "\n"]


def test_is_no_widget_state_kept_in_the_graded_notebook(within_the_notebooks_limit):
    """A kernel's comm messages are a widget's state to nbclient, which keeps them in the notebook's
    metadata, outside every limit on output (five of 2 MB made a notebook of 10 MB)."""
    assert "widgets" not in within_the_notebooks_limit.metadata
    assert len(nbformat.writes(within_the_notebooks_limit)) < 40_000


def test_is_the_error_of_the_kernels_reply_kept_within_the_limit_too(tmp_path):
    """A kernel that shows no error output for its exception still says it in its reply, which
    nbgrader adds to the cell as it is (here 10 MB, past a cell's limit of 10,000)."""
    hides = ("get_ipython()._showtraceback = lambda *args: None  # the error output never leaves the kernel\n"
             "raise ValueError('e' * 5_000_000)")
    notebook = new_notebook(cells=[new_code_cell(hides)],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    execute = SurvivingExecute(config=OFF, max_cell_output=10_000, timeout=120, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    errors = [o for o in notebook.cells[0].outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]  # still there: in a test cell nbgrader scores by it
    assert output_size(errors[0]) <= 200 + 2000 + 60 * 2000


LONG_TYPED_MESSAGES = """
k = get_ipython().kernel
for _ in range(20):  # iopub messages whose type is 1 MiB long
    k.session.send(k.iopub_socket, "z" * (1 << 20), {}, parent=k.get_parent("shell"))
print("after")
"""


def test_are_iopub_messages_of_an_unknown_type_dropped_and_said_once_shortened(tmp_path):
    """nbclient logged each message of a type it does not handle with its whole type: 20 MB of
    nbgrader's log for this cell, and a kernel may send as many as it likes."""
    import io
    import logging

    said = io.StringIO()
    log = logging.getLogger("test_execute.long_types")
    log.addHandler(logging.StreamHandler(said))
    log.propagate = False
    cells = [new_code_cell(LONG_TYPED_MESSAGES), new_code_cell(LONG_TYPED_MESSAGES)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    execute = SurvivingExecute(config=OFF, timeout=120, allow_errors=True, log=log)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    assert [[o.get("text") for o in cell.outputs] for cell in notebook.cells] == [["after\n"], ["after\n"]]
    lines = said.getvalue().splitlines()
    assert len(lines) == 2 and all("z" * 40 + "... (1,048,576 characters)" in line for line in lines), lines
    assert len(said.getvalue()) < 1000


SENDS = """
k = get_ipython().kernel
k.session.send(k.iopub_socket, {msg_type!r}, {content!r}, parent=k.get_parent(), ident=k._topic({msg_type!r}))
print("after")
"""
# Messages of the types nbclient handles, whose content it cannot read or would put into the
# notebook against its format (each failed the notebook's whole grading), and the note's reason.
BREAKING = [("display_data", {"data": {"text/plain": 5}, "metadata": {}}, "NotebookValidationError: 5 is not valid"),
            ("display_data", {"data": {"text/plain": "x"}}, "KeyError: 'metadata'"),
            ("display_data", {"data": {"text/plain": "x"}, "metadata": {}, "transient": [1]},
             "AttributeError: 'list' object has no attribute 'get'"),
            ("execute_result", {"data": {"text/plain": "x"}, "metadata": {}, "execution_count": "7"},
             "NotebookValidationError: '7' is not of type"),
            ("error", {"ename": 5, "evalue": "", "traceback": []}, "NotebookValidationError: 5 is not of type"),
            ("stream", {"name": "stdout"}, "KeyError: 'text'"),
            ("status", {}, "KeyError: 'execution_state'")]


def test_are_messages_that_break_the_format_dropped_with_a_note_and_the_cell_run_on(tmp_path):
    cells = [new_code_cell(SENDS.format(msg_type=t, content=c)) for t, c, _ in BREAKING]
    cells.append(new_code_cell(SENDS.format(msg_type="comm_open", content={})))  # dropped: no widget is mimicked
    # a count the format refuses, last in the cell (the kernel's reply, before it, named its own)
    cells.append(new_code_cell(SENDS.format(msg_type="execute_input", content={"code": "", "execution_count": -1})))
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    execute = SurvivingExecute(config=OFF, timeout=120, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    for cell, (msg_type, _, reason) in zip(notebook.cells, BREAKING):
        texts = [o.get("text", "") for o in cell.outputs]
        assert len(texts) == 2 and texts[1] == "after\n", (msg_type, texts)
        assert f"a message ({msg_type}) that does not follow" in texts[0] and reason in texts[0], (msg_type, texts)
    assert [[o.get("text") for o in cell.outputs] for cell in notebook.cells[-2:]] == [["after\n"], ["after\n"]]
    assert all(cell.execution_count is None or cell.execution_count > 0 for cell in notebook.cells)
    nbformat.validate(notebook)


REPLIES = """
k = get_ipython().kernel
k.session.send(k.shell_stream, "execute_reply", {content!r}, parent=k.get_parent(), ident=k._parent_ident["shell"])
print("after")
"""


def test_is_a_cells_reply_that_breaks_the_protocol_read_as_its_error(tmp_path):
    """A cell's reply without a status, or an error reply without its name, message and traceback
    (nbclient and nbgrader failed on each): the cell's error, said so; the kernel's own reply,
    which comes after, is not read; the next cell runs."""
    cells = [new_code_cell(REPLIES.format(content=content)) for content in ({}, {"status": "error"})]
    cells.append(new_code_cell("print('next')"))
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    execute = SurvivingExecute(config=OFF, timeout=120, allow_errors=True)
    notebook, _ = execute.preprocess(nbformat.from_dict(notebook), {"metadata": {"path": str(tmp_path)}})
    shown = [[(o.output_type, o.get("text") or f"{o.get('ename')}: {o.get('evalue')}") for o in cell.outputs]
             for cell in notebook.cells]
    assert shown == [
        [("stream", "after\n"), ("error", "GradingError: the kernel's reply to this cell does not follow Jupyter's "
                                          "message protocol: it has no status")],
        [("stream", "after\n"), ("error", "Error: the kernel's reply to this cell says it failed, and not how")],
        [("stream", "next\n")]], shown
    nbformat.validate(notebook)
