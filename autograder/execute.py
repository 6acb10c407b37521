"""nbgrader's Execute preprocessor, made to survive a kernel that dies.

Stock nbgrader gives a notebook no grade at all when its kernel dies (out of memory,
``os._exit``). Here the cell that killed the kernel and every code cell after it get an error
output, so the tests that ran before keep their scores and the later ones score 0, and the
notebook is graded. ``nbgrader_config.py`` puts it in place of ``Execute`` for autograding.
"""
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

KERNEL_DIED = "KernelDied"


def _error(message):
    return new_output("error", ename=KERNEL_DIED, evalue=message,
                      traceback=[f"{KERNEL_DIED}: {message}"])


class SurvivingExecute(Execute):
    """Execute, except that a dead kernel ends the run instead of failing the notebook."""

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
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_in = index
            cell.outputs.append(_error("the kernel died while running this cell (out of memory, "
                                       "os._exit or a crash); later cells were not run"))
            return cell, resources
