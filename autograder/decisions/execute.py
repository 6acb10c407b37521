"""nbgrader's Execute preprocessor, with the student's kernel sandboxed, test cells decided
outside it, and a kernel that dies costing only the tests after it.

- The kernel starts in the sandbox (``autograder/sandbox/``, ``Sandbox.mode``), always as the
  course's Python kernel, whatever kernelspec the submitted notebook names.
- Each test cell (an nbgrader grade cell with code) is decided in this process (``cell.py``,
  ``session.py``); the student's code only answers calls. Its outputs then say what was decided,
  and nbgrader scores them as usual.
- Stock nbgrader gives a notebook no grade at all when its kernel dies (out of memory,
  ``os._exit``). Here the cell that killed the kernel and every code cell after it get an error
  output, so the tests that ran before keep their scores and the later ones score 0.
- A cell that runs out of time is interrupted, as in nbgrader. If its kernel still has not
  finished it ``iopub_timeout`` seconds later (the student's code goes on after the interrupt),
  the kernel is stuck: the later cells are not run either, instead of each waiting out its time
  behind it.

- A cell keeps at most ``max_cell_output`` characters of output, and all the cells of a notebook
  together at most ``max_notebook_output``; the rest is dropped as it arrives, with a note (an
  error output stays, shortened: in a test cell nbgrader scores by it). nbgrader's ``LimitOutput``
  counts lines, so one line of 300 MB would otherwise pass whole into the grader's memory, the
  graded notebook and the feedback page, and so would a thousand cells of a megabyte each. The
  state of widgets (comm messages, any size) is not kept in the graded notebook at all, and no
  Output widget is mimicked (one would take the cell's output past the limits).
- An iopub message of a type nbclient does not handle is dropped, said once per cell with its
  type shortened: nbclient logs each one with its whole type, which the kernel chooses (a
  thousand messages typed with a megabyte each were a gigabyte of nbgrader's log).

``nbgrader_config.py`` puts it in place of ``Execute`` for autograding.
"""
import math
import os

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import ValidationError
from nbformat.v4 import new_output, output_from_msg
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from ..gate.files import shown
from ..profiling import stage
from ..sandbox.kernel_manager import SandboxedKernelManager
from ..settings import Sandbox
from . import cell as decided_cell
from . import kernel_memory
from . import session

KERNEL_DIED = "KernelDied"
NOTES = 100_000  # characters of notes saying output was cut, past the notebook's limit, at most
# The iopub message types nbclient handles (process_message, output); the others it only logs.
IOPUB_TYPES = frozenset({"status", "stream", "display_data", "update_display_data", "execute_input",
                         "execute_result", "error", "clear_output", "comm_open", "comm_msg", "comm_close"})


# What nbclient raises on a message of a handled type whose content is not as Jupyter's protocol and
# the notebook format say (a field missing or of another type): the message is dropped, with a note.
MALFORMED = (KeyError, TypeError, AttributeError, IndexError, ValueError, ValidationError)


def valid_count(count):
    """Whether ``count`` may be a cell's execution count in a notebook (a whole number >= 0, or None)."""
    return count is None or (isinstance(count, int) and not isinstance(count, bool) and count >= 0)


def checked_reply(reply):
    """The kernel's reply to a cell as nbclient and nbgrader can read it (they failed on a reply
    without a status, or an error reply without its name, message or traceback, and the notebook's
    grading with them): a reply without a status is the cell's error, said so; an error reply's
    missing fields are filled in (their types are made right as nbgrader adds them: ``on_cell_executed``)."""
    content = reply["content"]
    if not isinstance(content.get("status"), str):
        text = "the kernel's reply to this cell does not follow Jupyter's message protocol: it has no status"
        return {**reply, "content": {"status": "error", "ename": "GradingError", "evalue": text,
                                     "traceback": [f"GradingError: {text}"]}}
    if content["status"] == "error" and not {"ename", "evalue", "traceback"} <= content.keys():
        return {**reply, "content": {"ename": "Error", "evalue": "the kernel's reply to this cell says it failed, "
                                     "and not how", "traceback": [], **content}}
    return reply


