"""nbgrader's Execute preprocessor, with the student's kernel sandboxed, test cells decided
outside it, and a kernel that dies costing only the tests after it.

- The kernel starts in the sandbox of ``autograder/sandbox.py`` (``COURSE_SANDBOX``: ``bwrap``
  unless set otherwise), always as the course's Python kernel, whatever kernelspec the submitted
  notebook names.
- Each test cell (an nbgrader grade cell with code) is decided by ``autograder/trusted.py`` in
  this process; the student's code only answers calls. Its outputs then say what was decided, and
  nbgrader scores them as usual. ``COURSE_TRUSTED_TESTS=0`` runs test cells in the kernel instead,
  as stock nbgrader does.
- Stock nbgrader gives a notebook no grade at all when its kernel dies (out of memory,
  ``os._exit``). Here the cell that killed the kernel and every code cell after it get an error
  output, so the tests that ran before keep their scores and the later ones score 0.

``nbgrader_config.py`` puts it in place of ``Execute`` for autograding.
"""
import os

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

from . import trusted
from .sandbox import SandboxedKernelManager, sandbox_mode

KERNEL_DIED = "KernelDied"


def _error(message, name=KERNEL_DIED):
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def trusted_tests():
    return os.environ.get("COURSE_TRUSTED_TESTS", "1") not in ("", "0")


class SurvivingExecute(Execute):
    """Execute, in the sandbox, with tests decided here and a dead kernel ending the run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if sandbox_mode() != "off":
            self.kernel_manager_class = SandboxedKernelManager
            self.kernel_name = "python3"

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._died_in is not None:
            cell.outputs = [_error(f"not run: the kernel died in cell {self._died_in}")]
            return cell, resources
        try:
            if trusted_tests() and cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs = self._decide(cell)
                return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, trusted.KernelGone) as error:
            self._died_in = index
            cell.outputs.append(_error("the kernel died while running this cell (out of memory, "
                                       "os._exit or a crash); later cells were not run"
                                       + (f" [{error}]" if isinstance(error, trusted.KernelGone) else "")))
            return cell, resources

    def _decide(self, cell):
        """The outputs of test cell ``cell``, decided by ``trusted.run_test_cell`` through a
        client of the kernel of its own (its requests and replies stay apart from nbclient's)."""
        timeout = self.timeout or 600
        if getattr(self, "_trusted_client", None) is None or self._trusted_client_of is not self.km:
            self._trusted_client = self.km.blocking_client()
            self._trusted_client.start_channels()
            self._trusted_client_of = self.km
        client = self._trusted_client
        try:
            return trusted.run_test_cell(client, cell.source, timeout)
        except trusted.AgentStopped as error:
            self._settle(client)
            return [_error("the tests could not call your functions: code in your notebook changed what "
                           f"the grader needs in the kernel ({error})", name="GradingError")]
        except trusted.TestTimeout:
            run_sync(self.km.interrupt_kernel)()
            try:
                client.get_shell_msg(timeout=10)
            except Exception:  # noqa: BLE001 - no answer after the interrupt: the kernel is stuck
                raise DeadKernelError("the kernel did not answer after the test was interrupted") from None
            return [_error(f"the tests of this cell took longer than {timeout} s and were stopped",
                           name="TimeoutError")]

    @staticmethod
    def _settle(client):
        """Read what the kernel still sends about a request that ended early."""
        from queue import Empty

        for get in (client.get_shell_msg, client.get_stdin_msg, client.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.05)
                except Empty:
                    break