def _error(message, name=KERNEL_DIED):
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def output_size(output):
    """Characters of one output, about as it will be stored."""
    if output.get("output_type") == "stream":
        return len(output.get("text", ""))
    if output.get("output_type") == "error":
        return len(output.get("ename", "")) + len(output.get("evalue", "")) + sum(map(len, output.get("traceback", [])))
    return data_size(output.get("data", {}), output.get("metadata"))


def shortened_error(out):
    """The error output ``out``, its name, message and traceback shortened in place."""
    out["ename"] = str(out.get("ename", ""))[:200]
    out["evalue"] = str(out.get("evalue", ""))[:2000]
    out["traceback"] = [str(line)[:2000] for line in list(out.get("traceback") or [])[-60:]]
    return out


def shown_type(msg_type, length=40):
    """A message type the kernel chose, as a log may show it: its start, shown as the gate shows
    what a student wrote (unprintable characters escaped)."""
    text = str(msg_type)
    return shown(text[:length]) + (f"... ({len(text):,} characters)" if len(text) > length else "")


def data_size(data, metadata=None):
    """Characters of a display's data (mime type -> value) and metadata."""
    return (sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values())
            + (len(str(metadata)) if metadata else 0))


def assignment_of(resources):
    """The id of the assignment nbgrader is running: nbgrader's own record of it, or the name of
    the folder the notebook is in (``autograded/<student>/<assignment>/``)."""
    resources = resources or {}
    assignment = (resources.get("nbgrader") or {}).get("assignment")
    if assignment:
        return assignment
    return os.path.basename(os.path.normpath((resources.get("metadata") or {}).get("path") or os.getcwd()))


class SurvivingExecute(Execute):
    """Execute, in the sandbox, with tests decided here and a dead kernel ending the run."""

    max_cell_output = Integer(
        1_000_000,
        help="Characters of output a cell keeps while it is graded (text, images, tracebacks); "
             "later output of that cell is dropped, with a note. 0: no limit.").tag(config=True)
    max_notebook_output = Integer(
        4_000_000,
        help="Characters of output all the cells of a notebook keep together while it is graded (the "
             "course's own notebooks keep under 1,000,000 in grading mode); later output is dropped, with a "
             "note. 0: no limit.").tag(config=True)
    store_widget_state = Bool(
        False,
        help="Keep the state of widgets the kernel opens in the graded notebook's metadata (nbclient's "
             "default). Off: the course's notebooks open none, and a kernel's comms could otherwise put any "
             "amount of data there, past every limit on output.").tag(config=True)
    decide_tests_outside = Bool(
        True,
        help="Decide test cells in the grading process, the student's code only answering calls. False "
             "runs them in the kernel, as stock nbgrader does: for debugging only (the student's code can "
             "then change what the tests see, and the hidden checks are not in the kernel).").tag(config=True)
    profile = Unicode("", help="A file to which the kernel's start and each kind of cell append their times "
                               "(set by the harness from Grading.profile; autograder/profiling.py)").tag(config=True)

    _student = ""  # the student whose notebook runs (for the profile), set by preprocess

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if Sandbox(parent=self).mode != "off":
            self.kernel_manager_class = SandboxedKernelManager
            self.kernel_name = "python3"

    async def async_start_new_kernel_client(self):
        with stage(self.profile, "kernel start", self._student):
            client = await super().async_start_new_kernel_client()
        lock = getattr(self.km, "lock_socket_folder", None)
        if lock is not None:  # the kernel is up, and no cell has run yet
            lock()
        return client

    # nbclient's synchronous start (which nbconvert's preprocess calls) wraps the base class's
    # coroutine, not this one: wrap this one.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_poll_for_reply(self, msg_id, cell, *args, **kwargs):
        """nbclient's wait for a cell's reply, the reply checked (:func:`checked_reply`)."""
        return checked_reply(await super()._async_poll_for_reply(msg_id, cell, *args, **kwargs))

    async def _async_cleanup_kernel(self):
        with stage(self.profile, "kernel stop", self._student):
            await super()._async_cleanup_kernel()

    def on_comm_open_jupyter_widget(self, msg):
        """No widget is mimicked: nbclient's Output widget takes a cell's output, at the kernel's
        say-so, past every limit (into the widget's state, or a KeyError without it)."""
        return None

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None  # (cell index, what stopped the kernel) once it has
        self._interrupted = False  # the cell being run ran out of time and was interrupted
        self._assignment = assignment_of(resources)
        self._output_kept = {}  # cell index -> characters of output kept
        self._notebook_kept = 0  # characters of output kept in all the notebook's cells
        self._noted = set()  # cells whose output got a note saying it was cut
        self._unknown_said = set()  # cells for which a message of an unknown type was logged
        self._malformed_said = set()  # cells whose dropped malformed message got a note
        self._student = ((resources or {}).get("nbgrader") or {}).get("student", "")
        # For the profile: the cells before the first answer set up and load data.
        self._first_answer = next((i for i, c in enumerate(nb.cells)
                                   if c.metadata.get("nbgrader", {}).get("solution")), len(nb.cells))
        with stage(self.profile, "notebook run in all (kernel start and stop, cells)", self._student):
            return super().preprocess(nb, resources, km)

    def process_message(self, msg, cell, cell_index):
        """nbclient's, but a message of a type it does not handle is dropped here, before nbclient
        logs it whole: its type is the kernel's to choose, of any length, as often as it likes.
        The first in each cell is logged, its type shortened. So are comm messages where no widget
        state is kept (nbclient would only log their targets, whole). A message whose content
        nbclient cannot read, or would put into the notebook against its format, is dropped with a
        note in the cell (nbclient's error failed the notebook's whole grading). An execution count
        it names that the format refuses is left out after the cell (:meth:`preprocess_cell`)."""
        msg_type = msg.get("msg_type")
        if not (isinstance(msg_type, str) and msg_type in IOPUB_TYPES):
            if cell_index not in self._unknown_said:
                self._unknown_said.add(cell_index)
                self.log.warning("cell %s: the kernel sent iopub messages of a type not handled, dropped "
                                 "(the first: %r)", cell_index, shown_type(msg_type))
            return None
        if msg_type.startswith("comm_") and not self.store_widget_state:
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except MALFORMED as error:
            problem = f"{type(error).__name__}: {shown(str(getattr(error, 'message', error))[:200])}"
        self._not_kept(cell, cell_index, msg_type, problem)
        return None

    def _not_kept(self, cell, cell_index, msg_type, problem):
        """Message ``msg_type`` was dropped for ``problem``: the cell's first such gets a note."""
        if cell_index in self._malformed_said:
            return
        self._malformed_said.add(cell_index)
        self.log.warning("cell %s: the kernel sent a %r message that does not follow Jupyter's protocol or the "
                         "notebook format, dropped with any others of the cell (the first: %s)",
                         cell_index, shown_type(msg_type), problem)
        note = new_output("stream", name="stdout", text=(
            f"\n[the kernel sent this cell a message ({shown_type(msg_type)}) that does not follow Jupyter's "
            f"message protocol or the notebook format; it was not kept: {problem}]\n"))
        cell.outputs.append(self._kept(cell_index, note))

    def _forget_output(self, cell_index):
        """The cell's output is cleared: so is its count."""
        self._notebook_kept -= self._output_kept.get(cell_index, 0)
        self._output_kept[cell_index] = 0
        self._noted.discard(cell_index)

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not self.clear_before_next_output:  # cleared at once (else at its next output, below)
            self._forget_output(cell_index)

    def output(self, outs, msg, display_id, cell_index):
        if self.clear_before_next_output:  # the cell's earlier output goes now: so does its count
            self._forget_output(cell_index)
        out = super().output(outs, msg, display_id, cell_index)
        cell_limit, notebook_limit = self.max_cell_output, self.max_notebook_output
        if out is None or not (cell_limit or notebook_limit):
            return out
        size = output_size(out)
        cell_room = cell_limit - self._output_kept.get(cell_index, 0) if cell_limit else math.inf
        notebook_room = notebook_limit - self._notebook_kept if notebook_limit else math.inf
        if size <= min(cell_room, notebook_room):
            return self._kept(cell_index, out)
        if out.get("output_type") == "error" and (self._graded(cell_index) or notebook_room > 0):
            # An error stays, shortened: in a test cell it is what nbgrader scores. Elsewhere, once
            # the notebook's limit is spent, it goes as any output does.
            return self._kept(cell_index, shortened_error(out))
        room = max(0, int(min(cell_room, notebook_room)))
        kept = out.get("text", "")[:room] if out.get("output_type") == "stream" else ""
        note = ""
        # One note per cell cut, until the notes themselves would fill the notebook (a notebook of
        # a hundred thousand cells that each print a character after the limit).
        if cell_index not in self._noted and (cell_room <= notebook_room or notebook_room > -NOTES):
            self._noted.add(cell_index)
            note = (f"\n[output cut: this cell printed more than {cell_limit:,} characters; the rest was not kept]\n"
                    if cell_room <= notebook_room else
                    f"\n[output cut: the notebook's cells printed more than {notebook_limit:,} characters in all; "
                    f"the rest of their output was not kept]\n")
        out.clear()  # in place, so that a display id still finds its output
        out.update(output_type="stream", name="stdout", text=kept + note)
        if not out["text"] and display_id is None and outs and outs[-1] is out:
            outs.pop()
            return out
        return self._kept(cell_index, out)

    def on_cell_executed(self, **kwargs):
        """nbgrader's: it adds the error of the kernel's reply to a cell that has no error output of
        that name (the kernel's own error output went missing or was cut), as the reply holds it,
        whatever its size. Here that error is shortened and counted as any output, and dropped
        outside a test cell once the notebook's limit is spent."""
        cell, cell_index = kwargs["cell"], kwargs.get("cell_index")
        before = len(cell.outputs)
        super().on_cell_executed(**kwargs)
        added = cell.outputs[before:]
        if not added or cell_index is None or not (self.max_cell_output or self.max_notebook_output):
            return
        spent = self.max_notebook_output and self._notebook_kept >= self.max_notebook_output
        if spent and not self._graded(cell_index):
            del cell.outputs[before:]
            return
        for out in added:
            self._kept(cell_index, shortened_error(out))

    def _graded(self, cell_index):
        """Whether the cell at ``cell_index`` is a test cell (nbgrader scores its errors)."""
        return bool(self.nb.cells[cell_index].metadata.get("nbgrader", {}).get("grade"))

    def _update_display_id(self, display_id, msg):
        """nbclient's update of every output shown under ``display_id`` (``update_display`` or a
        new display with the same id), each given the new data: counted against the limits as
        any output is (an update of 3 MB to ten outputs is 30 MB of notebook), replaced by a
        note where it would pass them, and never given to an output the limits turned into one."""
        targets = [(c, i) for c, indices in self._display_id_map.get(display_id, {}).items() for i in indices
                   if i < len(self.nb.cells[c].outputs)
                   and self.nb.cells[c].outputs[i].get("output_type") in ("display_data", "execute_result")]
        content = msg["content"]
        data, metadata = content.get("data") or {}, content.get("metadata") or {}
        growth = self._growth(targets, data_size(data, metadata))
        if not self._fits(growth):
            data, metadata = {"text/plain": "[output cut: an update of this display would have passed the grader's "
                                            "limit on output; it was not kept]"}, {}
            growth = self._growth(targets, data_size(data))
        header = {**msg["header"], "msg_type": "display_data"}
        try:
            out = output_from_msg({**msg, "msg_type": "display_data", "header": header,
                                   "content": {**content, "data": data, "metadata": metadata}})
        except ValueError:
            self.log.error("unhandled iopub msg: %s", msg.get("msg_type"))
            return
        for cell_index, output_index in targets:
            output = self.nb.cells[cell_index].outputs[output_index]
            output["data"], output["metadata"] = out["data"], out["metadata"]
        for cell_index, added in growth.items():
            self._output_kept[cell_index] = self._output_kept.get(cell_index, 0) + added
            self._notebook_kept += added

    def _growth(self, targets, size):
        """{cell index: characters its kept output grows by} when each output of ``targets`` holds ``size``."""
        growth = {}
        for cell_index, output_index in targets:
            before = output_size(self.nb.cells[cell_index].outputs[output_index])
            growth[cell_index] = growth.get(cell_index, 0) + size - before
        return growth

    def _fits(self, growth):
        cells = not self.max_cell_output or all(self._output_kept.get(c, 0) + added <= self.max_cell_output
                                                  for c, added in growth.items())
        notebook = not self.max_notebook_output or self._notebook_kept + sum(growth.values()) <= self.max_notebook_output
        return cells and notebook

    def _kept(self, cell_index, out):
        """``out``, counted as kept in its cell and in the notebook."""
        size = output_size(out)
        self._output_kept[cell_index] = self._output_kept.get(cell_index, 0) + size
        self._notebook_kept += size
        return out

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not self.profile:
            cell, resources = self._run_cell(cell, resources, index)
        else:
            kind = ("test cells" if cell.metadata.get("nbgrader", {}).get("grade") else
                    "setup and data cells" if index < self._first_answer else "student's cells")
            with stage(self.profile, kind, self._student):
                cell, resources = self._run_cell(cell, resources, index)
        # nbclient stores the count any message or reply of the kernel's names, unchecked
        if not valid_count(cell.get("execution_count")):
            cell.execution_count = None
        return cell, resources

    def _run_cell(self, cell, resources, index):
        if self._died_in is not None:
            index_died, how = self._died_in
            cell.outputs = [_error(f"not run: the kernel {how} in cell {index_died}")]
            return cell, resources
        self._interrupted = False
        try:
            if self.decide_tests_outside and cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs = self._decide(cell)
                return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            if self._interrupted:  # out of time, interrupted, and still not finished: the kernel is stuck
                self._died_in = (index, "did not stop when interrupted")
                cell.outputs.append(_error(f"this cell ran out of time ({self.timeout} s) and did not stop "
                                           f"when it was interrupted; later cells were not run",
                                           name="TimeoutError"))
                return cell, resources
            # its output did not all arrive in time: this cell only, not the notebook
            cell.outputs.append(_error(f"the output of this cell did not arrive within {self.iopub_timeout} s "
                                       "and was not kept", name="TimeoutError"))
            return cell, resources
        except (DeadKernelError, session.KernelGone) as error:
            self._died_in = (index, "died")
            stopped = getattr(self.km, "stopped_for_memory", lambda: False)()
            why = (f"out of memory: it and the processes it started, with its files in /tmp and the working "
                   f"folder, held more than the memory limit of {self.km.limits['memory_mb']} MiB"
                   if stopped else "out of memory, os._exit or a crash")
            cell.outputs.append(_error(f"the kernel died while running this cell ({why}); later cells were not run"
                                       + (f" [{error}]" if isinstance(error, session.KernelGone) else "")))
            return cell, resources

    async def _async_handle_timeout(self, timeout, cell=None):
        self._interrupted = bool(self.interrupt_on_timeout)
        return await super()._async_handle_timeout(timeout, cell)

    def _decide(self, cell):
        """The outputs of test cell ``cell``, decided by ``cell.run_test_cell`` through a
        client of the kernel of its own (its requests and replies stay apart from nbclient's)."""
        timeout = self.timeout or 600
        if getattr(self, "_trusted_client", None) is None or self._trusted_client_of is not self.km:
            self._trusted_client = self.km.blocking_client()
            self._trusted_client.start_channels()
            self._trusted_client_of = self.km
        client = self._trusted_client
        try:
            return decided_cell.run_test_cell(client, cell.source, timeout, self._assignment,
                                              folder=getattr(self.km, "_ipc_folder", None),
                                              memory=kernel_memory.of_kernel_manager(self.km),
                                              preinstalled=getattr(self.km, "agent_preinstalled", False))
        except session.AgentStopped as error:
            self._settle(client)
            return [_error("the tests could not call your functions: code in your notebook changed what "
                           f"the grader needs in the kernel ({error})", name="GradingError")]
        except session.TestTimeout as error:
            try:
                decided_cell.stop_test_cell(client, error.msg_id)
            except session.KernelGone as gone:
                raise DeadKernelError(str(gone)) from None
            return [_error(f"the tests of this cell took longer than {timeout} s and were stopped",
                           name="TimeoutError")]

    @staticmethod
    def _settle(client):
        """Read what the kernel still sends about a request that ended early."""
        from queue import Empty

        for get in (client.get_shell_msg, client.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.05)
                except Empty:
                    break
